/**
 * The log path of the supervisor: an app's stdout and stderr, one timestamped line per app line,
 * in a file rotated by size; and reading the last lines back across the rotated files.
 *
 * File format, one record per app line (the text is the app's bytes, untouched):
 *   2026-11-29T05:45:12.123Z out <text>\n
 *   2026-11-29T05:45:12.123Z err <text>\n
 * Rotated files: app.log (newest), app.log.1, ..., app.log.<maxFiles-1> (oldest).
 *
 * Following a log (`contain logs -f`) lives in log-follow.ts.
 */
import {closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync, writev} from 'node:fs'
import {basename, dirname} from 'node:path'
import {FileError, InvalidValueError} from '../errors.js'

export type LogStream = 'out' | 'err'

/** One record of a log file. `time` is ISO-8601 UTC with milliseconds; '' for a line not in contain's format. */
export interface LogLine {
  time: string
  stream: LogStream
  text: string
}

export const DEFAULT_MAX_SIZE_BYTES = 10 * 2 ** 20
export const DEFAULT_MAX_FILES = 5
/** A line longer than this (no newline yet) is written in pieces, so an app cannot make the supervisor hold unbounded memory. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 2 ** 20
/** Formatted bytes waiting for the disk before the app's pipes are paused (the disk is slower than the app). */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 2 ** 20

/** `2026-11-29T05:45:12.123Z out `: the ISO time (24), a space, the stream (3), a space. */
const PREFIX_BYTES = 29
const NEWLINE = 0x0a
/** Newest first: app.log, app.log.1, ... */
export function rotatedPath(file: string, index: number): string {
  return index === 0 ? file : `${file}.${index}`
}

/**
 * The last `count` lines of `lines` (complete lines, the last ends with a newline), as a view.
 * Who keeps only the last lines decodes just these: decoding and splitting every chunk costs
 * several times the whole log path.
 */
export function lastLinesOf(lines: Buffer, count: number): Buffer {
  let end = lines.length - 1
  for (let found = 0; found < count; found++) {
    const previous = end > 0 ? lines.lastIndexOf(NEWLINE, end - 1) : -1
    if (previous === -1) return lines
    end = previous
  }
  return lines.subarray(end + 1)
}

/**
 * Hands an app's last `count` lines to `onLine`, decoded at most once per `delayMs` and when
 * flushed, instead of for every chunk: a busy app sends about a thousand chunks per 2M lines,
 * and decoding the last lines of each cost the supervisor 10-20 ms of them. Chunks are kept as
 * views until then; each holds at least one line, so the last `count` chunks hold them all.
 */
export class LastLines {
  private chunks: Buffer[] = []
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly count: number,
    public onLine: (line: string) => void,
    private readonly delayMs = 50,
  ) {}

  /** Complete lines (the last ends with a newline), as AppLog's echo receives them. */
  add(lines: Buffer): void {
    if (lines.length === 0) return
    this.chunks.push(lines)
    if (this.chunks.length > 2 * this.count) this.chunks = this.chunks.slice(-this.count)
    // Not holding the supervisor open: at its exit nobody is left to ask for the last lines.
    this.timer ??= setTimeout(() => this.flush(), this.delayMs).unref()
  }

  flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    const chunks = this.chunks.slice(-this.count)
    this.chunks = []
    const texts: string[] = []
    for (let i = chunks.length - 1; i >= 0 && texts.length < this.count; i--) {
      const lines = lastLinesOf(chunks[i], this.count - texts.length)
      texts.push(...lines.toString('utf8', 0, lines.length - 1).split('\n').reverse())
    }
    for (let i = texts.length - 1; i >= 0; i--) this.onLine(texts[i])
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** The file operations the writer uses: the seam that lets tests inject a full disk or a failing write. */
export interface LogFileSystem {
  /** Opens for appending, creating the file; returns the fd. */
  open(path: string): number
  size(fd: number): number
  writev(fd: number, buffers: Buffer[], callback: (error: NodeJS.ErrnoException | null, bytesWritten: number) => void): void
  truncate(fd: number, length: number): void
  close(fd: number): void
  rename(from: string, to: string): void
  /** Removes a file; a missing file is not an error. */
  remove(path: string): void
  /** Lets go of what the file system holds (the directory fd) once the log is closed. */
  release?(): void
}

