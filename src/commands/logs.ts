import {Args, Flags} from '@oclif/core'
import {parseDuration} from '../config/supervision.js'
import {InvalidValueError} from '../errors.js'
import {followLog, readLog} from '../supervisor/log-follow.js'
import {printLogRecords} from '../supervisor/logs.js'
import {appLogFile, loggedFile, openProject} from '../supervisor/client.js'
import {ContainCommand} from './base.js'
import {projectFlagsWithoutShort} from './project-flags.js'

/** --since: a duration back from now (10m, 1h30m) or an ISO-8601 time. */
function parseSince(text: string): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const time = new Date(text)
    if (Number.isFinite(time.getTime())) return time
    throw new InvalidValueError('--since', text, 'not a time', 'use a duration such as 10m, or an ISO time such as 2026-11-29T05:00:00Z')
  }
  return new Date(Date.now() - parseDuration('--since', text))
}

export default class Logs extends ContainCommand {
  static override summary = "Show an app's output, from its log file"
  static override examples = ['<%= config.bin %> logs web', '<%= config.bin %> logs web -f -n 100', '<%= config.bin %> logs web --since 10m -t']
  static override args = {app: Args.string({required: true, description: 'The app'})}
  static override flags = {
    ...projectFlagsWithoutShort,
    follow: Flags.boolean({char: 'f', description: 'Keep printing new lines, across rotations, until Ctrl-C'}),
    tail: Flags.integer({char: 'n', description: 'Only the last N lines', min: 0, helpValue: 'N'}),
    since: Flags.string({description: 'Only lines since a time or a duration ago (10m, 1h)', helpValue: 'TIME'}),
    timestamps: Flags.boolean({char: 't', description: "Show each line's time"}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Logs)
    const handle = await openProject(process.cwd(), flags.file)
    // The running supervisor's word on where it writes; contain.yml only for a project that does not run.
    const {file, maxFiles} =
      loggedFile(handle, args.app) ?? appLogFile(await (await import('../config/project.js')).loadProject(handle.file), handle.stateDir, args.app)
    const options = {lines: flags.tail, since: flags.since === undefined ? undefined : parseSince(flags.since), maxFiles}
    const abort = new AbortController()
    // The app's stderr lines go to stderr, as docker logs does; a slow terminal slows the reader,
    // never the app; a reader that went away (| head) ends it.
    const print = async (records: Buffer) => {
      if (!(await printLogRecords(records, flags.timestamps))) abort.abort()
    }
    if (!flags.follow) return readLog(file, {...options, signal: abort.signal, onRecords: print})
    process.once('SIGINT', () => abort.abort())
    process.once('SIGTERM', () => abort.abort())
    await followLog(file, {...options, signal: abort.signal, onRecords: print})
  }
}
