import {Flags} from '@oclif/core'
import {formatHostProjects, formatStatusTable, openProject, projectStatus} from '../supervisor/client.js'
import {listProjects} from '../supervisor/projects.js'
import {ContainCommand} from './base.js'
import {projectFlags} from './project-flags.js'

export default class Ps extends ContainCommand {
  static override summary = 'List the apps of this project (or of every project on the host): state, pid, uptime, restarts, CPU, memory, health'
  static override examples = ['<%= config.bin %> ps', '<%= config.bin %> ps --json', '<%= config.bin %> ps --all']
  static override flags = {
    ...projectFlags,
    all: Flags.boolean({
      char: 'a',
      description: 'Every project on the host (its directory, supervisor pid and state directory) with its apps',
      exclusive: ['file'],
    }),
    json: Flags.boolean({description: 'An array of objects with name, state, pid, restarts, ...; with --all, one object per project with its apps'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Ps)
    if (flags.all) {
      const {projects, warnings} = await listProjects()
      for (const warning of warnings) this.logToStderr(`contain: warning: ${warning}`)
      if (flags.json) return this.log(JSON.stringify(projects, null, 2))
      return this.log(projects.length === 0 ? 'no project is running' : formatHostProjects(projects))
    }
    const project = await openProject(process.cwd(), flags.file)
    const statuses = await projectStatus(project)
    if (flags.json) return this.log(JSON.stringify(statuses, null, 2))
    if (project.staleSupervisor !== undefined)
      this.logToStderr(`contain: the supervisor of ${project.name} (pid ${project.staleSupervisor}) was killed; its apps died with it`)
    this.log(statuses.length === 0 ? `${project.name} is not running` : formatStatusTable(statuses))
  }
}