/**
 * A log file as the root supervisor may open it: never through a symlink (the log directory may
 * be inside the app's own directory, where the app can plant one at app.log or app.log.1 aimed
 * at /etc/shadow), never a FIFO or device (O_NONBLOCK: opening a FIFO must not hang the
 * supervisor), never a second name of another file (a hard link). Node opens every fd O_CLOEXEC.
 */
export function openLogFileNoFollow(path: string, flags: number, mode?: number): number {
  const fd = openSync(path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode)
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), {code: 'EINVAL'})
    if (stat.nlink > 1) throw Object.assign(new Error(`${path} has ${stat.nlink} names (a hard link)`), {code: 'EMLINK'})
    return fd
  } catch (error) {
    closeSync(fd)
    throw error
  }
}

/** The same operations by path, for callers that hold no directory (tests inject faults on top of it). */
export const nodeLogFileSystem: LogFileSystem = {
  open: path => openLogFileNoFollow(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640),
  size: fd => fstatSync(fd).size,
  writev: (fd, buffers, callback) => writev(fd, buffers, callback),
  truncate: (fd, length) => ftruncateSync(fd, length),
  close: fd => closeSync(fd),
  rename: (from, to) => renameSync(from, to),
  remove: path => {
    try {
      unlinkSync(path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  },
}

/** A directory held open: O_DIRECTORY|O_NOFOLLOW, so a symlink planted in its place is refused. */
export function openLogDirectory(dir: string): number {
  return openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
}

/**
 * The writer's file operations, every one relative to the log directory opened once
 * (/proc/self/fd/N/NAME): a log directory swapped for a symlink after the supervisor started is
 * never followed, and neither is a symlink at any of the log's names.
 */
export function directoryLogFileSystem(dir: string): LogFileSystem & {release(): void} {
  const dirFd = openLogDirectory(dir)
  const inDir = (path: string) => {
    if (dirname(path) !== dir) throw Object.assign(new Error(`${path} is not in the log directory ${dir}`), {code: 'EXDEV'})
    return `/proc/self/fd/${dirFd}/${basename(path)}`
  }
  return {
    open: path => openLogFileNoFollow(inDir(path), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640),
    size: fd => fstatSync(fd).size,
    writev: (fd, buffers, callback) => writev(fd, buffers, callback),
    truncate: (fd, length) => ftruncateSync(fd, length),
    close: fd => closeSync(fd),
    rename: (from, to) => renameSync(inDir(from), inDir(to)),
    remove: path => {
      try {
        unlinkSync(inDir(path))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      }
    },
    release: () => closeSync(dirFd),
  }
}

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
  onError?(error: FileError): void
  /** Called when writing works again, with the number of lines dropped meanwhile. */
  onRecovered?(droppedLines: number): void
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number
  fs?: LogFileSystem
}

/** At most this many bytes in one writev. */
const MAX_BATCH_BYTES = 8 * 2 ** 20
/** Linux's IOV_MAX: libuv would split a longer writev into a short write. */
const MAX_BATCH_BUFFERS = 1024

export interface Prefix {
  ms: number
  bytes: Buffer
  words: Int32Array
}

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
  private readonly attached = new Map<LineSplitter, {stream: NodeJS.ReadableStream; detach(): void}>()

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
      this.writeBatch(batch, batch.reduce((sum, buffer) => sum + buffer.length, 0), 0)
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

/** Formatted lines are written into slabs this large, filled in order and never reused, so queued views stay valid. */
const SLAB_BYTES = 4 * 2 ** 20
/** Input formatted in one step at most; a line longer than this gets a buffer of its own. */
const WINDOW_BYTES = 64 * 1024

/**
 * Puts the prefix in front of each line. One pass over the input, copying short lines byte by
 * byte and the 29-byte prefix as seven 32-bit words and a byte, straight into a slab: no
 * counting pass and no allocation per chunk. Measured: about half the CPU of counting the lines
 * first to size a buffer per chunk.
 */
export class LineFormatter {
  private slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES)
  private view = new DataView(this.slab.buffer, this.slab.byteOffset, SLAB_BYTES)
  private used = 0
  /** Bytes handed out from each slab and not yet released; a full slab with none is reused (fresh memory costs page faults). */
  private readonly outstanding = new Map<ArrayBufferLike, number>([[this.slab.buffer, 0]])
  private readonly spare: Buffer[] = []

  /** The bytes of `formatted` (handed out by format) are written or dropped: their slab may be reused. */
  release(formatted: Buffer): void {
    const left = this.outstanding.get(formatted.buffer)
    if (left === undefined) return // a long line's own buffer
    this.outstanding.set(formatted.buffer, left - formatted.length)
    if (left - formatted.length === 0 && formatted.buffer !== this.slab.buffer) {
      this.outstanding.delete(formatted.buffer)
      if (this.spare.length < 2) this.spare.push(Buffer.from(formatted.buffer, 0, SLAB_BYTES))
    }
  }

  /** Formats the complete lines src[start, end) (src[end-1] is a newline), handing out the bytes in order. */
  format(src: Buffer, start: number, end: number, prefix: Prefix, emit: (formatted: Buffer) => void): void {
    let i = start
    while (i < end) {
      let stop = end
      if (stop - i > WINDOW_BYTES) {
        stop = src.lastIndexOf(NEWLINE, i + WINDOW_BYTES - 1) + 1
        if (stop <= i) {
          const lineEnd = src.indexOf(NEWLINE, i) + 1
          emit(formatLongLine(src, i, lineEnd, prefix))
          i = lineEnd
          continue
        }
      }
      const from = this.used
      i = this.fill(src, i, stop, prefix.words)
      if (this.used > from) {
        this.outstanding.set(this.slab.buffer, (this.outstanding.get(this.slab.buffer) as number) + this.used - from)
        emit(this.slab.subarray(from, this.used))
      }
      if (i < stop) this.nextSlab() // full: it keeps room for the rest of the window as one line
    }
  }

  private nextSlab(): void {
    const full = this.slab.buffer
    if (this.outstanding.get(full) === 0) {
      this.outstanding.delete(full)
      if (this.spare.length < 2) this.spare.push(this.slab)
    }
    this.slab = this.spare.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES)
    this.view = new DataView(this.slab.buffer, this.slab.byteOffset, SLAB_BYTES)
    this.used = 0
    this.outstanding.set(this.slab.buffer, 0)
  }

  /** The hot loop: lines from src[i, stop) into the slab while the rest surely fits; returns where it stopped. */
  private fill(src: Buffer, i: number, stop: number, words: Int32Array): number {
    const out = this.slab
    const view = this.view
    const w0 = words[0], w1 = words[1], w2 = words[2], w3 = words[3], w4 = words[4], w5 = words[5], w6 = words[6], last = words[7]
    let o = this.used
    while (i < stop && o + PREFIX_BYTES + (stop - i) <= SLAB_BYTES) {
      view.setInt32(o, w0, true)
      view.setInt32(o + 4, w1, true)
      view.setInt32(o + 8, w2, true)
      view.setInt32(o + 12, w3, true)
      view.setInt32(o + 16, w4, true)
      view.setInt32(o + 20, w5, true)
      view.setInt32(o + 24, w6, true)
      out[o + 28] = last
      o += PREFIX_BYTES
      for (;;) {
        const byte = src[i++]
        out[o++] = byte
        if (byte === NEWLINE) break
      }
    }
    this.used = o
    return i
  }
}

