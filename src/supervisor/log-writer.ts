// Writing an app's log: its stdout and stderr, one timestamped record per line, in files rotated by size.
// About 400 lines for one reason: AppLog's queue, batching, rotation and failure recovery share one state and one drain loop.
import {mkdirSync} from 'node:fs'
import {dirname} from 'node:path'
import {FileError, InvalidValueError} from '../errors.js'
import {countNewlines, lastLineEnd, skipBytes} from './log-batch.js'
import {DEFAULT_MAX_FILES, DEFAULT_MAX_SIZE_BYTES, directoryLogFileSystem, rotatedPath, type LogFileSystem} from './log-files.js'
import {NEWLINE, PREFIX_BYTES, type LogStream, type Prefix} from './log-record.js'
import {LineFormatter} from './line-formatter.js'

/** A line longer than this (no newline yet) is written in pieces, so an app cannot make the supervisor hold unbounded memory. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 2 ** 20
/** Formatted bytes waiting for the disk before the app's pipes are paused (the disk is slower than the app). */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 2 ** 20

export interface LogOptions {
  /** The newest file, e.g. /var/lib/contain/web/app.log; its folder is created if missing. */
  file: string
  /** Rotate before a line would make the file larger than this. Default 10 MiB. */
  maxSizeBytes?: number
  /** Files kept, the current one included; the oldest is deleted. Default 5. */
  maxFiles?: number
  /** A line still without its newline at this size is written in pieces. Default 16 MiB. */
  maxLineBytes?: number
  /** Pause the app's pipes while this much formatted output waits for the disk. Default 64 MiB. */
  maxQueuedBytes?: number
  /** Called once when writing starts failing (ENOSPC, EIO, ...); lines are dropped until it recovers. */
  onError?: (error: FileError) => void
  /** Called when writing works again, with the number of lines dropped meanwhile. */
  onRecovered?: (droppedLines: number) => void
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number
  fs?: LogFileSystem
}

/** At most this many bytes in one writev. */
const MAX_BATCH_BYTES = 8 * 2 ** 20
/** Linux's IOV_MAX: libuv would split a longer writev into a short write. */
const MAX_BATCH_BUFFERS = 1024

/** Per attached stream: the partial line kept until its newline, and where complete lines are echoed. */
class LineSplitter {
  pending: Buffer[] = []
  pendingBytes = 0
  readonly prefix: Prefix = {ms: Number.NaN, bytes: Buffer.alloc(PREFIX_BYTES), words: new Int32Array(8)}
  constructor(
    readonly name: LogStream,
    readonly echo?: (lines: Buffer) => void,
  ) {}

  /** The kept partial line followed by `end` (which holds its newline), as one buffer. */
  takeWith(end: Buffer): Buffer {
    const line = Buffer.concat([...this.pending, end], this.pendingBytes + end.length)
    this.pending = []
    this.pendingBytes = 0
    return line
  }
}

/**
 * One app's log file. `attach` the app's stdout and stderr; every complete line is appended with
 * its timestamp, lines are never split (a partial line waits for its newline), and the file
 * rotates between lines. Writes are asynchronous and batched, so the pipes are always drained
 * while a write is in flight; a failing write never stops the app: lines are counted as dropped.
 */
export class AppLog {
  readonly file: string
  private readonly maxSizeBytes: number
  private readonly maxFiles: number
  private readonly maxLineBytes: number
  private readonly maxQueuedBytes: number
  private readonly now: () => number
  private readonly fs: LogFileSystem
  private readonly onError?: (error: FileError) => void
  private readonly onRecovered?: (droppedLines: number) => void

  private fd: number | undefined
  /** Bytes in the current file, as written by us. */
  private fileBytes = 0
  private queue: Buffer[] = []
  private queuedBytes = 0
  private writing = false
  private failing = false
  private droppedLines = 0
  private paused = false
  private closed = false
  private closing: Promise<void> | undefined
  private idleWaiters: (() => void)[] = []
  private readonly formatter = new LineFormatter()
  private readonly emit = (formatted: Buffer) => this.enqueue(formatted)
  private readonly attached = new Map<LineSplitter, {stream: NodeJS.ReadableStream; detach: () => void}>()

