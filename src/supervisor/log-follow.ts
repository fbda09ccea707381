/**
 * `contain logs -f`: follows an app's log like `tail -F`, across rotation, without losing or
 * repeating a line. The kernel says when to look (inotify on the log's folder, through
 * fs.watch); a slow safety poll covers file systems without it.
 *
 * Why no line is lost at a rotation:
 * - The writer renames a file only after its last write has completed. So once the follower
 *   knows a newer file exists, reading its current file to the end gets every line of it.
 * - Each new file is opened as soon as it appears (on the rename event, and between reads),
 *   not when the follower gets to it: a follower slower than the app keeps reading files the
 *   writer has deleted meanwhile, through the open descriptor. Files are recognised by inode,
 *   since several rotations can happen between two looks.
 * Lines are lost only when a file is created and deleted before the follower could open it
 * (maxFiles - 1 rotations while this process never got to run), or when its consumer falls
 * behind by more than 2 x maxFiles files: the oldest are then let go rather than pinning the
 * disk space of deleted files for as long as the consumer is stuck.
 */
import {closeSync, fstatSync, readSync, statSync, watch, type FSWatcher} from 'node:fs'
import {basename, dirname} from 'node:path'
import {setImmediate as nextTurn} from 'node:timers/promises'
import {InvalidValueError} from '../errors.js'
import {
  closeLogFiles,
  collectLastRecords,
  completeEnd,
  firstRecordSince,
  openLogFiles,
  parseRecords,
  readAt,
  validateReadOptions,
  type LogLine,
  type OpenLogFile,
  type ReadOptions,
} from './logs.js'

export interface FollowOptions extends ReadOptions {
  /** Receives lines in file order; when it returns a promise, reading waits for it (backpressure). */
  onLines?: (lines: LogLine[]) => void | Promise<void>
  /**
   * Instead of onLines: the complete records as they are in the files (each ends with its
   * newline), undecoded, in order; the same backpressure. For a consumer that prints them.
   */
  onRecords?: (records: Buffer) => void | Promise<void>
  /** Called once the earlier lines (per `lines` and `since`) are delivered and new ones are watched for. */
  onReady?(): void
  /** Stops following; followLog then resolves. */
  signal: AbortSignal
  /** Safety poll, in case a change notification is missed or unavailable. Default 1000 ms. */
  pollIntervalMs?: number
}

/** Delivers the last lines (all by default, as `docker logs -f`), then every new line until `signal` aborts. */
export async function followLog(file: string, options: FollowOptions): Promise<void> {
  const {lines, since, maxFiles} = validateReadOptions(options)
  const pollIntervalMs = options.pollIntervalMs ?? 1000
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs <= 0) {
    throw new InvalidValueError('pollIntervalMs', pollIntervalMs, 'must be a positive number of milliseconds', 'use e.g. 1000')
  }
  if (!options.onLines === !options.onRecords) {
    throw new InvalidValueError(
      'onLines',
      options.onLines,
      'give either onLines or onRecords',
      'pass onRecords to get the records as bytes, onLines to get them parsed',
    )
  }
  if (options.signal.aborted) return
  await new LogFollower(file, maxFiles, options, pollIntervalMs).run({lines, since})
}

/**
 * `contain logs` without -f: the lines that existed when it started, and no more, as `tail -n` and
 * `docker logs --tail` print. The files are opened once and each is read only up to the size it had
 * then, so lines the app writes meanwhile, or a rotation, cannot add to the output. All lines
 * stream from the oldest file in large reads, so a whole log never sits in memory.
 */
export async function readLog(file: string, options: ReadOptions & {onRecords(records: Buffer): void | Promise<void>; signal?: AbortSignal}): Promise<void> {
  const {lines, since, maxFiles} = validateReadOptions(options)
  const files = openLogFiles(file, maxFiles)
  try {
    if (lines !== undefined) {
      // Read backwards from each file's size at opening; a last line not yet ended is left out.
      const records = collectLastRecords(files, {lines, since})
      if (records.length > 0) await options.onRecords(Buffer.concat(records))
      return
    }
    let filter = since
    const deliver = async (records: Buffer) => {
      if (filter !== undefined) {
        // Records are in time order: the first recent one ends the filtering.
        const first = firstRecordSince(records, filter)
        if (first === -1) return
        records = records.subarray(first)
        filter = undefined
      }
      await options.onRecords(records)
    }
    for (const opened of files.reverse()) {
      if (options.signal?.aborted) return
      // A rotated file that ends mid-line was cut off by a failed write: its last bytes are a line.
      // The newest file's unended line is still being written: not a record yet.
      await readRecords(opened.fd, opened.size, opened.index > 0, deliver, options.signal)
    }
  } finally {
    closeLogFiles(files)
  }
}