function formatLongLine(src: Buffer, start: number, end: number, prefix: Prefix): Buffer {
  const out = Buffer.allocUnsafeSlow(PREFIX_BYTES + end - start)
  prefix.bytes.copy(out, 0, 0, PREFIX_BYTES)
  out.set(src.subarray(start, end), PREFIX_BYTES)
  return out
}

/** ISO strings keep their 24-character form only for years 0000-9999; a clock outside is pinned. */
function clampTime(ms: number): number {
  if (!Number.isFinite(ms)) return 0
  return Math.min(Math.max(Math.floor(ms), 0), 253402300799999)
}

function skipBytes(batch: Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = []
  for (const buffer of batch) {
    if (skip >= buffer.length) {
      skip -= buffer.length
      continue
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer)
    skip = 0
  }
  return rest
}

/** The end of the last complete line within the first `limit` bytes of `batch`. */
function lastLineEnd(batch: Buffer[], limit: number): number {
  let offset = 0
  let end = 0
  for (const buffer of batch) {
    if (offset >= limit) break
    const within = Math.min(buffer.length, limit - offset)
    const newline = within > 0 ? buffer.lastIndexOf(NEWLINE, within - 1) : -1
    if (newline !== -1) end = offset + newline + 1
    offset += buffer.length
  }
  return end
}

