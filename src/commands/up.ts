import {Args, Flags} from '@oclif/core'
import {up} from '../supervisor/up.js'
import {ContainCommand} from './base.js'
import {projectFlags} from './project-flags.js'

export default class Up extends ContainCommand {
  static override summary = 'Start the apps of contain.yml and supervise them'
  static override description = 'Runs in the foreground with every app\'s output prefixed by its name, until every app has ended or you press Ctrl-C (a second Ctrl-C kills). With -d the supervisor keeps running in the background.'
  static override examples = ['<%= config.bin %> up', '<%= config.bin %> up web', '<%= config.bin %> up -d', '<%= config.bin %> up -f deploy/contain.yml']
  static override strict = false
  static override args = {apps: Args.string({description: 'Apps to start (default: all)'})}
  static override flags = {
    ...projectFlags,
    detach: Flags.boolean({char: 'd', description: 'Run the supervisor in the background'}),
    supervise: Flags.boolean({hidden: true}),
    'no-color': Flags.boolean({description: 'Do not color the app prefixes'}),
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Up)
    process.exitCode = await up({
      cwd: process.cwd(),
      file: flags.file,
      apps: argv as string[],
      detach: flags.detach,
      supervise: flags.supervise,
      print: flags.supervise ? undefined : text => this.log(text),
      color: !flags['no-color'] && process.stdout.isTTY === true,
      progress: !flags.supervise && process.stdout.isTTY === true,
    })
  }
}
