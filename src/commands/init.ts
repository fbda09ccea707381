import {initProject} from '../init/init.js'
import {booleanFlag, type Handler} from './spec.js'

const init: Handler = async (input, io) => {
  const result = await initProject({dir: process.cwd(), force: booleanFlag(input, 'force')})
  if (booleanFlag(input, 'json')) io.stdout(JSON.stringify(result, null, 2))
  else
    io.stdout(
      `contain: ${result.replaced ? 'replaced' : 'wrote'} ${result.file} (${result.apps.map(app => `${app.name}: ${app.from}`).join(', ')}); review the limits, then run contain up`,
    )
  return undefined
}
export default init
