/**
 * Where a supervised app's output goes: its log files always; in the foreground also the terminal,
 * each line prefixed `app |` as compose does; under systemd the journal instead; and each app's
 * last lines, which ps shows.
 */
import {join} from 'node:path'
import type {Readable} from 'node:stream'
import type {Project} from '../config/project.js'
import {LAST_LINES, type OutputSink} from './app.js'
import {AppLog, DEFAULT_MAX_FILES, LastLines, type LogStream} from './logs.js'
import type {AppLogLocation} from './state.js'

/** Receives each app's lines as they come; `alive` false once it can take no more (the caller prints them itself). */
export interface AppLineWriter {
  readonly alive: boolean
  write(app: string, stream: LogStream, lines: Buffer): void
  close(): Promise<void>
}

const COLORS = [36, 33, 32, 35, 34, 91, 92, 93, 94, 95, 96]

/**
 * Log files always; in the foreground also the terminal, each line prefixed `app |` as compose
 * does, or, when stdout is the journal (a systemd unit), one journal record per line instead.
 */
export function outputSink(
  current: {project: Project},
  logsDir: string,
  print: ((text: string) => void) | undefined,
  color: boolean,
  onLogError: (message: string) => void,
  journal?: AppLineWriter,
  onLogOpened?: (app: string, location: AppLogLocation) => void,
): {sink: OutputSink; closeLogs: () => Promise<void>; releaseLog: (app: string) => Promise<void>} {
  // The project as last read: a changed contain.yml brings new names, and logging settings.
  const project = () => current.project
  const logs = new Map<string, AppLog>()
  const logFor = (name: string) => {
    let log = logs.get(name)
    if (!log) {
      const logging = project().apps.find(app => app.name === name)?.supervision.logging
      const location = {file: join(logging?.dir ?? logsDir, `${name}.log`), maxFiles: logging?.maxFiles ?? DEFAULT_MAX_FILES}
      onLogOpened?.(name, location)
      log = new AppLog({
        file: location.file,
        maxSizeBytes: logging?.maxSizeBytes,
        maxFiles: location.maxFiles,
        onError: error => onLogError(`contain: ${name}: cannot write its log: ${error.message}; the app keeps running, lines are dropped until it can`),
        onRecovered: dropped => onLogError(`contain: ${name}: writing its log again (${dropped} lines were dropped)`),
      })
      logs.set(name, log)
    }
    return log
  }
  // Without a terminal, output only feeds each app's last lines (for ps): one keeper per app, so
  // its stdout and stderr lines keep their order.
  const lastLines = new Map<string, LastLines>()
  const sink: OutputSink = {
    attach(app: string, stream: Readable, name: 'out' | 'err', onLine: (line: string) => void) {
      const index = Math.max(
        0,
        project().apps.findIndex(candidate => candidate.name === app),
      )
      const width = Math.max(...project().apps.map(candidate => candidate.name.length))
      const prefix = `${app.padEnd(width)} | `
      const colored = color ? `\u001b[${COLORS[index % COLORS.length]}m${prefix}\u001b[0m` : prefix
      const printLines =
        print &&
        ((lines: Buffer) => {
          for (const line of lines.toString('utf8', 0, lines.length - 1).split('\n')) print(`${colored}${line}`)
        })
      if (!print || journal) {
        const keeper = lastLines.get(app) ?? new LastLines(LAST_LINES, onLine)
        lastLines.set(app, keeper)
        keeper.onLine = onLine // each run of the app brings its own
        logFor(app).attach(stream, name, lines => {
          keeper.add(lines)
          // A forwarder that is gone leaves stdout, the journal too, in the old form.
          if (journal?.alive) journal.write(app, name, lines)
          else printLines?.(lines)
        })
        // After AppLog's own end handler, which hands over a last partial line.
        stream.once('close', () => keeper.flush())
        return
      }
      logFor(app).attach(stream, name, lines => {
        for (const line of lines.toString('utf8', 0, lines.length - 1).split('\n')) {
          onLine(line)
          print(`${colored}${line}`)
        }
      })
    },
  }
  // Closing writes what is still queued and every last partial line.
  const releaseLog = async (app: string) => {
    const log = logs.get(app)
    logs.delete(app)
    lastLines.delete(app)
    await log?.close()
  }
  return {
    sink,
    releaseLog,
    closeLogs: async () => {
      await Promise.all([...logs.values()].map(log => log.close()))
      await journal?.close()
    },
  }
}
