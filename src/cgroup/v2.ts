import {swapTotal, type ControllerFiles, type Setting} from './limits.js'

const setting = (controller: string, file: string, value: number | string): Setting => ({controller, file, value: String(value)})

/** cgroup v1 shares (2..262144) to v2 weight (1..10000), the mapping runc and crun use. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262_142)
}

/** Limits in cgroup v2 files. */
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