  constructor(options: LogOptions) {
    this.file = options.file
    this.maxSizeBytes = positiveInteger('maxSizeBytes', options.maxSizeBytes ?? DEFAULT_MAX_SIZE_BYTES, 'a size in bytes, e.g. 10485760 for 10 MiB')
    this.maxFiles = positiveInteger('maxFiles', options.maxFiles ?? DEFAULT_MAX_FILES, 'a number of files, e.g. 5')
    this.maxLineBytes = positiveInteger('maxLineBytes', options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, 'a size in bytes, e.g. 16777216')
    this.maxQueuedBytes = positiveInteger('maxQueuedBytes', options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES, 'a size in bytes, e.g. 67108864')
    this.now = options.now ?? Date.now
    this.onError = options.onError
    this.onRecovered = options.onRecovered
    try {
      mkdirSync(dirname(this.file), {recursive: true})
      this.fs = options.fs ?? directoryLogFileSystem(dirname(this.file))
      this.openFile()
    } catch (error) {
      throw writeFailure(this.file, 'cannot open the log', error)
    }
  }

  /** Logs every line of `stream` as `name`; `echo` receives the same complete lines, raw, e.g. for a terminal. */
  attach(stream: NodeJS.ReadableStream, name: LogStream, echo?: (lines: Buffer) => void): void {
    if (this.closed) throw new FileError(this.file, 'the log is closed', {fix: 'attach streams before closing the log'})
    if (name !== 'out' && name !== 'err') throw new InvalidValueError('stream', name, "must be 'out' or 'err'", "pass 'out' for stdout, 'err' for stderr")
    const splitter = new LineSplitter(name, echo)
    const onData = (chunk: Buffer | string) => this.receive(splitter, typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
    // A stream that ends (or breaks) mid-line still gets its last line written.
    const onEnd = () => {
      this.flushPartial(splitter)
      detach()
      this.drain()
    }
    // The 'error' listener stays: a pipe that breaks after the log is closed must not crash the supervisor.
    const detach = () => {
      stream.removeListener('data', onData)
      stream.removeListener('end', onEnd)
      this.attached.delete(splitter)
    }
    this.attached.set(splitter, {stream, detach})
    stream.on('data', onData)
    stream.on('end', onEnd)
    stream.on('error', onEnd)
    if (this.paused) stream.pause()
  }

  /** Resolves when every complete line received so far is written (or counted as dropped). */
  flush(): Promise<void> {
    this.drain()
    if (!this.writing && this.queue.length === 0) return Promise.resolve()
    return new Promise(resolve => this.idleWaiters.push(resolve))
  }

  /** Writes partial lines as lines, detaches the streams, writes everything and closes the file. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce()
    return this.closing
  }

  private async closeOnce(): Promise<void> {
    for (const [splitter, {detach}] of [...this.attached]) {
      this.flushPartial(splitter)
      detach()
    }
    this.closed = true
    await this.flush()
    if (this.fd !== undefined) {
      try {
        this.fs.close(this.fd)
      } catch {
        // Everything was written or reported; a failing close adds nothing the app can act on.
      }
      this.fd = undefined
    }
    this.fs.release?.()
  }

  /** The hot path: one timestamp per chunk (its lines arrived together), then one pass to format its complete lines. */
  private receive(splitter: LineSplitter, chunk: Buffer): void {
    if (this.closed) return
    const last = chunk.lastIndexOf(NEWLINE)
    if (last === -1) {
      this.keepPartial(splitter, chunk)
      return
    }
    const prefix = this.prefixFor(splitter)
    let start = 0
    if (splitter.pendingBytes > 0) {
      const end = chunk.indexOf(NEWLINE) + 1
      const line = splitter.takeWith(chunk.subarray(0, end))
      this.formatter.format(line, 0, line.length, prefix, this.emit)
      splitter.echo?.(line)
      start = end
    }
    if (start <= last) {
      this.formatter.format(chunk, start, last + 1, prefix, this.emit)
      splitter.echo?.(chunk.subarray(start, last + 1))
    }
    if (last + 1 < chunk.length) this.keepPartial(splitter, chunk.subarray(last + 1))
    this.drain()
  }

  private keepPartial(splitter: LineSplitter, bytes: Buffer): void {
    splitter.pending.push(bytes)
    splitter.pendingBytes += bytes.length
    if (splitter.pendingBytes >= this.maxLineBytes) {
      this.flushPartial(splitter)
      this.drain()
    }
  }

  /** Writes the kept partial line as a line of its own (the stream ended, or the line is too long). */
  private flushPartial(splitter: LineSplitter): void {
    if (splitter.pendingBytes === 0) return
    const line = splitter.takeWith(Buffer.from([NEWLINE]))
    this.formatter.format(line, 0, line.length, this.prefixFor(splitter), this.emit)
    splitter.echo?.(line)
  }

  private prefixFor(splitter: LineSplitter): Prefix {
    const prefix = splitter.prefix
    const ms = clampTime(this.now())
    if (ms !== prefix.ms) {
      prefix.ms = ms
      prefix.bytes.write(`${new Date(ms).toISOString()} ${splitter.name} `, 0, 'latin1')
      const view = new DataView(prefix.bytes.buffer, prefix.bytes.byteOffset, PREFIX_BYTES)
      for (let i = 0; i < 7; i++) prefix.words[i] = view.getInt32(i * 4, true)
      prefix.words[7] = prefix.bytes[28]
    }
    return prefix
  }

  private enqueue(formatted: Buffer): void {
    const tail = this.queue.length > 0 ? this.queue[this.queue.length - 1] : undefined
    if (tail && tail.buffer === formatted.buffer && tail.byteOffset + tail.length === formatted.byteOffset) {
      // Lines formatted next to each other in a slab: one buffer, so one writev covers more.
      this.queue[this.queue.length - 1] = Buffer.from(tail.buffer, tail.byteOffset, tail.length + formatted.length)
    } else {
      this.queue.push(formatted)
    }
    this.queuedBytes += formatted.length
    if (!this.paused && this.queuedBytes > this.maxQueuedBytes) {
      this.paused = true
      for (const {stream} of this.attached.values()) stream.pause()
    }
  }

  /** Starts the next write if none is in flight; rotation happens here, between lines. */
  private drain(): void {
    while (!this.writing && this.queue.length > 0) {
      if (this.fd === undefined && !this.reopen()) continue
      const batch = this.takeBatch()
      if (batch.length === 0) {
        // The next line does not fit in the current file.
        this.rotate()
        continue
      }
      this.writing = true
      this.writeBatch(
        batch,
        batch.reduce((sum, buffer) => sum + buffer.length, 0),
        0,
      )
    }
  }

  /** Opens the file after a failure; on failure the queued lines are dropped (retried with the next output). */
  private reopen(): boolean {
    try {
      this.openFile()
      return true
    } catch (error) {
      this.dropBatch(this.queue.splice(0), 0, writeFailure(this.file, 'cannot open the log', error))
      return false
    }
  }

  /** Whole lines that fit in the current file (at least one line when the file is empty). */
  private takeBatch(): Buffer[] {
    const room = this.maxSizeBytes - this.fileBytes
    const batch: Buffer[] = []
    let bytes = 0
    while (this.queue.length > 0 && batch.length < MAX_BATCH_BUFFERS && bytes < MAX_BATCH_BYTES) {
      const next = this.queue[0]
      if (bytes + next.length <= room) {
        batch.push(next)
        bytes += next.length
        this.queue.shift()
        continue
      }
      // Cut at the last line end that still fits; a line longer than a whole file gets a file of its own.
      let cut = room - bytes > 0 ? next.lastIndexOf(NEWLINE, room - bytes - 1) + 1 : 0
      if (cut === 0 && bytes === 0 && this.fileBytes === 0) cut = next.indexOf(NEWLINE) + 1
      if (cut > 0) {
        batch.push(next.subarray(0, cut))
        this.queue[0] = next.subarray(cut)
      }
      break
    }
    return batch
  }

  private writeBatch(batch: Buffer[], total: number, written: number): void {
    const fd = this.fd as number
    this.fs.writev(fd, written === 0 ? batch : skipBytes(batch, written), (error, bytesWritten) => {
      if (!error && bytesWritten > 0 && written + bytesWritten < total) {
        this.writeBatch(batch, total, written + bytesWritten) // a short write: the rest follows
        return
      }
      this.writing = false
      if (error || written + bytesWritten < total) {
        this.dropBatch(batch, written + (error ? 0 : bytesWritten), writeFailure(this.file, 'cannot write the log', error ?? new Error('write wrote nothing')))
      } else {
        this.fileBytes += total
        this.queuedBytes -= total
        for (const buffer of batch) this.formatter.release(buffer)
        if (this.failing) {
          this.failing = false
          const dropped = this.droppedLines
          this.droppedLines = 0
          this.onRecovered?.(dropped)
        }
      }
      this.settle()
    })
  }

  /**
   * A failed write: keep the complete lines that reached the file, cut off a partial one, count
   * the rest as dropped, report the failure once per episode. The next chunk tries again.
   */
  private dropBatch(batch: Buffer[], written: number, error: FileError): void {
    const total = batch.reduce((sum, buffer) => sum + buffer.length, 0)
    let kept = lastLineEnd(batch, written)
    if (kept < written && this.fd !== undefined) {
      try {
        this.fs.truncate(this.fd, this.fileBytes + kept)
      } catch {
        kept = written // the piece stays, and the next line is appended to it; nothing else can be done now
      }
    }
    this.fileBytes += kept
    this.queuedBytes -= total
    this.droppedLines += countNewlines(batch, kept)
    for (const buffer of batch) this.formatter.release(buffer)
    if (!this.failing) {
      this.failing = true
      this.onError?.(error)
    }
  }

  /** After a write: resume paused pipes, wake flush() callers, start the next write. */
  private settle(): void {
    if (this.paused && this.queuedBytes <= this.maxQueuedBytes / 2) {
      this.paused = false
      for (const {stream} of this.attached.values()) stream.resume()
    }
    this.drain()
    if (!this.writing && this.queue.length === 0) {
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const resolve of waiters) resolve()
    }
  }

