import {Args, Flags} from '@oclif/core'
import {systemdUnit} from '../systemd/generate.js'
import {ContainCommand} from './base.js'
import {projectFlags} from './project-flags.js'

export default class Systemd extends ContainCommand {
  static override summary = 'Write a systemd unit that runs apps of contain.yml under contain up (Type=notify, Delegate=yes)'
  static override description =
    "contain up runs in the foreground as the unit's main process: it reports READY=1 once the apps' health checks pass, restarts them by their restart: policy (systemd restarts only contain itself) and stops them gracefully. One unit per project: give it every app it should run."
  static override examples = [
    '<%= config.bin %> systemd web',
    '<%= config.bin %> systemd web worker --output /etc/systemd/system/contain-shop.service',
    '<%= config.bin %> systemd web --user --output ~/.config/systemd/user/contain-shop-web.service',
    '<%= config.bin %> systemd web --socket-units --output /etc/systemd/system/contain-shop-web.service',
  ]
  static override strict = false
  static override args = {apps: Args.string({required: true, description: 'The app(s) the unit runs'})}
  static override flags = {
    ...projectFlags,
    user: Flags.boolean({description: 'A user unit (systemctl --user) instead of a system one'}),
    output: Flags.string({char: 'o', description: 'Write the unit to FILE instead of printing it', helpValue: 'FILE'}),
    'socket-units': Flags.boolean({
      description:
        "Also a .socket unit (beside --output FILE) in which systemd holds the apps' listen: sockets; contain takes them from it, so ports stay open across a restart of contain or a reload",
    }),
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Systemd)
    const unit = await systemdUnit({
      cwd: process.cwd(),
      file: flags.file,
      apps: argv as string[],
      user: flags.user,
      output: flags.output,
      socketUnits: flags['socket-units'],
    })
    const systemctl = `systemctl${flags.user ? ' --user' : ''}`
    const units = [unit.socket?.name, unit.name].filter(Boolean).join(' ')
    if (unit.file === undefined) {
      this.log(unit.text.trimEnd())
      if (unit.socket) this.log(`\n# ---- ${unit.socket.name} ----\n${unit.socket.text.trimEnd()}`)
    } else
      this.log(
        `contain: wrote ${[unit.socketFile, unit.file].filter(Boolean).join(' and ')}; start it with: ${systemctl} daemon-reload && ${systemctl} enable --now ${units}`,
      )
  }
}
