import {existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, watch, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {v1DeviceWrites, type DeviceRule} from '../devices/rules.js'
import {CgroupError, HostError} from '../errors.js'
import {detectLayout, hierarchyFor, type CgroupLayout, type CgroupMode, type Hierarchy} from './layout.js'
import {controllersFor, type CgroupLimits, type Controller, type ControllerFiles} from './limits.js'
import {parseOomKills, v1Files} from './v1.js'
import {parseMemoryEvents, v2Files} from './v2.js'

/** Not node:timers/promises: one module fewer for contain run to load. */
const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms))

export type {CgroupLimits} from './limits.js'
export {detectLayout, type CgroupLayout, type CgroupMode} from './layout.js'

/** The one seam between contain and cgroupfs, so unit tests can use a temp dir. */
export interface CgroupFs {
  read(path: string): string
  write(path: string, value: string): void
  mkdir(path: string): void
  rmdir(path: string): void
  exists(path: string): boolean
}

export const hostCgroupFs: CgroupFs = {
  read: path => readFileSync(path, 'utf8'),
  write: (path, value) => writeFileSync(path, value),
  mkdir: path => mkdirSync(path),
  rmdir: path => rmdirSync(path),
  exists: path => existsSync(path),
}

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

/** Which app a cgroup is for: its project's scope (see appCgroupPath) and its name. */
export interface AppCgroupId {
  scope: string
  name: string
}

