import {Args, Flags} from '@oclif/core'
import {systemdUnit} from '../systemd/generate.js'
import {ContainCommand} from './base.js'
import {projectFlags} from './project-flags.js'

export default class Systemd extends ContainCommand {
  static override summary = 'Write a systemd unit that runs apps of contain.yml under contain up (Type=notify, Delegate=yes)'
  static override description = 'contain up runs in the foreground as the unit\'s main process: it reports READY=1 once the apps\' health checks pass, restarts them by their restart: policy (systemd restarts only contain itself) and stops them gracefully. One unit per project: give it every app it should run.'
  static override examples = [
    '<%= config.bin %> systemd web',
    '<%= config.bin %> systemd web worker --output /etc/systemd/system/contain-shop.service',
    '<%= config.bin %> systemd web --user --output ~/.config/systemd/user/contain-shop-web.service',
  ]
  static override strict = false
  static override args = {apps: Args.string({required: true, description: 'The app(s) the unit runs'})}
  static override flags = {
    ...projectFlags,
    user: Flags.boolean({description: 'A user unit (systemctl --user) instead of a system one'}),
    output: Flags.string({char: 'o', description: 'Write the unit to FILE instead of printing it', helpValue: 'FILE'}),
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Systemd)
    const unit = await systemdUnit({cwd: process.cwd(), file: flags.file, apps: argv as string[], user: flags.user, output: flags.output})
    if (unit.file === undefined) this.log(unit.text.trimEnd())
    else this.log(`contain: wrote ${unit.file}; start it with: systemctl${flags.user ? ' --user' : ''} daemon-reload && systemctl${flags.user ? ' --user' : ''} enable --now ${unit.name}`)
  }
}
