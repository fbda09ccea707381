/** The resource limits of one app, in the units the kernel takes. Absent = not limited. */
export interface CgroupLimits {
  /** CPU time per period, from --cpus (quota = cpus × period). */
  cpuQuotaMicros?: number
  cpuPeriodMicros?: number
  /** Relative CPU weight in cgroup v1 shares (2..262144), as Docker's --cpu-shares. */
  cpuShares?: number
  cpusetCpus?: string
  memoryBytes?: number
  /** Memory plus swap, Docker's --memory-swap. */
  memorySwapBytes?: number | 'unlimited'
  /** Soft limit: v2 memory.low, v1 memory.soft_limit_in_bytes. */
  memoryReservationBytes?: number
  pidsMax?: number | 'unlimited'
}

/** One file to write in the app's cgroup of a given controller. */
export interface Setting {
  controller: string
  file: string
  value: string
}

export const setting = (controller: string, file: string, value: number | string): Setting => ({controller, file, value: String(value)})

export type Controller = 'cpu' | 'cpuacct' | 'cpuset' | 'memory' | 'pids'

/** How one cgroup version spells each limit. One function per controller. */
export interface ControllerFiles {
  cpu(limits: CgroupLimits): Setting[]
  cpuset(limits: CgroupLimits, parentMems: string): Setting[]
  memory(limits: CgroupLimits, hasSwapAccounting: boolean): Setting[]
  pids(limits: CgroupLimits): Setting[]
}

/** Controllers whose cgroup contain joins: the ones a limit needs, plus those that report usage. */
export function controllersFor(limits: CgroupLimits): Controller[] {
  const controllers: Controller[] = ['cpu', 'cpuacct', 'memory', 'pids']
  if (limits.cpusetCpus !== undefined) controllers.push('cpuset')
  return controllers
}

/** Docker's default when only --memory is given: as much swap as memory. */
export function swapTotal(limits: CgroupLimits): number | 'unlimited' | undefined {
  if (limits.memorySwapBytes !== undefined) return limits.memorySwapBytes
  return limits.memoryBytes === undefined ? undefined : limits.memoryBytes * 2
}
