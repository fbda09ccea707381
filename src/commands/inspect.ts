import type {AppStatus} from '../supervisor/app.js'
import {callSupervisor, formatInspect, openProject} from '../supervisor/client.js'
import type {LaunchPlan} from '../launch/plan.js'
import {booleanFlag, requiredArg, textFlag, type Handler} from './spec.js'

const inspect: Handler = async (input, io) => {
  const result = await callSupervisor<{status: AppStatus; plan: Pick<LaunchPlan, 'argv' | 'cgroup' | 'namespaces'>}>(
    await openProject(process.cwd(), textFlag(input, 'file')),
    'inspect',
    {app: requiredArg(input, 'app')},
  )
  io.stdout(booleanFlag(input, 'json') ? JSON.stringify(result, null, 2) : formatInspect(result.status, result.plan))
  return undefined
}
export default inspect