/** Delivers the complete records of fd[0, size) in reads of READ_BYTES; with `endUnterminated`, a last unended line too. */
async function readRecords(
  fd: number,
  size: number,
  endUnterminated: boolean,
  deliver: (records: Buffer) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let position = 0
  // The start of a line longer than one read, while reading on to its end.
  let partial: Buffer | undefined
  while (position < size && !signal?.aborted) {
    const read = readAt(fd, position, Math.min(READ_BYTES, size - position))
    if (read.length === 0) break // cut back by someone else since it was opened
    position += read.length
    const data = partial ? Buffer.concat([partial, read]) : read
    const end = data.lastIndexOf(0x0a) + 1
    partial = end < data.length ? data.subarray(end) : undefined
    if (end > 0) await deliver(data.subarray(0, end))
  }
  if (partial && endUnterminated && !signal?.aborted) await deliver(Buffer.concat([partial, Buffer.from('\n')]))
}

/**
 * An open file and the end of the last line delivered from it. A line begun but not ended is
 * read again next time, so a file cut back to a line end (a failed write undone) is read
 * correctly even when new lines have already refilled it.
 */
interface Cursor {
  fd: number
  dev: number
  ino: number
  offset: number
}

const READ_BYTES = 1 << 20

class LogFollower {
  private current: Cursor | undefined
  /** Files newer than `current`, opened as they appeared, oldest first. */
  private readonly ahead: Cursor[] = []
  private changed = true
  private wake: (() => void) | undefined
  private failure: Error | undefined
  /** Lines before this time are skipped (all earlier lines with --since), until the first one after it. */
  private since: Date | undefined
  private watcher: FSWatcher | undefined
  private watched: {dev: number; ino: number} | undefined
  private readonly buffer = Buffer.allocUnsafe(READ_BYTES)
  /** More unread files than this and the oldest are let go: a consumer this slow would pin deleted files' space. */
  private readonly maxFilesAhead: number

  constructor(
    private readonly file: string,
    private readonly maxFiles: number,
    private readonly options: FollowOptions,
    private readonly pollIntervalMs: number,
  ) {
    this.maxFilesAhead = 2 * maxFiles
  }

  async run(backlog: {lines?: number; since?: Date}): Promise<void> {
    const {signal} = this.options
    const poke = () => this.poke()
    // Watch before reading, so a change during the backlog is not missed.
    this.watch()
    const timer = setInterval(() => {
      this.watch() // again, if the folder was missing, or replaced
      this.look()
    }, this.pollIntervalMs)
    signal.addEventListener('abort', poke, {once: true})
    try {
      await this.start(backlog)
      let ready = false
      while (!signal.aborted) {
        this.changed = false
        await this.catchUp()
        if (this.failure) throw this.failure
        if (!ready) {
          ready = true
          this.options.onReady?.()
        }
        if (!this.changed && !signal.aborted) await new Promise<void>(resolve => (this.wake = resolve))
      }
    } finally {
      this.watcher?.close()
      clearInterval(timer)
      signal.removeEventListener('abort', poke)
      for (const cursor of [this.current, ...this.ahead]) if (cursor) closeSync(cursor.fd)
      this.current = undefined
      this.ahead.length = 0
    }
  }

