// The cgroup v2 delegation this process holds for its apps (a process-wide fact, not one app's).
import {join} from 'node:path'
import type {CgroupFs} from './fs.js'
import {detectLayout, type CgroupLayout} from './layout.js'

export const DELEGATION_LEAF = 'contain.supervisor'

/**
 * contain's own helpers (contain-init notify, the journal forwarder) are its children and are born
 * in its cgroup: they move with it into the delegation leaf and back, or one that is alive at that
 * moment would fail the app's start ("contain must be the only process") or the leaf's removal.
 */
export function isOwnChild(fs: CgroupFs, pid: string): boolean {
  try {
    // Field 4 of /proc/PID/stat, after the command in parentheses (which may hold spaces).
    const stat = fs.read(`/proc/${pid}/stat`)
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(process.pid)
  } catch {
    return false
  }
}

/** A helper that ended meanwhile is not an error. */
export function moveIfAlive(fs: CgroupFs, dir: string, pid: string): void {
  try {
    fs.write(join(dir, 'cgroup.procs'), pid)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
}

export function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const [passed, failed]: [T[], T[]] = [[], []]
  for (const item of items) (test(item) ? passed : failed).push(item)
  return [passed, failed]
}

export interface ActiveDelegation {
  users: number
  enabled: Set<string>
  leafDir?: string
}

/** This process's delegations, by the cgroup delegated to it. */
export const activeDelegations = new Map<string, ActiveDelegation>()

/**
 * The layout to plan app cgroups in: where this process sits, except that a supervisor that has
 * moved itself into its delegation leaf (contain.supervisor) plans in the delegated cgroup, as it
 * did for its first apps. A changed contain.yml applied later plans its apps beside those.
 */
export function planningLayout(layout: CgroupLayout = detectLayout()): CgroupLayout {
  const delegatedByLeaf = new Map([...activeDelegations].flatMap(([ownDir, active]) => (active.leafDir ? [[active.leafDir, ownDir] as const] : [])))
  if (delegatedByLeaf.size === 0) return layout
  return {...layout, hierarchies: layout.hierarchies.map(hierarchy => ({...hierarchy, ownDir: delegatedByLeaf.get(hierarchy.ownDir) ?? hierarchy.ownDir}))}
}