/** Newlines in `batch` after its first `skip` bytes. */
function countNewlines(batch: Buffer[], skip: number): number {
  let count = 0
  for (const buffer of skipBytes(batch, skip)) for (let i = 0; i < buffer.length; i++) if (buffer[i] === NEWLINE) count++
  return count
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

// ---------------------------------------------------------------------------------------------
// Reading

export interface ReadOptions {
  /** The last N lines (`-n N`); all lines when absent. */
  lines?: number
  /** Only lines at or after this time (`--since`). */
  since?: Date
  /** Files the writer keeps. Default 5. */
  maxFiles?: number
}

/** The last lines of an app's log across its rotated files, oldest first. A log not written yet has no lines. */
export function readLastLines(file: string, options: ReadOptions = {}): LogLine[] {
  const {lines, since, maxFiles} = validateReadOptions(options)
  const files = openLogFiles(file, maxFiles)
  try {
    return collectLastLines(files, {lines, since})
  } finally {
    closeLogFiles(files)
  }
}

export function validateReadOptions(options: ReadOptions): {lines?: number; since?: Date; maxFiles: number} {
  if (options.lines !== undefined && (!Number.isSafeInteger(options.lines) || options.lines < 0)) {
    throw new InvalidValueError('lines', options.lines, 'must be a whole number of lines', 'use e.g. 100, or 0 for none')
  }
  if (options.since !== undefined && !(options.since instanceof Date && Number.isFinite(options.since.getTime()))) {
    throw new InvalidValueError('since', options.since, 'must be a valid time', 'use a Date, e.g. ten minutes ago')
  }
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES
  if (!Number.isSafeInteger(maxFiles) || maxFiles < 1) throw new InvalidValueError('maxFiles', maxFiles, 'must be a whole number of at least 1', 'use the number of files the log keeps, e.g. 5')
  return {lines: options.lines, since: options.since, maxFiles}
}

/** The text of a record, with its time in front when `timestamps` is set (as `docker logs -t`). */
export function formatLogLine(line: LogLine, timestamps = false): string {
  return timestamps && line.time ? `${line.time} ${line.text}` : line.text
}

/** One record, without its newline. A line in another format is kept whole as text. */
export function parseLogLine(raw: string): LogLine {
  if (raw.length >= PREFIX_BYTES && raw.charCodeAt(23) === 0x5a && raw.charCodeAt(24) === 0x20 && raw.charCodeAt(28) === 0x20) {
    const stream = raw.startsWith('out', 25) ? 'out' : raw.startsWith('err', 25) ? 'err' : undefined
    if (stream) return {time: raw.slice(0, 24), stream, text: raw.slice(PREFIX_BYTES)}
  }
  return {time: '', stream: 'out', text: raw}
}

/** Complete records in bytes[0, end), which ends with a newline. */
export function parseRecords(bytes: Buffer, end: number): LogLine[] {
  if (end === 0) return []
  return bytes.toString('utf8', 0, end - 1).split('\n').map(parseLogLine)
}

/** The stream of the record at bytes[start...] when it has contain's prefix (checked as parseLogLine does); else undefined. */
function prefixedStream(bytes: Buffer, start: number): LogStream | undefined {
  if (start + PREFIX_BYTES > bytes.length || bytes[start + 23] !== 0x5a || bytes[start + 24] !== 0x20 || bytes[start + 28] !== 0x20) return undefined
  const a = bytes[start + 25]
  const b = bytes[start + 26]
  const c = bytes[start + 27]
  const stream = a === 0x6f && b === 0x75 && c === 0x74 ? 'out' : a === 0x65 && b === 0x72 && c === 0x72 ? 'err' : undefined
  // The prefix must not hold the record's end: a short line followed by the next record is not one record.
  if (stream) for (let i = start; i < start + 23; i++) if (bytes[i] === NEWLINE) return undefined
  return stream
}

/**
 * What `contain logs` prints of complete records (bytes as in the file, ending with a newline),
 * without decoding them: each record's text, with its time in front when `timestamps` (as
 * formatLogLine), as runs of records of one stream, in file order. A follower of a
 * busy app gets millions of lines: turning each into strings and writing them one by one costs
 * it more CPU than the supervisor spends writing them.
 */
export function textOfRecords(records: Buffer, timestamps: boolean): {stream: LogStream; text: Buffer}[] {
  const out = Buffer.allocUnsafe(records.length)
  const runs: {stream: LogStream; text: Buffer}[] = []
  const end = records.length
  let o = 0
  let runStart = 0
  let runStream: LogStream | undefined
  let i = 0
  // One pass, byte by byte: a native call per record (indexOf, copy) costs more than a short line.
  while (i < end) {
    const prefixed = prefixedStream(records, i)
    const stream = prefixed ?? 'out' // another format is the app's output, whole
    if (stream !== runStream) {
      if (o > runStart) runs.push({stream: runStream as LogStream, text: out.subarray(runStart, o)})
      runStart = o
      runStream = stream
    }
    if (prefixed !== undefined) {
      if (timestamps) {
        // `<time> <text>`: the record without ' out' / ' err'.
        for (let k = i; k < i + 24; k++) out[o++] = records[k]
        i += 28
      } else {
        i += PREFIX_BYTES
      }
    }
    while (i < end) {
      const byte = records[i++]
      out[o++] = byte
      if (byte === NEWLINE) break
    }
  }
  if (o > runStart) runs.push({stream: runStream as LogStream, text: out.subarray(runStart, o)})
  return runs
}

/**
 * Prints records as `contain logs` does: the app's stdout lines to `streams.out`, its stderr lines
 * to `streams.err`, as large writes, each waited for: when both go to one pipe or terminal (2>&1),
 * a write still queued on one must not be overtaken by the other. A slow reader slows this
 * process, never the app. False when the reader has gone.
 */
export async function printLogRecords(records: Buffer, timestamps: boolean, streams: {out: NodeJS.WritableStream; err: NodeJS.WritableStream} = {out: process.stdout, err: process.stderr}): Promise<boolean> {
  for (const {stream, text} of textOfRecords(records, timestamps)) {
    const error = await new Promise<Error | null | undefined>(resolve => streams[stream].write(text, resolve))
    // The reader went away (contain logs web | head): nothing more to print, as for tail.
    if ((error as NodeJS.ErrnoException | null | undefined)?.code === 'EPIPE') return false
    if (error) throw error
  }
  return true
}

/** The time of the record at bytes[start...] is at or after `since` (an ISO time, latin1); a line in another format has none. */
function isSince(bytes: Buffer, start: number, since: Buffer): boolean {
  return prefixedStream(bytes, start) !== undefined && bytes.compare(since, 0, since.length, start, start + 24) >= 0
}

/** Where the first record at or after `since` starts in complete records, or -1. Records are in time order. */
export function firstRecordSince(records: Buffer, since: Date): number {
  const time = Buffer.from(since.toISOString(), 'latin1')
  for (let start = 0; start < records.length; start = records.indexOf(NEWLINE, start) + 1) {
    if (isSince(records, start, time)) return start
    if (records.indexOf(NEWLINE, start) === -1) break
  }
  return -1
}

/** An open log file, as found at `index` (0 = the newest). */
export interface OpenLogFile {
  path: string
  index: number
  fd: number
  dev: number
  ino: number
  size: number
}

/**
 * Opens app.log and its rotated files, newest first, as one consistent set. Opened oldest first:
 * files only move to higher numbers, so a file opened later is never older than one opened before.
 * The set is then checked against the paths and reopened if a rotation moved anything meanwhile.
 */
export function openLogFiles(file: string, maxFiles: number): OpenLogFile[] {
  for (let attempt = 0; ; attempt++) {
    const files: OpenLogFile[] = []
    try {
      for (let index = maxFiles - 1; index >= 0; index--) {
        const path = rotatedPath(file, index)
        let fd: number
        try {
          // contain logs runs as root: a symlink the app planted among its log files is not read.
          fd = openLogFileNoFollow(path, constants.O_RDONLY)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
          const code = (error as NodeJS.ErrnoException).code
          const planted = code === 'ELOOP' || code === 'EINVAL' || code === 'EMLINK'
          throw new FileError(path, `cannot read the log: ${planted ? `${(error as Error).message.replace(/^ELOOP.*/, 'it is a symlink')}, not a log file contain wrote` : code ?? error}`, {fix: planted ? `remove ${path} (something other than contain put it there)` : 'run as a user who may read the app logs (root)', cause: error})
        }
        const stat = fstatSync(fd)
        files.unshift({path, index, fd, dev: stat.dev, ino: stat.ino, size: stat.size})
      }
    } catch (error) {
      closeLogFiles(files)
      throw error
    }
    if (attempt >= 20 || isStable(file, maxFiles, files)) return files
    closeLogFiles(files)
  }
}

function isStable(file: string, maxFiles: number, files: OpenLogFile[]): boolean {
  for (let index = 0; index < maxFiles; index++) {
    const stat = statSync(rotatedPath(file, index), {throwIfNoEntry: false})
    const opened = files.find(candidate => candidate.index === index)
    if (!stat !== !opened) return false
    if (stat && opened && (stat.ino !== opened.ino || stat.dev !== opened.dev)) return false
  }
  return true
}

export function closeLogFiles(files: OpenLogFile[]): void {
  for (const file of files) closeSync(file.fd)
}

/** Reads files (newest first) backwards; each file up to its `size`. Oldest line first. */
export function collectLastLines(files: readonly {fd: number; size: number}[], options: {lines?: number; since?: Date}): LogLine[] {
  return collectLastRecords(files, options).map(record => parseLogLine(record.toString('utf8', 0, record.length - 1)))
}

/** As collectLastLines, as the records' bytes (each ending with its newline). */
export function collectLastRecords(files: readonly {fd: number; size: number}[], options: {lines?: number; since?: Date}): Buffer[] {
  const wanted = options.lines ?? Number.POSITIVE_INFINITY
  const since = options.since === undefined ? undefined : Buffer.from(options.since.toISOString(), 'latin1')
  const found: Buffer[] = []
  if (wanted === 0) return found
  const visit = (data: Buffer, start: number, end: number): boolean => {
    // Records are in time order, so the first one older than --since ends the search.
    if (since !== undefined && !isSince(data, start, since)) return false
    found.push(data.subarray(start, end))
    return found.length < wanted
  }
  for (const file of files) if (readBackward(file.fd, file.size, visit)) break
  return found.reverse()
}

const READ_BLOCK_BYTES = 64 * 1024
const MAX_READ_BLOCK_BYTES = 4 * 2 ** 20

/** Visits the complete records of fd[0, size) newest first, as data[start, end) with the newline; true when `visit` asked to stop. */
function readBackward(fd: number, size: number, visit: (data: Buffer, start: number, end: number) => boolean): boolean {
  let position = size
  let blockBytes = READ_BLOCK_BYTES
  // Bytes after `position` that start with the end of a line that began before it.
  let tail: Buffer | undefined
  let lookingForEnd = true
  while (position > 0) {
    const start = Math.max(0, position - blockBytes)
    const block = readAt(fd, start, position - start)
    let data = tail ? Buffer.concat([block, tail]) : block
    if (lookingForEnd) {
      // A last line without its newline is still being written (or was cut off): not a record yet.
      data = data.subarray(0, data.lastIndexOf(NEWLINE) + 1)
      lookingForEnd = data.length === 0
    }
    const firstStart = start === 0 ? 0 : data.indexOf(NEWLINE) + 1
    if (firstStart === 0 && start > 0) {
      tail = data.length > 0 ? data : undefined // one line longer than the block: read further back
      blockBytes = Math.min(blockBytes * 2, MAX_READ_BLOCK_BYTES)
      position = start
      continue
    }
    let end = data.length
    while (end > firstStart) {
      const recordStart = end >= 2 ? data.lastIndexOf(NEWLINE, end - 2) + 1 : 0
      const from = Math.max(recordStart, firstStart)
      if (!visit(data, from, end)) return true
      end = from
    }
    tail = firstStart > 0 ? data.subarray(0, firstStart) : undefined
    position = start
  }
  return false
}

export function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length)
  let filled = 0
  while (filled < length) {
    const read = readSync(fd, buffer, filled, length - filled, position + filled)
    if (read === 0) break
    filled += read
  }
  return buffer.subarray(0, filled)
}

/** The end of the last complete record in fd[0, size): where a follower starts. */
export function completeEnd(fd: number, size: number): number {
  let position = size
  while (position > 0) {
    const start = Math.max(0, position - READ_BLOCK_BYTES)
    const newline = readAt(fd, start, position - start).lastIndexOf(NEWLINE)
    if (newline !== -1) return start + newline + 1
    position = start
  }
  return 0
}
