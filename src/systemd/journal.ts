/**
 * The apps' lines as real journal records, when contain's output goes to the journal (contain up
 * as a systemd unit's main process): one record per line through journald's native protocol
 * (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/), with SYSLOG_IDENTIFIER=<app>, PRIORITY=6 for
 * stdout and 3 for stderr, and CONTAIN_PROJECT / CONTAIN_APP, so that `journalctl -u UNIT -t web`
 * shows web alone. Without it every line reaches the journal as `node[PID]: web | ...`.
 *
 * Node has no unix datagram sockets, so the records, encoded here, go through one long-lived
 * `contain-init datagrams` per supervisor (native/contain-init.c), over a pipe: contain writes
 * without ever blocking its event loop, and when the journal is slow and the pipe is full, lines
 * are dropped and counted instead of held without bound (the app's own log file keeps them all).
 */
import {spawn, type ChildProcessByStdio} from 'node:child_process'
import {fstatSync} from 'node:fs'
import {createInterface} from 'node:readline'
import type {Readable, Writable} from 'node:stream'
import {initPath} from '../paths.js'
import type {LogStream} from '../supervisor/logs.js'

/** Where journald reads native records (sd_journal_send's socket). */
export const JOURNAL_SOCKET = '/run/systemd/journal/socket'
/** journald's LineMax= default: a longer line is split into records of this size, as journald splits the lines of a unit's stdout. */
export const JOURNAL_LINE_MAX = 48 * 1024
/** Records waiting in the pipe to the forwarder before lines are dropped: a few seconds of a busy app. */
export const MAX_QUEUED_BYTES = 4 * 2 ** 20
/** syslog priorities: info for stdout, err for stderr, as systemd gives a unit's two streams. */
export const PRIORITY: Record<LogStream, number> = {out: 6, err: 3}

const NEWLINE = 0x0a
/** contain says how many lines it dropped at most this often, so a slow journal is not also flooded with that. */
const REPORT_INTERVAL_MS = 10_000

/**
 * Whether stdout is the journal: systemd sets JOURNAL_STREAM=<dev>:<ino> of the stream it
 * connected to the unit's stdout and stderr, and a process whose stdout is still that stream
 * (not redirected by the caller, not a file of `contain up -d`) may log natively instead.
 */
export function stdoutIsJournal(env: NodeJS.ProcessEnv = process.env, stdout: () => {dev: bigint; ino: bigint} = () => fstatSync(1, {bigint: true})): boolean {
  const match = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '')
  if (!match) return false
  try {
    const stat = stdout()
    return stat.dev === BigInt(match[1]) && stat.ino === BigInt(match[2])
  } catch {
    return false
  }
}

/**
 * One field of a native record. A value with a newline takes the binary-safe form (the name, a
 * newline, its length as 64-bit little-endian, the bytes, a newline); any other `NAME=value\n`.
 */
export function encodeField(name: string, value: Buffer | string): Buffer {
  if (!/^[A-Z0-9][A-Z0-9_]*$/.test(name) || name.length > 64)
    throw new Error(`${JSON.stringify(name)} is not a journal field name (A-Z, 0-9 and _, not starting with _, at most 64)`)
  const bytes = typeof value === 'string' ? Buffer.from(value) : value
  if (!bytes.includes(NEWLINE)) return Buffer.concat([Buffer.from(`${name}=`), bytes, Buffer.from('\n')])
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(bytes.length))
  return Buffer.concat([Buffer.from(`${name}\n`), length, bytes, Buffer.from('\n')])
}

/** A record: its fields in order. */
export function encodeRecord(fields: ReadonlyArray<readonly [string, Buffer | string]>): Buffer {
  return Buffer.concat(fields.map(([name, value]) => encodeField(name, value)))
}

/** The fields every line of one app's stream carries after its MESSAGE. */
export function lineFields(project: string, app: string, stream: LogStream): Buffer {
  return encodeRecord([
    ['PRIORITY', String(PRIORITY[stream])],
    ['SYSLOG_IDENTIFIER', app],
    ['CONTAIN_PROJECT', project],
    ['CONTAIN_APP', app],
  ])
}

/**
 * The frames for `contain-init datagrams` (4-byte little-endian length, then one record) of
 * complete lines (the last ends with a newline): one record per line, a line longer than
 * JOURNAL_LINE_MAX as several. One buffer, so the pipe gets one write per batch of lines.
 */
