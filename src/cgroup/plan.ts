// Planning: every directory and file contain will touch for one app, decided before anything is.
import {dirname, join} from 'node:path'
import {v1DeviceWrites, type DeviceRule} from '../devices/rules.js'
import {HostError, OptionFieldsError} from '../errors.js'
import {activeDelegations, DELEGATION_LEAF} from './delegation.js'
import {hostCgroupFs, readList, type CgroupFs} from './fs.js'
import {hierarchyFor, type CgroupLayout, type CgroupMode, type Hierarchy} from './layout.js'
import {controllersFor, type CgroupLimits, type Controller, type ControllerFiles} from './limits.js'
import {appCgroupPath, CONTAIN_CGROUP, type AppCgroupId} from './paths.js'
import type {JoinedHierarchy} from './readings.js'
import {v1Files} from './v1.js'
import {v2Files} from './v2.js'

export interface FileWrite {
  path: string
  value: string
}

/**
 * cgroup v2 forbids processes in a cgroup whose controllers are enabled for children. When
 * contain runs alone in a delegated cgroup (a systemd unit with Delegate=yes), it moves itself
 * into `leafDir` and enables the controllers on `ownDir`; all of it is undone at removal.
 */
export interface Delegation {
  ownDir: string
  leafDir?: string
  enable: string[]
}

/** A filesystem the app's PID 1 mounts, read-only, so the app sees cgroupfs as Docker shows it. */
export interface ViewMount {
  /**
   * 'bind' binds the path in `data` without its submounts, 'rbind' with them; 'device' binds the
   * device node `data` over the existing node `target`, usable (not nodev).
   */
  fsType: 'cgroup' | 'cgroup2' | 'tmpfs' | 'sysfs' | 'bind' | 'rbind' | 'device'
  target: string
  data: string
}

/**
 * A directory between contain's own cgroup and the app's (`contain`, then the project's), shared
 * with other apps: made when missing, never given limits, removed when its last app goes.
 */
export interface ParentCgroup {
  dir: string
  /** v2: controllers its children need, enabled in its cgroup.subtree_control. */
  enable: string[]
  /** v1 cpuset: a new cpuset cgroup has no CPUs or memory nodes; it gets its parent's, as runc does. */
  inheritCpuset: boolean
}

/** Everything contain will do to cgroupfs for one app, decided before anything is touched. */
export interface CgroupPlan {
  mode: CgroupMode
  delegation?: Delegation
  /** Top-down in each hierarchy: the directories above the app's, below contain's own cgroup. */
  parents: ParentCgroup[]
  /** The app's cgroup, one directory per joined hierarchy. */
  dirs: string[]
  /** The same directories with their hierarchy's version and the controllers it serves the app: what the readers need. */
  joined: JoinedHierarchy[]
  writes: FileWrite[]
  /** Every process of the app is listed here (cgroup.procs), one file per hierarchy. */
  procsFiles: string[]
  /**
   * How the launcher joins the app's cgroup before exec, without the kernel's global threadgroup
   * lock: a cgroup.procs write takes it and waits for an RCU grace period (6-16 ms per launch on
   * this host, up to 40 ms in a v2 guest) unless cgroupfs is mounted with `favordynmods`.
   * v1: the launcher writes "0" (itself) to each hierarchy's `tasks`, which moves only the calling
   * thread and needs no such lock; the launcher is single-threaded, so the thread is the process.
   * v2 moves a domain cgroup's processes only through cgroup.procs, so the launcher starts the
   * rest of the chain in a child born inside `cloneInto` (clone3 CLONE_INTO_CGROUP).
   */
  attachFiles: string[]
  cloneInto?: string
  /** In its own cgroup namespace, the app sees these at the host's mount points: its own cgroup as the root. */
  viewMounts: ViewMount[]
  /**
   * The device allow-list where cgroup v2 enforces it: a device program that contain-init `enter`
   * attaches to `cgroup` before the app's first instruction. On v1 the rules are `writes` to the
   * devices controller's files instead. Absent: no restriction (--privileged, or no cgroup).
   */
  deviceProgram?: {cgroup: string; rules: DeviceRule[]}
}

