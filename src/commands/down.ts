import {callSupervisor, openProject} from '../supervisor/client.js'
import {waitForSupervisorExit} from '../supervisor/state.js'
import {textFlag, type Handler} from './spec.js'

const down: Handler = async (input, io) => {
  // A `contain up` still starting is waited for, so that down stops it instead of missing it.
  const project = await openProject(process.cwd(), textFlag(input, 'file'), {waitForStart: true})
  if (!project.state) {
    io.stdout(`${project.name} is not running`)
    return undefined
  }
  await callSupervisor(project, 'down')
  await waitForSupervisorExit(project.state)
  return undefined
}
export default down
