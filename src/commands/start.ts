import {Args} from '@oclif/core'
import {callSupervisor, openProject} from '../supervisor/client.js'
import {ContainCommand} from './base.js'
import {projectFlags} from './project-flags.js'

export default class Start extends ContainCommand {
  static override summary = 'Start stopped apps again'
  static override examples = ['<%= config.bin %> start web']
  static override strict = false
  static override args = {apps: Args.string({description: 'Apps (default: all)'})}
  static override flags = projectFlags

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Start)
    await callSupervisor(await openProject(process.cwd(), flags.file), 'start', {apps: argv})
  }
}
