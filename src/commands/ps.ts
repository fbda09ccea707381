import {formatHostProjects, formatStatusTable, openProject, projectStatus} from '../supervisor/client.js'
import {listProjects} from '../supervisor/projects.js'
import {booleanFlag, textFlag, type Handler} from './spec.js'

const ps: Handler = async (input, io) => {
  const json = booleanFlag(input, 'json')
  if (booleanFlag(input, 'all')) {
    const {projects, warnings} = await listProjects()
    for (const warning of warnings) io.stderr(`contain: warning: ${warning}`)
    if (json) io.stdout(JSON.stringify(projects, null, 2))
    else io.stdout(projects.length === 0 ? 'no project is running' : formatHostProjects(projects))
    return undefined
  }
  const project = await openProject(process.cwd(), textFlag(input, 'file'))
  const statuses = await projectStatus(project)
  if (json) {
    io.stdout(JSON.stringify(statuses, null, 2))
    return undefined
  }
  if (project.staleSupervisor !== undefined)
    io.stderr(`contain: the supervisor of ${project.name} (pid ${project.staleSupervisor}) was killed; its apps died with it`)
  io.stdout(statuses.length === 0 ? `${project.name} is not running` : formatStatusTable(statuses))
  return undefined
}
export default ps
