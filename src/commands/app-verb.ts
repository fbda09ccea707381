import {Args} from '@oclif/core'
import {callSupervisor, openProject} from '../supervisor/client.js'
import {ContainCommand} from './base.js'
import {projectFlags} from './project-flags.js'

/** stop, start and restart: one verb sent to the project's supervisor for the named apps (default all). */
export abstract class AppVerbCommand extends ContainCommand {
  static override strict = false
  static override args = {apps: Args.string({description: 'Apps (default: all)'})}
  static override flags = projectFlags
  protected abstract readonly verb: 'stop' | 'start' | 'restart'

  async run(): Promise<void> {
    // oclif reads only a command class's own statics, so the shared ones are passed explicitly.
    const {flags, argv} = await this.parse({args: AppVerbCommand.args, flags: AppVerbCommand.flags, strict: false})
    await callSupervisor(await openProject(process.cwd(), flags.file), this.verb, {apps: argv})
  }
}
