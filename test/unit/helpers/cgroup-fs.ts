import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'
import type {CgroupFs} from '../../../src/cgroup/index.js'

/** One call the code under test made on the cgroup seam, in order. */
export type FsCall = {op: 'write'; path: string; value: string} | {op: 'mkdir' | 'rmdir'; path: string}

export interface RecordingCgroupFs extends CgroupFs {
  calls: FsCall[]
  /** The values written to one path, oldest first. */
  writesTo(path: string): string[]
}

/**
 * A CgroupFs over a plain temp dir. Temp dirs hold regular files, so rmdir removes them with the directory
 * (cgroupfs directories look empty to rmdir even though they list control files), but not child directories.
 * `failWrite` lets a test make the kernel reject one file.
 */
export function tempCgroupFs(failWrite?: (path: string, value: string) => NodeJS.ErrnoException | undefined): RecordingCgroupFs {
  const calls: FsCall[] = []
  return {
    calls,
    writesTo: path => calls.flatMap(call => (call.op === 'write' && call.path === path ? [call.value] : [])),
    read: path => readFileSync(path, 'utf8'),
    write(path, value) {
      const failure = failWrite?.(path, value)
      if (failure) throw failure
      calls.push({op: 'write', path, value})
      writeFileSync(path, value)
    },
    mkdir(path) {
      mkdirSync(path)
      calls.push({op: 'mkdir', path})
    },
    rmdir(path) {
      // cgroupfs refuses to remove a cgroup that has child cgroups, as the kernel does.
      if (readdirSync(path, {withFileTypes: true}).some(entry => entry.isDirectory()))
        throw Object.assign(new Error(`EBUSY: rmdir ${path}`), {code: 'EBUSY', path})
      rmSync(path, {recursive: true})
      calls.push({op: 'rmdir', path})
    },
    exists: path => existsSync(path),
    children: dir =>
      readdirSync(dir, {withFileTypes: true})
        .filter(entry => entry.isDirectory())
        .map(entry => entry.name),
  }
}

/** Writes `files` (path -> content) below nothing in particular: paths are absolute. */
export function writeFiles(files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(path), {recursive: true})
    writeFileSync(path, content)
  }
}
