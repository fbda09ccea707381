// The one seam between contain and cgroupfs, and the small readers and removers every step shares.
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, writeFileSync, writeSync} from 'node:fs'

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
