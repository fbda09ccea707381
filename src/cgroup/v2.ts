import {join} from 'node:path'
import {setting, swapTotal, type ControllerFiles, type Setting} from './limits.js'
import {cpuThrottling, memoryReading, readIfThere, readNumber, statField, type CgroupReaders} from './readings.js'

/** cgroup v1 shares (2..262144) to v2 weight (1..10000), the mapping runc and crun use. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262_142)
}

/** Limits in cgroup v2 files; the readers below read them back. */
export const v2Files: ControllerFiles = {
  cpu(limits) {
    const settings: Setting[] = []
    if (limits.cpuQuotaMicros !== undefined) {
      settings.push(setting('cpu', 'cpu.max', `${limits.cpuQuotaMicros} ${limits.cpuPeriodMicros ?? 100_000}`))
    }
    if (limits.cpuShares !== undefined) settings.push(setting('cpu', 'cpu.weight', sharesToWeight(limits.cpuShares)))
    return settings
  },

  cpuset(limits) {
    return limits.cpusetCpus === undefined ? [] : [setting('cpuset', 'cpuset.cpus', limits.cpusetCpus)]
  },

  memory(limits, hasSwapAccounting) {
    const settings: Setting[] = []
    if (limits.memoryBytes !== undefined) {
      settings.push(setting('memory', 'memory.max', limits.memoryBytes))
      // When the limit kills, kill the whole app (PID 1 included), as systemd's OOMPolicy=kill.
      settings.push(setting('memory', 'memory.oom.group', 1))
    }
    const swap = swapTotal(limits)
    if (swap !== undefined && hasSwapAccounting) {
      const swapOnly = swap === 'unlimited' ? 'max' : Math.max(0, swap - (limits.memoryBytes ?? 0))
      settings.push(setting('memory', 'memory.swap.max', swapOnly))
    }
    if (limits.memoryReservationBytes !== undefined) settings.push(setting('memory', 'memory.low', limits.memoryReservationBytes))
    return settings
  },

  pids(limits) {
    if (limits.pidsMax === undefined) return []
    return [setting('pids', 'pids.max', limits.pidsMax === 'unlimited' ? 'max' : limits.pidsMax)]
  },
}

/** memory.events: "oom_kill N" counts kills by this cgroup's limit. */
export function parseMemoryEvents(events: string): {oomKills: number} {
  return {oomKills: Number(/^oom_kill (\d+)$/m.exec(events)?.[1] ?? 0)}
}

/** PSI's "some avg10=" share, as a fraction; undefined where the kernel has no pressure file. */
function pressure(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(/^some avg10=([\d.]+)/m.exec(text)?.[1] ?? 0) / 100
}

/** What a v2 app cgroup reports. cpu.stat, the pressure files and cgroup.kill are core files, there whatever is enabled. */
export const v2Readers: CgroupReaders = {
  outcome(dir, fs) {
    const events = readIfThere(fs, dir, 'memory.events')
    if (events === undefined) return {oomKills: 0}
    // memory.peak came with Linux 5.19.
    return {
      oomKills: parseMemoryEvents(events).oomKills,
      peakMemoryBytes: readNumber(fs, dir, 'memory.peak'),
      memoryLimitBytes: readNumber(fs, dir, 'memory.max'),
    }
  },

  cpuMicros: (dir, fs) => statField(readIfThere(fs, dir, 'cpu.stat'), 'usage_usec'),

  throttling: cpuThrottling,

  memory: (dir, fs) => memoryReading(dir, fs, {usage: 'memory.current', limit: 'memory.max', anonField: 'anon', fileField: 'file'}),

  pids: (dir, fs) => readNumber(fs, dir, 'pids.current') ?? 0,

  pressure(dir, fs) {
    return {cpuPressure: pressure(readIfThere(fs, dir, 'cpu.pressure')), memoryPressure: pressure(readIfThere(fs, dir, 'memory.pressure'))}
  },

  // cgroup.kill came with Linux 5.14.
  killFile(dir, fs) {
    const path = join(dir, 'cgroup.kill')
    return fs.exists(path) ? path : undefined
  },
}
