import {parseDuration} from '../config/supervision.js'
import {InvalidValueError} from '../errors.js'
import {followLog, readLog} from '../supervisor/log-follow.js'
import {printLogRecords} from '../supervisor/logs.js'
import {appLogFile, loggedFile, openProject} from '../supervisor/client.js'
import {booleanFlag, integerFlag, requiredArg, textFlag, type Handler} from './spec.js'

/** --since: a duration back from now (10m, 1h30m) or an ISO-8601 time. */
function parseSince(text: string): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const time = new Date(text)
    if (Number.isFinite(time.getTime())) return time
    throw new InvalidValueError('--since', text, 'not a time', 'use a duration such as 10m, or an ISO time such as 2026-11-29T05:00:00Z')
  }
  return new Date(Date.now() - parseDuration('--since', text))
}

const logs: Handler = async input => {
  const app = requiredArg(input, 'app')
  const since = textFlag(input, 'since')
  const handle = await openProject(process.cwd(), textFlag(input, 'file'))
  // The running supervisor's word on where it writes; contain.yml only for a project that does not run.
  const {file, maxFiles} = loggedFile(handle, app) ?? appLogFile(await (await import('../config/project.js')).loadProject(handle.file), handle.stateDir, app)
  const options = {lines: integerFlag(input, 'tail'), since: since === undefined ? undefined : parseSince(since), maxFiles}
  const abort = new AbortController()
  // The app's stderr lines go to stderr, as docker logs does; a slow terminal slows the reader,
  // never the app; a reader that went away (| head) ends it.
  const print = async (records: Buffer) => {
    if (!(await printLogRecords(records, booleanFlag(input, 'timestamps')))) abort.abort()
  }
  if (!booleanFlag(input, 'follow')) {
    await readLog(file, {...options, signal: abort.signal, onRecords: print})
    return undefined
  }
  process.once('SIGINT', () => abort.abort())
  process.once('SIGTERM', () => abort.abort())
  await followLog(file, {...options, signal: abort.signal, onRecords: print})
  return undefined
}
export default logs
