import {Args} from '@oclif/core'
import {callSupervisor, openProject} from '../supervisor/client.js'
import {ContainCommand} from './base.js'
import {projectFlags} from './project-flags.js'

export default class Stop extends ContainCommand {
  static override summary = 'Stop apps gracefully (stop_signal, then SIGKILL after stop_grace_period); they stay stopped'
  static override examples = ['<%= config.bin %> stop web']
  static override strict = false
  static override args = {apps: Args.string({description: 'Apps (default: all)'})}
  static override flags = projectFlags

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Stop)
    await callSupervisor(await openProject(process.cwd(), flags.file), 'stop', {apps: argv})
  }
}
