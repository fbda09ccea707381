import {ContainError} from '../errors.js'
import {execInApp} from '../launch/exec.js'
import {initPath} from '../paths.js'
import {callSupervisor, openProject, requireRunning, runningProject} from '../supervisor/client.js'
import {planExecIn} from '../supervisor/exec-target.js'
import {requiredArg, textFlag, type Handler} from './spec.js'

const exec: Handler = async input => {
  const app = requiredArg(input, 'app')
  const command = [...input.rest]
  if (command.length === 0) throw new ContainError('no command given', {fix: 'contain exec APP -- COMMAND'})
  const handle = await openProject(process.cwd(), textFlag(input, 'file'))
  // Only the pid comes from the supervisor; what runs, and how, is planned here (see planExecIn)
  // from the project as the supervisor resolved it, in its state directory: not from contain.yml.
  const {pid1} = await callSupervisor<{pid1: number}>(handle, 'exec', {app})
  const plan = await planExecIn(runningProject(handle), requireRunning(handle), app, Number(pid1))
  const result = await execInApp(plan, Number(pid1), command, {init: initPath()})
  return result.exitCode
}
export default exec
