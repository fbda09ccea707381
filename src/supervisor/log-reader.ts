// Reading an app's log back: the last lines across its rotated files, read backwards, as one consistent set.
import {closeSync, constants, fstatSync, readSync, statSync} from 'node:fs'
import {FileError, InvalidValueError} from '../errors.js'
import {DEFAULT_MAX_FILES, openLogFileNoFollow, rotatedPath} from './log-files.js'
import {isSince, NEWLINE, parseLogLine, type LogLine} from './log-record.js'

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
  if (!Number.isSafeInteger(maxFiles) || maxFiles < 1)
    throw new InvalidValueError('maxFiles', maxFiles, 'must be a whole number of at least 1', 'use the number of files the log keeps, e.g. 5')
  return {lines: options.lines, since: options.since, maxFiles}
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
          throw new FileError(
            path,
            `cannot read the log: ${planted ? `${(error as Error).message.replace(/^ELOOP.*/, 'it is a symlink')}, not a log file contain wrote` : (code ?? String(error))}`,
            {fix: planted ? `remove ${path} (something other than contain put it there)` : 'run as a user who may read the app logs (root)', cause: error},
          )
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