  private openFile(): void {
    const fd = this.fs.open(this.file)
    try {
      this.fileBytes = this.fs.size(fd)
    } catch (error) {
      this.fs.close(fd)
      throw error
    }
    this.fd = fd
  }

  /** app.log.N-2 -> app.log.N-1 ... app.log -> app.log.1, then a new app.log. Only called between writes. */
  private rotate(): void {
    if (this.fd !== undefined) {
      try {
        this.fs.close(this.fd)
      } catch {
        // Its data is written; a failing close cannot lose lines.
      }
      this.fd = undefined
    }
    try {
      this.fs.remove(rotatedPath(this.file, this.maxFiles - 1))
      for (let index = this.maxFiles - 2; index >= 0; index--) {
        try {
          this.fs.rename(rotatedPath(this.file, index), rotatedPath(this.file, index + 1))
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
        }
      }
    } catch (error) {
      // Like a failed write: the queued lines are dropped, and the next output reopens and retries.
      this.dropBatch(this.queue.splice(0), 0, writeFailure(this.file, 'cannot rotate the log', error))
    }
    // Reopened at once (not on the next line), so followers find the new file right after the rename.
    try {
      this.openFile()
    } catch {
      // drain() reopens, and reports the failure, when the next line needs the file.
    }
  }
}

