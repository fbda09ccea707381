// One created app cgroup: made from its plan, read while the app runs, removed with everything it changed.
import {readFileSync, watch} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {CgroupError} from '../errors.js'
import {activeDelegations, isOwnChild, moveIfAlive, partition} from './delegation.js'
import {describeWriteError, hostCgroupFs, writeError, ignoreMissing, readList, readListIfThere, removeQuietly, type CgroupFs} from './fs.js'
import {CONTAIN_CGROUP, RUN_SCOPE} from './paths.js'
import type {CgroupPlan, Delegation, FileWrite, ParentCgroup} from './plan.js'
import {passMemoryProtection} from './protection.js'
import type {CgroupOutcome, CgroupReaders, CgroupUsage, JoinedHierarchy} from './readings.js'
import {v1Readers} from './v1.js'
import {v2Readers} from './v2.js'

/** Not node:timers/promises: one module fewer for contain run to load. */
const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms))

/** How often the parents are made again when another project removes one under us (see makeTree). */
const PARENT_RACE_ATTEMPTS = 20

export type {CgroupOutcome, CgroupUsage} from './readings.js'

function readersOf(hierarchy: JoinedHierarchy): CgroupReaders {
  return hierarchy.version === 1 ? v1Readers : v2Readers
}

/** A parent was removed by another project's last app while this one was being made: try again. */
class ParentVanished extends Error {
  readonly reported: CgroupError
  constructor(dir: string, cause: unknown) {
    super(`${dir} vanished`)
    this.reported = new CgroupError(dir, 'keeps being removed while contain creates app cgroups below it', {
      fix: "check that no other program removes cgroups below contain's own",
      cause,
    })
  }
}

/** A created app cgroup. Every step that changed the host is undone by remove(). */
export class AppCgroup {
  private readonly undo: Array<() => void> = []
  /**
   * The pid of the reaper (contain-init enter --reap) that the first run into this cgroup left
   * waiting for contain's process to end: it removes the cgroup if contain dies without doing so.
   */
  reaper?: number

