// An app's log files: their names across rotations, and the one seam through which the root
// supervisor opens them (never through a symlink, a FIFO or a second name of another file).
import {closeSync, constants, fstatSync, ftruncateSync, openSync, renameSync, unlinkSync, writev} from 'node:fs'
import {basename, dirname} from 'node:path'

export const DEFAULT_MAX_SIZE_BYTES = 10 * 2 ** 20
export const DEFAULT_MAX_FILES = 5

/** Newest first: app.log, app.log.1, ... */
export function rotatedPath(file: string, index: number): string {
  return index === 0 ? file : `${file}.${index}`
}

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