/** ISO strings keep their 24-character form only for years 0000-9999; a clock outside is pinned. */
function clampTime(ms: number): number {
  if (!Number.isFinite(ms)) return 0
  return Math.min(Math.max(Math.floor(ms), 0), 253402300799999)
}

/** What opening a log through openLogFileNoFollow / openLogDirectory answers for something planted. */
const PLANTED_CODES = new Set(['ELOOP', 'ENOTDIR', 'EMLINK', 'EINVAL'])

function writeFailure(file: string, what: string, error: unknown): FileError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  const fix =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? `free space on the disk that holds ${dirname(file)}; logging resumes by itself and reports how many lines were dropped`
      : code === 'EACCES' || code === 'EPERM'
        ? `let contain write to ${dirname(file)}`
        : PLANTED_CODES.has(code ?? '')
          ? `remove ${file} or make ${dirname(file)} a real directory: contain writes logs only to regular files in a directory it reaches without a symlink (the app may write there)`
          : `check the disk that holds ${dirname(file)} (dmesg); logging retries with the next output`
  const planted = PLANTED_CODES.has(code ?? '') ? ' (a symlink, hard link or special file where the log belongs)' : ''
  return new FileError(file, `${what}: ${code ?? (error instanceof Error ? error.message : String(error))}${planted}`, {fix, cause: error})
}

function positiveInteger(field: string, value: number, example: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidValueError(field, value, 'must be a whole number of at least 1', `use ${example}`)
  return value
}