/** Everything contain will do to cgroupfs for one app, decided before anything is touched. */
export interface CgroupPlan {
  mode: CgroupMode
  delegation?: Delegation
  /** Top-down in each hierarchy: the directories above the app's, below contain's own cgroup. */
  parents: ParentCgroup[]
  /** The app's cgroup, one directory per joined hierarchy. */
  dirs: string[]
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

const DELEGATION_LEAF = 'contain.supervisor'
/** How often the parents are made again when another project removes one under us (see makeTree). */
const PARENT_RACE_ATTEMPTS = 20

/** A parent was removed by another project's last app while this one was being made: try again. */
class ParentVanished extends Error {
  readonly reported: CgroupError
  constructor(dir: string, cause: unknown) {
    super(`${dir} vanished`)
    this.reported = new CgroupError(dir, 'keeps being removed while contain creates app cgroups below it', {fix: 'check that no other program removes cgroups below contain\'s own', cause})
  }
}
const LIMIT_FLAGS: Record<Controller, string> = {
  cpu: '--cpus/--cpu-shares',
  cpuacct: '--cpus',
  cpuset: '--cpuset-cpus',
  memory: '--memory',
  pids: '--pids-limit',
}

function filesFor(hierarchy: Hierarchy): ControllerFiles {
  return hierarchy.version === 1 ? v1Files : v2Files
}

/**
 * Every app cgroup is below one `contain` directory in contain's own cgroup, as systemd nests
 * slices: `<own>/contain/<scope>/<app>`. A project's scope is its key (`<name>-<hash>`, see
 * projectKey), so two projects with an app named web never meet. `contain run` has no project:
 * its apps share the scope `run`, where `--name` is what tells them apart, as it always was;
 * no project key can be `run` (a key always ends in -<hash>).
 */
export const CONTAIN_CGROUP = 'contain'
export const RUN_SCOPE = 'run'

/** The one place an app's cgroup path is computed, in the hierarchy whose own cgroup is `ownDir`. */
export function appCgroupPath(ownDir: string, app: AppCgroupId): string {
  return join(scopeCgroupPath(ownDir, app.scope), app.name)
}

/** The directory of one project's (or `contain run`'s) apps in the hierarchy whose own cgroup is `ownDir`. */
export function scopeCgroupPath(ownDir: string, scope: string): string {
  return join(ownDir, CONTAIN_CGROUP, scope)
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

function readList(fs: CgroupFs, path: string): string[] {
  return fs.exists(path) ? fs.read(path).trim().split(/\s+/).filter(Boolean) : []
}

/** Runs `step`, taking a file or directory that is not there (ENOENT) as done. */
function ignoreMissing<T>(step: () => T): T | undefined {
  try {
    return step()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    return undefined
  }
}

/** readList of a file whose directory may vanish while it is read (a reaper removing it). */
function readListIfThere(fs: CgroupFs, path: string): string[] {
  return ignoreMissing(() => readList(fs, path)) ?? []
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
    mounts.push(hierarchy.version === 1
      ? {fsType: 'cgroup', target: hierarchy.mountPoint, data: hierarchy.controllers.join(',')}
      : {fsType: 'cgroup2', target: hierarchy.mountPoint, data: ''})
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
export function planCgroup(layout: CgroupLayout, app: AppCgroupId, limits: CgroupLimits, fs: CgroupFs = hostCgroupFs, devices?: readonly DeviceRule[]): CgroupPlan {
  const requested = requestedControllers(limits)
  const byHierarchy = new Map<Hierarchy, Controller[]>()
  for (const controller of controllersFor(limits)) {
    const hierarchy = hierarchyFor(layout, controller)
    if (!hierarchy) {
      if (!requested.has(controller)) continue
      throw new HostError(`${LIMIT_FLAGS[controller]} needs the ${controller} cgroup controller, which is not available to contain here`, {
        fix: layout.mode === 'v2'
          ? `delegate it to contain's cgroup (systemd: Delegate=yes, or run under systemd-run --scope -p Delegate=yes), or leave ${LIMIT_FLAGS[controller]} out`
          : `mount the ${controller} controller, or leave ${LIMIT_FLAGS[controller]} out`,
      })
    }
    byHierarchy.set(hierarchy, [...(byHierarchy.get(hierarchy) ?? []), controller])
  }
  // The devices hierarchy (or, on v2, the app's cgroup) is joined even when no limit needs it.
  const devicesIn = devices === undefined ? undefined : deviceHierarchy(layout)
  if (devicesIn && !byHierarchy.has(devicesIn)) byHierarchy.set(devicesIn, [])

  const plan: CgroupPlan = {mode: layout.mode, parents: [], dirs: [], writes: [], procsFiles: [], attachFiles: [], viewMounts: viewMounts(layout)}
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
    plan.procsFiles.push(join(dir, 'cgroup.procs'))
    if (hierarchy.version === 1) plan.attachFiles.push(join(dir, 'tasks'))
    else plan.cloneInto = dir
    for (const controller of controllers) {
      const settings =
        controller === 'cpu' ? files.cpu(limits)
        : controller === 'memory' ? files.memory(limits, hasSwapAccounting(hierarchy, fs))
        : controller === 'pids' ? files.pids(limits)
        : controller === 'cpuset' ? files.cpuset(limits, hierarchy.version === 1 ? fs.read(join(hierarchy.ownDir, 'cpuset.mems')).trim() : '')
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

/**
 * Removes what a killed contain left of one scope (a project's apps): its app cgroups, the scope
 * and `contain` itself, and the delegation leaf beside it. Only empty ones, so a live app is never
 * touched. `scopeDirs` are the scope's directories, one per hierarchy (scopeCgroupPath).
 * False while some of it is still in use (its apps are still dying).
 */
export function removeStaleScope(scopeDirs: readonly string[], fs: CgroupFs = hostCgroupFs): boolean {
  let removed = true
  for (const scopeDir of scopeDirs) {
    const containDir = dirname(scopeDir)
    if (basename(containDir) !== CONTAIN_CGROUP || !fs.exists(scopeDir)) continue
    for (const app of listChildren(scopeDir)) {
      // A supervised app's instances are below it (see instance.ts): they go first.
      for (const instance of listChildren(join(scopeDir, app))) removeIfUnused(join(scopeDir, app, instance), fs)
      removeIfUnused(join(scopeDir, app), fs)
    }
    removeIfUnused(scopeDir, fs)
    removeIfUnused(containDir, fs)
    removeIfUnused(join(dirname(containDir), DELEGATION_LEAF), fs)
    removed &&= !fs.exists(scopeDir)
  }
  return removed
}

/** Sub-directories of a cgroup: its child cgroups. */
function listChildren(dir: string): string[] {
  try {
    return readdirSync(dir, {withFileTypes: true}).filter(entry => entry.isDirectory()).map(entry => entry.name)
  } catch {
    return []
  }
}

/** rmdir of a cgroup left by a killed contain, if nothing runs in it: a live app is never touched. */
function removeIfUnused(dir: string, fs: CgroupFs): void {
  if (!fs.exists(dir) || readListIfThere(fs, join(dir, 'cgroup.procs')).length > 0) return
  removeQuietly(dir, fs)
}

/** rmdir where the kernel's refusal is an answer: a cgroup with processes or children is in use (EBUSY), or gone already. */
function removeQuietly(dir: string, fs: CgroupFs): void {
  try {
    fs.rmdir(dir)
  } catch (error) {
    if (!['EBUSY', 'ENOTEMPTY', 'ENOENT'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error
  }
}

function describeWriteError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EINVAL': return 'the kernel rejected the value'
    case 'EBUSY': return 'the cgroup is busy'
    case 'EACCES':
    case 'EPERM': return 'permission denied'
    case 'ENOENT': return 'the kernel does not offer this file'
    default: return error.message
  }
}

/**
 * contain's own helpers (contain-init notify, the journal forwarder) are its children and are born
 * in its cgroup: they move with it into the delegation leaf and back, or one that is alive at that
 * moment would fail the app's start ("contain must be the only process") or the leaf's removal.
 */
function isOwnChild(fs: CgroupFs, pid: string): boolean {
  try {
    // Field 4 of /proc/PID/stat, after the command in parentheses (which may hold spaces).
    const stat = fs.read(`/proc/${pid}/stat`)
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(process.pid)
  } catch {
    return false
  }
}

/** A helper that ended meanwhile is not an error. */
function moveIfAlive(fs: CgroupFs, dir: string, pid: string): void {
  try {
    fs.write(join(dir, 'cgroup.procs'), pid)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const [passed, failed]: [T[], T[]] = [[], []]
  for (const item of items) (test(item) ? passed : failed).push(item)
  return [passed, failed]
}

interface ActiveDelegation {
  users: number
  enabled: Set<string>
  leafDir?: string
}

/** This process's delegations, by the cgroup delegated to it. */
const activeDelegations = new Map<string, ActiveDelegation>()

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

/** A created app cgroup. Every step that changed the host is undone by remove(). */
export class AppCgroup {
  private readonly undo: Array<() => void> = []
  /**
   * The pid of the reaper (contain-init enter --reap) that the first run into this cgroup left
   * waiting for contain's process to end: it removes the cgroup if contain dies without doing so.
   */
  reaper?: number

  private constructor(readonly plan: CgroupPlan, private readonly fs: CgroupFs) {}

  private isMade = false

  /** Creates the cgroup and writes its limits; on any failure removes what it made and throws. */
  static create(plan: CgroupPlan, fs: CgroupFs = hostCgroupFs): AppCgroup {
    const cgroup = AppCgroup.prepare(plan, fs)
    cgroup.make()
    return cgroup
  }

  /**
   * The app's cgroup, not made yet: startApp makes it (make()) once the launcher's reaper is
   * there, so that no moment is left in which a killed contain leaves a directory behind.
   */
  static prepare(plan: CgroupPlan, fs: CgroupFs = hostCgroupFs): AppCgroup {
    return new AppCgroup(plan, fs)
  }

  /** Whether make() has made the cgroup (and remove() has not removed it). */
  get made(): boolean {
    return this.isMade
  }

  /** Makes the cgroup and writes its limits; on any failure removes what it made and throws. */
  make(): void {
    try {
      if (this.plan.delegation) this.delegate(this.plan.delegation)
      this.makeTree()
      for (const {path, value} of this.plan.writes) this.write(path, value)
    } catch (error) {
      this.undoAll()
      throw error
    }
    this.isMade = true
  }

  private write(path: string, value: string): void {
    try {
      this.fs.write(path, value)
    } catch (error) {
      // A child devices cgroup may allow only what its parent allows.
      const deviceRule = basename(path) === 'devices.allow'
      throw new CgroupError(path, `cannot write ${JSON.stringify(value)}: ${describeWriteError(error as NodeJS.ErrnoException)}`, {
        fix: deviceRule
          ? `contain's own devices cgroup (${dirname(dirname(path))}) does not allow this device, so the app cannot be given it: allow it there, leave the --device out, or use --privileged`
          : 'check the value against the kernel documentation for this file, or leave the limit out',
        cause: error,
      })
    }
  }

  /**
   * The delegation belongs to contain's process, not to one app: the first app moves contain
   * into the leaf and enables controllers, later apps only add controllers, and the last app's
   * removal undoes it all.
   */
  private delegate({ownDir, leafDir, enable}: Delegation): void {
    let active = activeDelegations.get(ownDir)
    if (!active) {
      if (leafDir) {
        const [helpers, others] = partition(readList(this.fs, join(ownDir, 'cgroup.procs')).filter(pid => pid !== String(process.pid)), pid => isOwnChild(this.fs, pid))
        if (others.length > 0) {
          throw new CgroupError(ownDir, `contain must be the only process in its cgroup to create app cgroups below it (also there: ${others.slice(0, 5).join(', ')})`, {
            fix: 'run contain from a unit with Delegate=yes, or as: systemd-run --scope -p Delegate=yes contain ... (in a unit, run contain up in the foreground: up -d leaves the CLI beside its supervisor until the apps have started)',
          })
        }
        this.makeDir(leafDir)
        this.undo.pop() // the leaf is removed with the delegation, not with this app
        this.write(join(leafDir, 'cgroup.procs'), String(process.pid))
        for (const pid of helpers) moveIfAlive(this.fs, leafDir, pid)
      }
      active = {users: 0, enabled: new Set(), leafDir}
      activeDelegations.set(ownDir, active)
    }
    const missing = enable.filter(controller => !active.enabled.has(controller))
    if (missing.length > 0) {
      this.write(join(ownDir, 'cgroup.subtree_control'), missing.map(controller => `+${controller}`).join(' '))
      for (const controller of missing) active.enabled.add(controller)
    }
    active.users++
    this.undo.push(() => this.releaseDelegation(ownDir))
  }

  private releaseDelegation(ownDir: string): void {
    const active = activeDelegations.get(ownDir)
    if (!active || --active.users > 0) return
    // Another contain's apps (the root cgroup holds many contains) still need the controllers:
    // disabling them would fail (EBUSY), and the delegation stays as it is for them.
    if (this.fs.exists(join(ownDir, CONTAIN_CGROUP))) return
    activeDelegations.delete(ownDir)
    if (active.enabled.size > 0) this.fs.write(join(ownDir, 'cgroup.subtree_control'), [...active.enabled].map(controller => `-${controller}`).join(' '))
    if (active.leafDir) {
      this.fs.write(join(ownDir, 'cgroup.procs'), String(process.pid))
      for (const pid of readList(this.fs, join(active.leafDir, 'cgroup.procs'))) if (isOwnChild(this.fs, pid)) moveIfAlive(this.fs, ownDir, pid)
      this.fs.rmdir(active.leafDir)
    }
  }

  /**
   * The parents, then the app's own directories. Another project's last app may remove a shared
   * parent between our mkdir and the next one (ENOENT): what this attempt made is undone and the
   * whole chain is made again, a few times, before that counts as a failure.
   */
  private makeTree(): void {
    this.undo.push(() => this.removeParents())
    for (let attempt = 1; ; attempt++) {
      const mark = this.undo.length
      try {
        for (const parent of this.plan.parents) this.makeParent(parent)
        for (const dir of this.plan.dirs) this.makeDir(dir)
        return
      } catch (error) {
        if (!(error instanceof ParentVanished) || attempt >= PARENT_RACE_ATTEMPTS) throw error instanceof ParentVanished ? error.reported : error
        for (const step of this.undo.splice(mark).reverse()) step()
      }
    }
  }

  /** A shared parent: made if missing; controllers enabled (v2) or CPUs and memory nodes given (v1 cpuset). */
  private makeParent({dir, enable, inheritCpuset}: ParentCgroup): void {
    let created = true
    try {
      this.fs.mkdir(dir)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') throw new ParentVanished(dirname(dir), error)
      if (code !== 'EEXIST') throw new CgroupError(dir, `cannot create: ${describeWriteError(error as NodeJS.ErrnoException)}`, {fix: 'run contain as root, or in a cgroup delegated to you', cause: error})
      created = false
    }
    try {
      // Copied where we made it, or where its maker has not got that far yet (empty): never over a value someone set.
      if (inheritCpuset) {
        for (const file of ['cpuset.cpus', 'cpuset.mems']) {
          if (created || this.fs.read(join(dir, file)).trim() === '') this.write(join(dir, file), this.fs.read(join(dirname(dir), file)).trim())
        }
      }
      if (enable.length > 0) this.write(join(dir, 'cgroup.subtree_control'), enable.map(controller => `+${controller}`).join(' '))
    } catch (error) {
      if (!this.fs.exists(dir)) throw new ParentVanished(dir, error)
      throw error
    }
  }

  private makeDir(dir: string): void {
    try {
      this.fs.mkdir(dir)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') throw new ParentVanished(dirname(dir), error)
      if (code !== 'EEXIST') {
        throw new CgroupError(dir, `cannot create: ${describeWriteError(error as NodeJS.ErrnoException)}`, {fix: 'run contain as root, or in a cgroup delegated to you', cause: error})
      }
      // Left by a contain that was killed: empty, so nobody uses it. Anything else is a live app.
      // The killed contain's reaper may be removing it at this very moment: gone is fine.
      if (readListIfThere(this.fs, join(dir, 'cgroup.procs')).length > 0) {
        throw new CgroupError(dir, `an app named ${JSON.stringify(basename(dir))} is already running${basename(dirname(dir)) === RUN_SCOPE ? '' : ` in project ${basename(dirname(dir)).replace(/-[0-9a-f]{8}$/, '')}`}`, {fix: basename(dirname(dir)) === RUN_SCOPE ? 'choose another --name, or stop that app first' : 'see contain ps; stop that app first'})
      }
      ignoreMissing(() => this.fs.rmdir(dir))
      this.fs.mkdir(dir)
    }
    this.undo.push(() => this.fs.rmdir(dir))
  }

  /** Bottom-up: a parent another app still uses is busy (EBUSY), or gone already; both are fine. */
  private removeParents(): void {
    for (const {dir} of [...this.plan.parents].reverse()) removeQuietly(dir, this.fs)
  }

  private undoAll(): void {
    for (const step of this.undo.splice(0).reverse()) {
      try {
        step()
      } catch {
        // Best effort on the failure path: the first error is the one worth reporting.
      }
    }
  }

  private memory: {dir: string; version: 1 | 2} | undefined | null = null

  /** Looked up once: outcome() runs before and after every run of the app. */
  private memoryDir(): {dir: string; version: 1 | 2} | undefined {
    if (this.memory !== null) return this.memory
    this.memory = undefined
    for (const dir of this.plan.dirs) {
      if (this.fs.exists(join(dir, 'memory.events'))) return (this.memory = {dir, version: 2})
      if (this.fs.exists(join(dir, 'memory.oom_control'))) return (this.memory = {dir, version: 1})
    }
    return undefined
  }

  /** OOM kills and peak memory, as the kernel counted them. */
  outcome(): CgroupOutcome {
    const memory = this.memoryDir()
    if (!memory) return {oomKills: 0}
    const readNumber = (file: string): number | undefined => {
      const path = join(memory.dir, file)
      if (!this.fs.exists(path)) return undefined
      const text = this.fs.read(path).trim()
      return text === 'max' ? undefined : Number(text)
    }
    if (memory.version === 2) {
      return {
        oomKills: parseMemoryEvents(this.fs.read(join(memory.dir, 'memory.events'))).oomKills,
        peakMemoryBytes: readNumber('memory.peak'),
        memoryLimitBytes: readNumber('memory.max'),
      }
    }
    const limit = readNumber('memory.limit_in_bytes')
    return {
      oomKills: parseOomKills(this.fs.read(join(memory.dir, 'memory.oom_control'))),
      peakMemoryBytes: readNumber('memory.max_usage_in_bytes'),
      // v1 reports "no limit" as the largest page-aligned 64-bit value.
      memoryLimitBytes: limit !== undefined && limit < 2 ** 60 ? limit : undefined,
    }
  }

  private readFirst(files: string[]): string | undefined {
    for (const file of files) {
      for (const dir of this.plan.dirs) {
        const path = join(dir, file)
        if (this.fs.exists(path)) return this.fs.read(path)
      }
    }
    return undefined
  }

  /**
   * Resolves once the reaper has seen the cgroup removed and ended (or after `timeoutMs`): a
   * supervisor that runs on leaves no reaper of a removed cgroup behind. Only waits: a pid is
   * never signalled on the strength of an old number.
   */
  async reaperEnded(timeoutMs = 1000): Promise<void> {
    const pid = this.reaper
    if (pid === undefined) return
    const deadline = Date.now() + timeoutMs
    const running = () => {
      try {
        return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
      } catch {
        return false
      }
    }
    while (running() && Date.now() < deadline) await sleep(5)
    this.reaper = undefined
  }

  /** Current usage. v1 and v2 spell each figure differently; the first file that exists wins. */
  usage(): CgroupUsage {
    const field = (text: string | undefined, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text ?? '')?.[1] ?? 0)
    const cpuStat = this.readFirst(['cpu.stat'])
    const memoryStat = this.readFirst(['memory.stat'])
    const v2 = memoryStat?.includes('\nanon ') || memoryStat?.startsWith('anon ')
    const cpuAcct = this.readFirst(['cpuacct.usage'])
    const limit = Number(this.readFirst(['memory.max', 'memory.limit_in_bytes'])?.trim() ?? Number.NaN)
    const pressure = (file: string) => {
      const text = this.readFirst([file])
      return text === undefined ? undefined : Number(/^some avg10=([\d.]+)/m.exec(text)?.[1] ?? 0) / 100
    }
    return {
      cpuMicros: cpuAcct === undefined ? field(cpuStat, 'usage_usec') : Math.round(Number(cpuAcct) / 1000),
      periods: field(cpuStat, 'nr_periods'),
      throttledPeriods: field(cpuStat, 'nr_throttled'),
      memoryBytes: Number(this.readFirst(['memory.current', 'memory.usage_in_bytes'])?.trim() ?? 0),
      memoryLimitBytes: Number.isFinite(limit) && limit < 2 ** 60 ? limit : undefined,
      anonBytes: memoryStat === undefined ? undefined : field(memoryStat, v2 ? 'anon' : 'total_rss'),
      fileBytes: memoryStat === undefined ? undefined : field(memoryStat, v2 ? 'file' : 'total_cache'),
      pids: Number(this.readFirst(['pids.current'])?.trim() ?? 0),
      cpuPressure: pressure('cpu.pressure'),
      memoryPressure: pressure('memory.pressure'),
    }
  }

  /** Pids of every process in the app's cgroup. */
  pids(): number[] {
    const pids = new Set<number>()
    for (const file of this.plan.procsFiles) for (const pid of readList(this.fs, file)) pids.add(Number(pid))
    return [...pids]
  }

  /** SIGKILLs everything left in the cgroup: cgroup.kill on v2, pid by pid on v1. */
  killAll(): void {
    const killFile = this.plan.dirs.map(dir => join(dir, 'cgroup.kill')).find(path => this.fs.exists(path))
    if (killFile) {
      this.fs.write(killFile, '1')
      return
    }
    for (const pid of this.pids()) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
  }

  /** Kills what is left, waits for the cgroup to empty, removes it and undoes the delegation. */
  async remove(timeoutMs = 5000): Promise<void> {
    if (!this.isMade) return

    const deadline = Date.now() + timeoutMs
    // Usually the app has ended and the cgroup is empty already: nothing to kill or wait for.
    if (this.pids().length > 0) {
      this.killAll()
      for (const dir of this.plan.dirs) await this.waitUntilEmpty(dir, deadline)
    }
    const steps = this.undo.splice(0).reverse()
    for (const [index, step] of steps.entries()) {
      try {
        step()
      } catch (error) {
        this.undo.push(...steps.slice(index).reverse())
        throw new CgroupError(this.plan.dirs[0] ?? '', `cannot remove: ${(error as Error).message}`, {fix: 'remove the directory by hand once its processes have exited', cause: error})
      }
    }
    this.isMade = false
  }

  /** The kernel frees a cgroup shortly after its last process is reaped; v2 announces it in cgroup.events. */
  private async waitUntilEmpty(dir: string, deadline: number): Promise<void> {
    const events = join(dir, 'cgroup.events')
    while (readList(this.fs, join(dir, 'cgroup.procs')).length > 0) {
      if (Date.now() > deadline) throw new CgroupError(dir, 'processes are still running in it', {fix: `kill them: cat ${join(dir, 'cgroup.procs')}`})
      if (this.fs.exists(events)) await waitForChange(events, deadline - Date.now())
      else await sleep(2)
    }
  }
}

function waitForChange(path: string, timeoutMs: number): Promise<void> {
  return new Promise(resolve => {
    const watcher = watch(path, () => finish())
    const timer = setTimeout(finish, Math.min(timeoutMs, 100))
    function finish() {
      clearTimeout(timer)
      watcher.close()
      resolve()
    }
  })
}
