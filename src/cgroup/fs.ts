// The one seam between contain and cgroupfs, and the small readers and removers every step shares.
import {closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync, writeSync} from 'node:fs'
import {basename, dirname} from 'node:path'
import {CgroupError} from '../errors.js'

/** The one seam between contain and cgroupfs, so unit tests can use a temp dir. */
/** Plain functions (no `this`): tests wrap one by keeping the original and calling it unbound. */
export interface CgroupFs {
  read: (path: string) => string
  write: (path: string, value: string) => void
  /**
   * Each value as one write(2) through one open descriptor (v1's device rules: one rule per
   * write), which saves an open and a close per value. A failed write's error carries `value`.
   */
  writeEach?: (path: string, values: readonly string[]) => void
  mkdir: (path: string) => void
  rmdir: (path: string) => void
  exists: (path: string) => boolean
  /** The names of the cgroups directly below `dir`. */
  children: (dir: string) => string[]
}

export const hostCgroupFs: CgroupFs = {
  read: path => readFileSync(path, 'utf8'),
  write: (path, value) => writeFileSync(path, value),
  writeEach: (path, values) => {
    const fd = openSync(path, 'w')
    try {
      for (const value of values) {
        try {
          writeSync(fd, value)
        } catch (error) {
          throw Object.assign(error as Error, {value})
        }
      }
    } finally {
      closeSync(fd)
    }
  },
  mkdir: path => mkdirSync(path),
  rmdir: path => rmdirSync(path),
  exists: path => existsSync(path),
  children: dir =>
    readdirSync(dir, {withFileTypes: true})
      .filter(entry => entry.isDirectory())
      .map(entry => entry.name),
}

export function readList(fs: CgroupFs, path: string): string[] {
  return fs.exists(path) ? fs.read(path).trim().split(/\s+/).filter(Boolean) : []
}

/** Runs `step`, taking a file or directory that is not there (ENOENT) as done. */
export function ignoreMissing<T>(step: () => T): T | undefined {
  try {
    return step()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    return undefined
  }
}

/** readList of a file whose directory may vanish while it is read (a reaper removing it). */
export function readListIfThere(fs: CgroupFs, path: string): string[] {
  return ignoreMissing(() => readList(fs, path)) ?? []
}

/** rmdir where the kernel's refusal is an answer: a cgroup with processes or children is in use (EBUSY), or gone already. */
export function removeQuietly(dir: string, fs: CgroupFs): void {
  try {
    fs.rmdir(dir)
  } catch (error) {
    if (!['EBUSY', 'ENOTEMPTY', 'ENOENT'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error
  }
}

export function describeWriteError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EINVAL':
      return 'the kernel rejected the value'
    case 'EBUSY':
      return 'the cgroup is busy'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'ENOENT':
      return 'the kernel does not offer this file'
    default:
      return error.message
  }
}

/** A rejected write as the user reads it: the file, the value, and what to do. */
export function writeError(path: string, value: string, error: unknown): CgroupError {
  // A child devices cgroup may allow only what its parent allows.
  const deviceRule = basename(path) === 'devices.allow'
  return new CgroupError(path, `cannot write ${JSON.stringify(value)}: ${describeWriteError(error as NodeJS.ErrnoException)}`, {
    fix: deviceRule
      ? `contain's own devices cgroup (${dirname(dirname(path))}) does not allow this device, so the app cannot be given it: allow it there, leave the --device out, or use --privileged`
      : 'check the value against the kernel documentation for this file, or leave the limit out',
    cause: error,
  })
}