  private constructor(
    readonly plan: CgroupPlan,
    private readonly fs: CgroupFs,
  ) {}

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
      for (const [path, values] of consecutiveByPath(this.plan.writes)) this.writeValues(path, values)
      if (this.reservesMemory) passMemoryProtection(this.plan.parents, this.fs)
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
      throw writeError(path, value, error)
    }
  }

  private writeValues(path: string, values: string[]): void {
    if (values.length === 1 || !this.fs.writeEach) {
      for (const value of values) this.write(path, value)
      return
    }
    try {
      this.fs.writeEach(path, values)
    } catch (error) {
      throw writeError(path, (error as {value?: string}).value ?? values[0], error)
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
        const [helpers, others] = partition(
          readList(this.fs, join(ownDir, 'cgroup.procs')).filter(pid => pid !== String(process.pid)),
          pid => isOwnChild(this.fs, pid),
        )
        if (others.length > 0) {
          throw new CgroupError(
            ownDir,
            `contain must be the only process in its cgroup to create app cgroups below it (also there: ${others.slice(0, 5).join(', ')})`,
            {
              fix: 'run contain from a unit with Delegate=yes, or as: systemd-run --scope -p Delegate=yes contain ... (in a unit, run contain up in the foreground: up -d leaves the CLI beside its supervisor until the apps have started)',
            },
          )
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
    // Undone after the app's own directories are gone: the parents then pass on what is left.
    if (this.reservesMemory) this.undo.push(() => passMemoryProtection(this.plan.parents, this.fs))
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
      if (code !== 'EEXIST')
        throw new CgroupError(dir, `cannot create: ${describeWriteError(error as NodeJS.ErrnoException)}`, {
          fix: 'run contain as root, or in a cgroup delegated to you',
          cause: error,
        })
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
        throw new CgroupError(dir, `cannot create: ${describeWriteError(error as NodeJS.ErrnoException)}`, {
          fix: 'run contain as root, or in a cgroup delegated to you',
          cause: error,
        })
      }
      // Left by a contain that was killed: empty, so nobody uses it. Anything else is a live app.
      // The killed contain's reaper may be removing it at this very moment: gone is fine.
      if (readListIfThere(this.fs, join(dir, 'cgroup.procs')).length > 0) {
        throw new CgroupError(
          dir,
          `an app named ${JSON.stringify(basename(dir))} is already running${basename(dirname(dir)) === RUN_SCOPE ? '' : ` in project ${basename(dirname(dir)).replace(/-[0-9a-f]{8}$/, '')}`}`,
          {fix: basename(dirname(dir)) === RUN_SCOPE ? 'choose another --name, or stop that app first' : 'see contain ps; stop that app first'},
        )
      }
      ignoreMissing(() => this.fs.rmdir(dir))
      this.fs.mkdir(dir)
    }
    this.undo.push(() => this.fs.rmdir(dir))
  }

  /** Whether the app reserves memory where cgroup v2 protects it (memory.low: mem_reservation). */
  private get reservesMemory(): boolean {
    return this.plan.writes.some(write => basename(write.path) === 'memory.low')
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

  /** The readers of the hierarchy that serves `controller`; on v2 the one hierarchy, whose core files (cpu.stat, pressure) are there whatever is enabled. */
  private served(controller: string): {dir: string; readers: CgroupReaders} | undefined {
    const joined = this.plan.joined.find(hierarchy => hierarchy.controllers.includes(controller)) ?? this.plan.joined.find(hierarchy => hierarchy.version === 2)
    return joined && {dir: joined.dir, readers: readersOf(joined)}
  }

  /** OOM kills and peak memory, as the kernel counted them. */
  outcome(): CgroupOutcome {
    const memory = this.plan.joined.find(hierarchy => hierarchy.controllers.includes('memory'))
    return memory ? readersOf(memory).outcome(memory.dir, this.fs) : {oomKills: 0}
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

  /** Current usage, each figure from the hierarchy of its controller, in that version's spelling. */
  usage(): CgroupUsage {
    const cpu = this.served('cpu')
    const cpuTime = this.served('cpuacct')
    const memory = this.plan.joined.find(hierarchy => hierarchy.controllers.includes('memory'))
    const pids = this.served('pids')
    const v2 = this.plan.joined.find(hierarchy => hierarchy.version === 2)
    return {
      cpuMicros: cpuTime ? cpuTime.readers.cpuMicros(cpuTime.dir, this.fs) : 0,
      ...(cpu ? cpu.readers.throttling(cpu.dir, this.fs) : {periods: 0, throttledPeriods: 0}),
      ...(memory ? readersOf(memory).memory(memory.dir, this.fs) : {memoryBytes: 0, memoryLimitBytes: undefined, anonBytes: undefined, fileBytes: undefined}),
      pids: pids ? pids.readers.pids(pids.dir, this.fs) : 0,
      ...(v2 ? v2Readers.pressure(v2.dir, this.fs) : {cpuPressure: undefined, memoryPressure: undefined}),
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
    const killFile = this.plan.joined.map(hierarchy => readersOf(hierarchy).killFile(hierarchy.dir, this.fs)).find(path => path !== undefined)
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
    // Usually the app has ended and the cgroup is empty already: its directories go at the first
    // attempt, without reading every cgroup.procs first. One still busy (EBUSY: processes left in
    // it) is emptied, killing what is left, and the rest is tried again.
    if (!this.undoSteps(error => (error as NodeJS.ErrnoException).code === 'EBUSY')) {
      this.killAll()
      for (const dir of this.plan.dirs) await this.waitUntilEmpty(dir, deadline)
      this.undoSteps()
    }
    this.isMade = false
  }

  /**
   * The undo steps, last first. A step that fails keeps itself and those after it for another
   * attempt: false where `retry` takes the error, a CgroupError otherwise.
   */
  private undoSteps(retry: (error: unknown) => boolean = () => false): boolean {
    const steps = this.undo.splice(0).reverse()
    for (const [index, step] of steps.entries()) {
      try {
        step()
      } catch (error) {
        this.undo.push(...steps.slice(index).reverse())
        if (retry(error)) return false
        throw new CgroupError(this.plan.dirs[0] ?? '', `cannot remove: ${(error as Error).message}`, {
          fix: 'remove the directory by hand once its processes have exited',
          cause: error,
        })
      }
    }
    return true
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

/** Writes in plan order, runs of the same file together (v1's devices.allow takes ten in a row). */
function consecutiveByPath(writes: readonly FileWrite[]): Array<[string, string[]]> {
  const runs: Array<[string, string[]]> = []
  for (const {path, value} of writes) {
    const last = runs.at(-1)
    if (last?.[0] === path) last[1].push(value)
    else runs.push([path, [value]])
  }
  return runs
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
