import {Flags} from '@oclif/core'
import {formatStatusTable, openProject, projectStatus} from '../supervisor/client.js'
import {ContainCommand} from './base.js'
import {projectFlags} from './project-flags.js'

export default class Ps extends ContainCommand {
  static override summary = 'List the apps of this project: state, pid, uptime, restarts, CPU, memory, health'
  static override examples = ['<%= config.bin %> ps', '<%= config.bin %> ps --json']
  static override flags = {...projectFlags, json: Flags.boolean({description: 'An array of objects with name, state, pid, restarts, ...'})}

  async run(): Promise<void> {
    const {flags} = await this.parse(Ps)
    const project = await openProject(process.cwd(), flags.file)
    const statuses = await projectStatus(project)
    if (flags.json) return this.log(JSON.stringify(statuses, null, 2))
    if (project.staleSupervisor !== undefined) this.logToStderr(`contain: the supervisor of ${project.name} (pid ${project.staleSupervisor}) was killed; its apps died with it`)
    this.log(statuses.length === 0 ? `${project.name} is not running` : formatStatusTable(statuses))
  }
}