  private poke(): void {
    this.changed = true
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** Opens any new file now, even while the consumer is busy, then wakes the reading loop. */
  private look(): void {
    try {
      this.track()
    } catch (error) {
      this.failure ??= error instanceof Error ? error : new Error(String(error))
    }
    this.poke()
  }

  /**
   * inotify on the log's folder (it sees writes, renames and new files), made again when the
   * folder is replaced. Without it (no folder yet, no inotify watches left) the poll does the work.
   */
  private watch(): void {
    const folder = statSync(dirname(this.file), {throwIfNoEntry: false})
    if (this.watcher && folder && folder.ino === this.watched?.ino && folder.dev === this.watched.dev) return
    this.watcher?.close()
    this.watcher = undefined
    if (!folder) return
    const name = basename(this.file)
    try {
      const watcher = watch(dirname(this.file), {persistent: true}, (event, changed) => {
        const changedName = changed === null ? undefined : String(changed)
        if (changedName === undefined || (event === 'rename' && changedName === name)) this.look()
        else if (changedName.startsWith(name)) this.poke()
      })
      watcher.on('error', () => {
        watcher.close()
        if (this.watcher === watcher) this.watcher = undefined
      })
      this.watcher = watcher
      this.watched = folder
    } catch {
      // The poll carries on.
    }
  }

  /**
   * Where following starts, on the same open files it then continues from. All earlier lines:
   * from the oldest file, streamed by the reading loop (memory stays bounded); the last N: read
   * backwards, and delivered at once.
   */
  private async start(backlog: {lines?: number; since?: Date}): Promise<void> {
    const files = openLogFiles(this.file, this.maxFiles)
    if (files.length === 0) return // nothing written yet: every line to come is new
    if (backlog.lines === undefined) {
      this.since = backlog.since
      const [oldest, ...newer] = files.reverse()
      this.current = cursorAt(oldest)
      this.ahead.push(...newer.map(cursorAt))
      return
    }
    const newest = files[0]
    const end = completeEnd(newest.fd, newest.size)
    let records: Buffer[]
    try {
      records = collectLastRecords([{fd: newest.fd, size: end}, ...files.slice(1)], backlog)
    } finally {
      closeLogFiles(files.slice(1))
    }
    this.current = {...cursorAt(newest), offset: end}
    if (records.length > 0) await this.hand(Buffer.concat(records))
  }

  /** Opens the files newer than the newest one known, in order. */
  private track(): void {
    const newest = this.ahead.at(-1) ?? this.current
    if (newest) {
      const live = statSync(this.file, {throwIfNoEntry: false})
      if (live && live.ino === newest.ino && live.dev === newest.dev) return
    }
    const files = openLogFiles(this.file, this.maxFiles)
    const position = newest ? files.findIndex(file => file.ino === newest.ino && file.dev === newest.dev) : -1
    // Not found: nothing was known, or the newest known file is deleted; then every file there is newer.
    const newer = position === -1 ? files : files.slice(0, position)
    closeLogFiles(files.filter(file => !newer.includes(file)))
    for (const file of newer.reverse()) this.ahead.push(cursorAt(file))
    while (this.ahead.length > this.maxFilesAhead) closeSync((this.ahead.shift() as Cursor).fd)
    if (!this.current) this.current = this.ahead.shift()
  }

  /** Reads everything new, moving on to newer files as long as there are any. */
  private async catchUp(): Promise<void> {
    const {signal} = this.options
    while (!signal.aborted) {
      this.track()
      const cursor = this.current
      if (!cursor) return
      // Known before reading: a newer file exists, so this one was complete before it was renamed.
      const finished = this.ahead.length > 0
      await this.readToEnd(cursor)
      if (signal.aborted) return
      if (!finished) {
        if (this.ahead.length > 0) continue // rotated while reading: read its end, then move on
        this.checkTruncated(cursor)
        return
      }
      await this.deliverUnterminated(cursor)
      closeSync(cursor.fd)
      this.current = this.ahead.shift()
    }
  }

  private async readToEnd(cursor: Cursor): Promise<void> {
    let position = cursor.offset
    // The start of a line longer than one read, while reading on to its end.
    let partial: Buffer | undefined
    while (!this.options.signal.aborted) {
      const read = readSync(cursor.fd, this.buffer, 0, READ_BYTES, position)
      if (read === 0) return
      position += read
      const data = partial ? Buffer.concat([partial, this.buffer.subarray(0, read)]) : this.buffer.subarray(0, read)
      const end = data.lastIndexOf(0x0a) + 1
      partial = end < data.length ? Buffer.from(data.subarray(end)) : undefined
      if (end > 0) {
        cursor.offset += end
        await this.deliver(data.subarray(0, end))
      }
      if (read < READ_BYTES) return
      this.track() // a long read: open what the writer created meanwhile, before it can be deleted
      await nextTurn() // and let an abort, or other work in this process, in
    }
  }

  /** Complete records, filtered by --since. */
  private async deliver(records: Buffer): Promise<void> {
    if (this.since !== undefined) {
      // --since without -n: records are in time order, so the first recent one ends the filtering.
      const first = firstRecordSince(records, this.since)
      if (first === -1) return
      records = records.subarray(first)
      this.since = undefined
    }
    await this.hand(records)
  }

  /** The consumer may keep what it gets: a view of the read buffer, which the next read reuses, is copied. */
  private async hand(records: Buffer): Promise<void> {
    const {onLines, onRecords} = this.options
    const pending = onRecords
      ? onRecords(records.buffer === this.buffer.buffer ? Buffer.from(records) : records)
      : onLines?.(parseRecords(records, records.length))
    if (pending) await pending
  }

  /** A rotated file that ends without a newline (its writer failed mid-line): its last bytes, as a line. */
  private async deliverUnterminated(cursor: Cursor): Promise<void> {
    const size = fstatSync(cursor.fd).size
    if (size <= cursor.offset) return
    const rest = readAt(cursor.fd, cursor.offset, size - cursor.offset)
    cursor.offset = size
    await this.deliver(Buffer.concat([rest, Buffer.from('\n')]))
  }

  /** The file shrank below the lines already read: someone else truncated it (copytruncate); read it from the start. */
  private checkTruncated(cursor: Cursor): void {
    if (fstatSync(cursor.fd).size >= cursor.offset) return
    cursor.offset = 0
    this.poke()
  }
}

function cursorAt(file: OpenLogFile): Cursor {
  return {fd: file.fd, dev: file.dev, ino: file.ino, offset: 0}
}