export function encodeLines(lines: Buffer, fields: Buffer): {frames: Buffer; records: number} {
  const pieces: Array<[number, number]> = []
  for (let start = 0; start < lines.length;) {
    let end = lines.indexOf(NEWLINE, start)
    if (end === -1) end = lines.length
    for (let piece = start; ; piece += JOURNAL_LINE_MAX) {
      pieces.push([piece, Math.min(end, piece + JOURNAL_LINE_MAX)])
      if (piece + JOURNAL_LINE_MAX >= end) break
    }
    start = end + 1
  }
  const message = Buffer.from('MESSAGE=')
  const frames = Buffer.allocUnsafe(pieces.reduce((sum, [start, end]) => sum + 4 + message.length + (end - start) + 1 + fields.length, 0))
  let at = 0
  for (const [start, end] of pieces) {
    // A line never holds a newline (it ends at one), so MESSAGE= always takes the short form.
    at = frames.writeUInt32LE(message.length + (end - start) + 1 + fields.length, at)
    at += message.copy(frames, at)
    at += lines.copy(frames, at, start, end)
    frames[at++] = NEWLINE
    at += fields.copy(frames, at)
  }
  return {frames, records: pieces.length}
}

export interface JournalOptions {
  /** Default: journald's native socket. */
  socket?: string
  /** contain-init (default: this contain's). */
  init?: string
  /** contain's own messages: the forwarder failed, lines were dropped. */
  warn?: (message: string) => void
  maxQueuedBytes?: number
}

/**
 * Sends one project's app lines to the journal through one `contain-init datagrams`. When the
 * forwarder is gone (it failed, or was killed), `alive` turns false and the caller prints the
 * lines to stdout instead, which is the journal too, in the old form.
 */
export class JournalWriter {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>
  private readonly fields = new Map<string, Buffer>()
  private readonly maxQueuedBytes: number
  private readonly warn: (message: string) => void
  private exited: Promise<void>
  alive = true
  /** Lines not sent because the pipe to the forwarder was full. */
  dropped = 0
  /** Records journald's socket refused (journald not running, or restarting). */
  refused = 0
  private dropping = false
  private reported = {dropped: 0, at: 0}

  constructor(
    private readonly project: string,
    options: JournalOptions = {},
  ) {
    this.maxQueuedBytes = options.maxQueuedBytes ?? MAX_QUEUED_BYTES
    this.warn = options.warn ?? (message => process.stderr.write(`${message}\n`))
    this.child = spawn(options.init ?? initPath(), ['datagrams', options.socket ?? JOURNAL_SOCKET], {stdio: ['pipe', 'pipe', 'inherit'], env: {}})
    this.exited = new Promise(resolve => {
      this.child.once('error', error => this.gone(`cannot start contain-init datagrams: ${error.message}`, resolve))
      this.child.once('exit', (code, signal) => this.gone(`contain-init datagrams ended (${signal ?? `exit ${code}`})`, resolve))
    })
    // A forwarder that died mid-write: its 'exit' says so.
    this.child.stdin.on('error', () => undefined)
    createInterface({input: this.child.stdout}).on('line', line => {
      if (!line.startsWith('dropped ')) return
      if (this.refused++ === 0)
        this.warn(`contain: journald refused an app line (errno ${line.slice(8)}); lines it refuses are dropped (the apps' log files keep them)`)
    })
  }

  /** Complete lines (the last ends with a newline) of one app's stdout or stderr. */
  write(app: string, stream: LogStream, lines: Buffer): void {
    if (!this.alive || lines.length === 0) return
    const key = `${stream}:${app}`
    let fields = this.fields.get(key)
    if (!fields) this.fields.set(key, (fields = lineFields(this.project, app, stream)))
    const {frames, records} = encodeLines(lines, fields)
    const queued = this.child.stdin.writableLength
    // Once dropping, only a pipe drained to a quarter resumes: a journal just at its limit would
    // otherwise flip between the two with every batch.
    if (this.dropping ? queued > this.maxQueuedBytes / 4 : queued + frames.length > this.maxQueuedBytes) {
      if (!this.dropping && this.dropped === 0)
        this.warn("contain: the journal is not keeping up: dropping app lines until it does (the apps' log files keep them)")
      this.dropping = true
      this.dropped += records
      return
    }
    if (this.dropping) {
      this.dropping = false
      this.reportDropped()
    }
    this.child.stdin.write(frames)
  }

  /** The lines dropped since the last report, at most every REPORT_INTERVAL_MS (and at close). */
  private reportDropped(force = false): void {
    const now = Date.now()
    if (this.dropped === this.reported.dropped || (!force && now - this.reported.at < REPORT_INTERVAL_MS)) return
    this.warn(`contain: ${this.dropped - this.reported.dropped} app lines were not sent to the journal (${this.dropped} in all; the apps' log files have them)`)
    this.reported = {dropped: this.dropped, at: now}
  }

  /** Sends what is queued and waits (up to `timeoutMs`) for the forwarder to end. */
  async close(timeoutMs = 2000): Promise<void> {
    this.reportDropped(true)
    this.child.stdin.end()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.exited, new Promise(resolve => (timer = setTimeout(resolve, timeoutMs)))])
    clearTimeout(timer)
    if (this.alive) this.child.kill('SIGKILL')
    await this.exited
  }

  private gone(why: string, resolve: () => void): void {
    if (this.alive && !this.child.stdin.writableEnded) this.warn(`contain: ${why}; app lines go to stdout from now on`)
    this.alive = false
    resolve()
  }
}
