import {OptionFieldsError} from '../errors.js'
import {setting, swapTotal, type ControllerFiles, type Setting} from './limits.js'
import {cpuThrottling, memoryReading, readIfThere, readNumber, realLimit, type CgroupReaders} from './readings.js'

/** Limits in cgroup v1 files; the readers below read them back. */
export const v1Files: ControllerFiles = {
  cpu(limits) {
    const settings: Setting[] = []
    if (limits.cpuQuotaMicros !== undefined) {
      settings.push(setting('cpu', 'cpu.cfs_period_us', limits.cpuPeriodMicros ?? 100_000))
      settings.push(setting('cpu', 'cpu.cfs_quota_us', limits.cpuQuotaMicros))
    }
    if (limits.cpuShares !== undefined) settings.push(setting('cpu', 'cpu.shares', limits.cpuShares))
    return settings
  },

  // A v1 cpuset cgroup accepts no task until both cpus and mems are set.
  cpuset(limits, parentMems) {
    if (limits.cpusetCpus === undefined) return []
    return [setting('cpuset', 'cpuset.cpus', limits.cpusetCpus), setting('cpuset', 'cpuset.mems', parentMems)]
  },

  memory(limits, hasSwapAccounting) {
    const settings: Setting[] = []
    if (limits.memoryBytes !== undefined) settings.push(setting('memory', 'memory.limit_in_bytes', limits.memoryBytes))
    const swap = swapTotal(limits)
    if (swap !== undefined && hasSwapAccounting) {
      settings.push(setting('memory', 'memory.memsw.limit_in_bytes', swap === 'unlimited' ? -1 : swap))
    } else if (limits.memorySwapBytes !== undefined && !hasSwapAccounting) {
      throw new OptionFieldsError(['memorySwapBytes'], ([name]) => ({
        problem: 'needs swap accounting (cgroup memory.memsw.limit_in_bytes), which this kernel has off',
        fix: `boot with swapaccount=1, or leave ${name} out`,
      }))
    }
    if (limits.memoryReservationBytes !== undefined) {
      settings.push(setting('memory', 'memory.soft_limit_in_bytes', limits.memoryReservationBytes))
    }
    return settings
  },

  pids(limits) {
    if (limits.pidsMax === undefined) return []
    return [setting('pids', 'pids.max', limits.pidsMax === 'unlimited' ? 'max' : limits.pidsMax)]
  },
}

/** memory.oom_control holds "oom_kill N" since Linux 4.13. */
export function parseOomKills(oomControl: string): number {
  return Number(/^oom_kill (\d+)$/m.exec(oomControl)?.[1] ?? 0)
}

/** What a v1 app cgroup reports, each figure from the hierarchy of its controller. */
export const v1Readers: CgroupReaders = {
  outcome(dir, fs) {
    const oomControl = readIfThere(fs, dir, 'memory.oom_control')
    if (oomControl === undefined) return {oomKills: 0}
    return {
      oomKills: parseOomKills(oomControl),
      peakMemoryBytes: readNumber(fs, dir, 'memory.max_usage_in_bytes'),
      memoryLimitBytes: realLimit(readNumber(fs, dir, 'memory.limit_in_bytes')),
    }
  },

  // cpuacct.usage counts nanoseconds.
  cpuMicros(dir, fs) {
    const usage = readIfThere(fs, dir, 'cpuacct.usage')
    return usage === undefined ? 0 : Math.round(Number(usage) / 1000)
  },

  throttling: cpuThrottling,

  // memory.stat's total_* lines count the cgroup and its children, as v2's figures do.
  memory: (dir, fs) =>
    memoryReading(dir, fs, {usage: 'memory.usage_in_bytes', limit: 'memory.limit_in_bytes', anonField: 'total_rss', fileField: 'total_cache'}),

  pids: (dir, fs) => readNumber(fs, dir, 'pids.current') ?? 0,
  pressure: () => ({}),
  // v1 has no cgroup.kill: the caller signals pid by pid.
  killFile: () => undefined,
}
