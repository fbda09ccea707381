import {checkProfile, formatSummary} from '../seccomp/summary.js'
import {booleanFlag, listFlag, requiredArg, type Handler} from './spec.js'

const seccompCheck: Handler = async (input, io) => {
  const summary = await checkProfile({
    profile: requiredArg(input, 'profile'),
    strict: booleanFlag(input, 'strict'),
    capAdd: listFlag(input, 'cap-add'),
    capDrop: listFlag(input, 'cap-drop'),
    privileged: booleanFlag(input, 'privileged'),
  })
  io.stdout(booleanFlag(input, 'json') ? JSON.stringify(summary, null, 2) : formatSummary(summary))
  return undefined
}
export default seccompCheck