/** The limits each controller enforces: an error names the ones set (config/ says how the user wrote them). */
const CONTROLLER_LIMITS: Record<Controller, (keyof CgroupLimits)[]> = {
  cpu: ['cpuQuotaMicros', 'cpuShares'],
  cpuacct: ['cpuQuotaMicros'],
  cpuset: ['cpusetCpus'],
  memory: ['memoryBytes', 'memorySwapBytes', 'memoryReservationBytes'],
  pids: ['pidsMax'],
}

function filesFor(hierarchy: Hierarchy): ControllerFiles {
  return hierarchy.version === 1 ? v1Files : v2Files
}

function requestedControllers(limits: CgroupLimits): Set<Controller> {
  const wanted = new Set<Controller>()
  if (limits.cpuQuotaMicros !== undefined || limits.cpuShares !== undefined) wanted.add('cpu')
  if (limits.cpusetCpus !== undefined) wanted.add('cpuset')
  if (limits.memoryBytes !== undefined || limits.memorySwapBytes !== undefined || limits.memoryReservationBytes !== undefined) wanted.add('memory')
  if (limits.pidsMax !== undefined) wanted.add('pids')
  return wanted
}

function hasSwapAccounting(hierarchy: Hierarchy, fs: CgroupFs): boolean {
  if (hierarchy.version === 1) return fs.exists(join(hierarchy.ownDir, 'memory.memsw.limit_in_bytes'))
  // The root cgroup has no swap files; below it they exist when the kernel accounts swap.
  return isRootCgroup(hierarchy, fs) || fs.exists(join(hierarchy.ownDir, 'memory.swap.max'))
}

/** Only the host's real root cgroup lacks cgroup.type; a cgroup namespace root (a container) has it. */
function isRootCgroup(hierarchy: Hierarchy, fs: CgroupFs): boolean {
  return !fs.exists(join(hierarchy.ownDir, 'cgroup.type'))
}

function planDelegation(v2: Hierarchy, controllers: string[], fs: CgroupFs): Delegation | undefined {
  const enabled = readList(fs, join(v2.ownDir, 'cgroup.subtree_control'))
  // Controllers this process enabled for its running apps still need a delegation: the new app
  // holds it too, or the last of the others to go would disable them under it.
  const ours = activeDelegations.get(v2.ownDir)?.enabled
  const enable = controllers.filter(controller => !enabled.includes(controller) || ours?.has(controller))
  if (enable.length === 0) return undefined
  // The root cgroup is exempt from the no-internal-processes rule.
  if (isRootCgroup(v2, fs)) return {ownDir: v2.ownDir, enable}
  return {ownDir: v2.ownDir, leafDir: join(v2.ownDir, DELEGATION_LEAF), enable}
}

/**
 * Fresh cgroupfs mounts made inside the app's cgroup namespace show the app's cgroup as the
 * root, so `cat /sys/fs/cgroup/memory.max` (v2) or `.../memory/memory.limit_in_bytes` (v1) inside
 * the app reads its own limit, as in a Docker container.
 */
function viewMounts(layout: CgroupLayout): ViewMount[] {
  const mounts: ViewMount[] = []
  const v1 = layout.hierarchies.filter(hierarchy => hierarchy.version === 1)
  if (v1.length > 0) mounts.push({fsType: 'tmpfs', target: dirname(v1[0].mountPoint), data: 'mode=755'})
  for (const hierarchy of layout.hierarchies) {
    mounts.push(
      hierarchy.version === 1
        ? {fsType: 'cgroup', target: hierarchy.mountPoint, data: hierarchy.controllers.join(',')}
        : {fsType: 'cgroup2', target: hierarchy.mountPoint, data: ''},
    )
  }
  return mounts
}

/**
 * Where the device allow-list is enforced: the v1 devices controller where it is mounted (v1 and
 * hybrid hosts), else a device program on the app's cgroup v2 directory. Without either the kernel
 * cannot refuse a device, and contain refuses to start the app.
 */
