import {Args} from '@oclif/core'
import {callSupervisor, openProject} from '../supervisor/client.js'
import {ContainCommand} from './base.js'
import {projectFlags} from './project-flags.js'

export default class Restart extends ContainCommand {
  static override summary = 'Stop and start apps'
  static override examples = ['<%= config.bin %> restart web']
  static override strict = false
  static override args = {apps: Args.string({description: 'Apps (default: all)'})}
  static override flags = projectFlags

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Restart)
    await callSupervisor(await openProject(process.cwd(), flags.file), 'restart', {apps: argv})
  }
}
