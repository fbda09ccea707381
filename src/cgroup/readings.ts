// What contain reads back from an app's cgroup, and the shape of a reader: v1.ts and v2.ts each
// implement it in their own spelling, so nothing tells the versions apart by probing for a file.
import {join} from 'node:path'
import type {CgroupFs} from './fs.js'

/** What the app uses now, from its cgroup, for `contain ps` and `contain stats`. */
export interface CgroupUsage {
  cpuMicros: number
  /** CFS periods and how many of them were throttled by the CPU limit. */
  periods: number
  throttledPeriods: number
  memoryBytes: number
  memoryLimitBytes?: number
  anonBytes?: number
  fileBytes?: number
  pids: number
  /** Share of the last 10 s in which some task waited for CPU / memory (PSI), where the kernel has it. */
  cpuPressure?: number
  memoryPressure?: number
}

/** What the cgroup saw of the app, read before the cgroup is removed. */
export interface CgroupOutcome {
  oomKills: number
  peakMemoryBytes?: number
  memoryLimitBytes?: number
}

/** The app's cgroup in one hierarchy it joins, with that hierarchy's version and the controllers it serves the app there. */
export interface JoinedHierarchy {
  dir: string
  version: 1 | 2
  controllers: string[]
}

/**
 * How one cgroup version reports on an app. Each reader is given the app's directory in the
 * hierarchy that serves what it reads; a file the kernel does not offer (an older kernel, a
 * controller not enabled) reads as nothing, never as an error.
 */
export interface CgroupReaders {
  /** From the memory controller's directory: OOM kills, peak and limit. */
  outcome(dir: string, fs: CgroupFs): CgroupOutcome
  /** CPU time used, in microseconds. */
  cpuMicros(dir: string, fs: CgroupFs): number
  /** CFS periods and throttling, from the cpu controller's directory. */
  throttling(dir: string, fs: CgroupFs): Pick<CgroupUsage, 'periods' | 'throttledPeriods'>
  memory(dir: string, fs: CgroupFs): Pick<CgroupUsage, 'memoryBytes' | 'memoryLimitBytes' | 'anonBytes' | 'fileBytes'>
  pids(dir: string, fs: CgroupFs): number
  /** PSI, where this version has it (v2 only: v1 hierarchies have no pressure files). */
  pressure(dir: string, fs: CgroupFs): Pick<CgroupUsage, 'cpuPressure' | 'memoryPressure'>
  /** The file that kills every process of the cgroup at once, where this version and kernel offer one. */
  killFile(dir: string, fs: CgroupFs): string | undefined
}

/** The text of `dir/file`, or undefined where the kernel does not offer it. */
export function readIfThere(fs: CgroupFs, dir: string, file: string): string | undefined {
  const path = join(dir, file)
  return fs.exists(path) ? fs.read(path) : undefined
}

/** A number file such as memory.peak; "max" (v2's no limit) and a missing file are undefined. */
export function readNumber(fs: CgroupFs, dir: string, file: string): number | undefined {
  const text = readIfThere(fs, dir, file)?.trim()
  return text === undefined || text === 'max' ? undefined : Number(text)
}

/** One "name N" line of a flat keyed file (cpu.stat, memory.stat); 0 where it is missing. */
export function statField(text: string | undefined, name: string): number {
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text ?? '')?.[1] ?? 0)
}

/** v1 reports "no limit" as the largest page-aligned 64-bit value. */
export function realLimit(bytes: number | undefined): number | undefined {
  return bytes !== undefined && Number.isFinite(bytes) && bytes < 2 ** 60 ? bytes : undefined
}

/** CFS periods and throttling: cpu.stat names them alike in both versions. */
export function cpuThrottling(dir: string, fs: CgroupFs): Pick<CgroupUsage, 'periods' | 'throttledPeriods'> {
  const cpuStat = readIfThere(fs, dir, 'cpu.stat')
  return {periods: statField(cpuStat, 'nr_periods'), throttledPeriods: statField(cpuStat, 'nr_throttled')}
}

/** Where one cgroup version keeps the figures of `CgroupReaders.memory`. */
export interface MemoryFiles {
  usage: string
  limit: string
  /** memory.stat's fields for anonymous and page-cache memory. */
  anonField: string
  fileField: string
}

/** Memory in use, its limit, and how much of it is anonymous and page cache. */
export function memoryReading(dir: string, fs: CgroupFs, files: MemoryFiles): ReturnType<CgroupReaders['memory']> {
  const memoryStat = readIfThere(fs, dir, 'memory.stat')
  return {
    memoryBytes: readNumber(fs, dir, files.usage) ?? 0,
    memoryLimitBytes: realLimit(readNumber(fs, dir, files.limit)),
    anonBytes: memoryStat === undefined ? undefined : statField(memoryStat, files.anonField),
    fileBytes: memoryStat === undefined ? undefined : statField(memoryStat, files.fileField),
  }
}