function deviceHierarchy(layout: CgroupLayout): Hierarchy {
  const hierarchy = hierarchyFor(layout, 'devices') ?? layout.hierarchies.find(candidate => candidate.version === 2)
  if (hierarchy) return hierarchy
  throw new HostError('the device allow-list needs the cgroup v1 devices controller or cgroup v2, and this host has neither mounted', {
    fix: 'mount the devices controller (mount -t cgroup -o devices cgroup /sys/fs/cgroup/devices), or run with --privileged to give the app every device',
  })
}

/**
 * Decides the app's cgroup: where it goes (below contain's own), and every file to write.
 * `devices` is the app's device allow-list (undefined: no restriction).
 */
export function planCgroup(
  layout: CgroupLayout,
  app: AppCgroupId,
  limits: CgroupLimits,
  fs: CgroupFs = hostCgroupFs,
  devices?: readonly DeviceRule[],
): CgroupPlan {
  const requested = requestedControllers(limits)
  const byHierarchy = new Map<Hierarchy, Controller[]>()
  for (const controller of controllersFor(limits)) {
    const hierarchy = hierarchyFor(layout, controller)
    if (!hierarchy) {
      if (!requested.has(controller)) continue
      const fields = CONTROLLER_LIMITS[controller].filter(field => limits[field] !== undefined)
      throw new OptionFieldsError(fields, names => ({
        problem: `need${names.length === 1 ? 's' : ''} the ${controller} cgroup controller, which is not available to contain here`,
        fix:
          layout.mode === 'v2'
            ? `delegate it to contain's cgroup (systemd: Delegate=yes, or run under systemd-run --scope -p Delegate=yes), or leave ${names.join(' and ')} out`
            : `mount the ${controller} controller, or leave ${names.join(' and ')} out`,
      }))
    }
    byHierarchy.set(hierarchy, [...(byHierarchy.get(hierarchy) ?? []), controller])
  }
  // The devices hierarchy (or, on v2, the app's cgroup) is joined even when no limit needs it.
  const devicesIn = devices === undefined ? undefined : deviceHierarchy(layout)
  if (devicesIn && !byHierarchy.has(devicesIn)) byHierarchy.set(devicesIn, [])

  const plan: CgroupPlan = {mode: layout.mode, parents: [], dirs: [], joined: [], writes: [], procsFiles: [], attachFiles: [], viewMounts: viewMounts(layout)}
  for (const [hierarchy, controllers] of byHierarchy) {
    const dir = appCgroupPath(hierarchy.ownDir, app)
    const files = filesFor(hierarchy)
    if (hierarchy.version === 2) plan.delegation = planDelegation(hierarchy, controllers, fs)
    // v2 passes a controller down only where each parent enables it; v1 gives every cgroup all of its hierarchy's.
    const inheritCpuset = hierarchy.version === 1 && hierarchy.controllers.includes('cpuset')
    for (const parent of [join(hierarchy.ownDir, CONTAIN_CGROUP), dirname(dir)]) {
      plan.parents.push({dir: parent, enable: hierarchy.version === 2 ? controllers : [], inheritCpuset})
    }
    plan.dirs.push(dir)
    plan.joined.push({dir, version: hierarchy.version, controllers})
    plan.procsFiles.push(join(dir, 'cgroup.procs'))
    if (hierarchy.version === 1) plan.attachFiles.push(join(dir, 'tasks'))
    else plan.cloneInto = dir
    for (const controller of controllers) {
      const settings =
        controller === 'cpu'
          ? files.cpu(limits)
          : controller === 'memory'
            ? files.memory(limits, hasSwapAccounting(hierarchy, fs))
            : controller === 'pids'
              ? files.pids(limits)
              : controller === 'cpuset'
                ? files.cpuset(limits, hierarchy.version === 1 ? fs.read(join(hierarchy.ownDir, 'cpuset.mems')).trim() : '')
                : []
      plan.writes.push(...settings.map(setting => ({path: join(dir, setting.file), value: setting.value})))
    }
    if (devices && hierarchy === devicesIn) {
      if (hierarchy.version === 1) plan.writes.push(...v1DeviceWrites(devices).map(write => ({path: join(dir, write.file), value: write.value})))
      else plan.deviceProgram = {cgroup: dir, rules: [...devices]}
    }
  }
  return plan
}
