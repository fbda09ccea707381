import {formatStats, sampleStats} from '../supervisor/stats.js'
import {openProject, projectStatus} from '../supervisor/client.js'
import {booleanFlag, textFlag, type Handler} from './spec.js'

const stats: Handler = async (input, io) => {
  const project = await openProject(process.cwd(), textFlag(input, 'file'))
  const apps = input.rest.length > 0 ? [...input.rest] : undefined
  const read = () => projectStatus(project, apps)
  let previous = await read()
  do {
    await new Promise(resolve => setTimeout(resolve, 1000))
    const current = await read()
    const rows = sampleStats(previous, current)
    io.stdout(booleanFlag(input, 'json') ? JSON.stringify(rows) : formatStats(rows))
    previous = current
  } while (!booleanFlag(input, 'no-stream'))
  return undefined
}
export default stats
