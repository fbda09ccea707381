import {callSupervisor, openProject} from '../supervisor/client.js'
import {waitForSupervisorExit} from '../supervisor/state.js'
import {ContainCommand} from './base.js'
import {projectFlags} from './project-flags.js'

export default class Down extends ContainCommand {
  static override summary = "Stop every app of the project, remove their cgroups and the supervisor's state"
  static override examples = ['<%= config.bin %> down']
  static override flags = projectFlags

  async run(): Promise<void> {
    const {flags} = await this.parse(Down)
    // A `contain up` still starting is waited for, so that down stops it instead of missing it.
    const project = await openProject(process.cwd(), flags.file, {waitForStart: true})
    if (!project.state) return this.log(`${project.name} is not running`)
    await callSupervisor(project, 'down')
    await waitForSupervisorExit(project.state)
  }
}
