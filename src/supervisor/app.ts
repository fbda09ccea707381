import {EventEmitter} from 'node:events'
import {PassThrough} from 'node:stream'
import {restartModeOf} from '../config/supervision.js'
import {ContainError} from '../errors.js'
import type {LaunchPlan} from '../launch/plan.js'
import type {HeldSockets} from '../launch/sockets.js'
import {AppState, LAST_LINES, type AppSpec, type AppStatus, type OutputSink, type Rollout} from './app-types.js'
import {Health} from './health.js'
import {stableJson} from './apply.js'
import {Replica, type ReplicaHost} from './replica.js'

export {AppState, canStart, canStop, LAST_LINES, type AppSpec, type AppStatus, type LastExit, type OutputSink, type Rollout} from './app-types.js'

/** How the app's state is read from its replicas': the first that any of them is in, in this order. */
const STATE_ORDER: AppState[] = [AppState.running, AppState.starting, AppState.backoff, AppState.stopping, AppState.failed, AppState.exited, AppState.stopped]

/** The rolling restart's new instance did not become ready: the old one keeps serving. */
export class RolloutError extends ContainError {}

/**
 * One app under supervision: its replicas (one unless `replicas:` says more), the listen sockets
 * they share, its log lines; restarts them by policy, rolls them one at a time, stops them.
 */
export class SupervisedApp extends EventEmitter {
  /** The version that runs (a rolling restart to a new version replaces it once done). */
  spec: AppSpec
  private replicas: Replica[] = []
  /** A rolling restart's new instances, on trial beside the replica they are to replace. */
  private readonly candidates = new Set<Replica>()
  private readonly lastLines: string[] = []
  private instances = 0
  /** remove() has begun: nothing may start the app again. */
  private removed = false
  /**
   * The app's listen: sockets, bound by its first run and held across its restarts (a crash, a
   * failed health check) and rolling restarts: connections made meanwhile wait in their queues,
   * and both instances of a rolling restart accept from the same queue. Closed when no replica
   * runs or is about to.
   */
  private sockets?: HeldSockets
  private binding?: Promise<HeldSockets>
  /** Restarts and rolls of this app, one at a time. */
  private queue: Promise<unknown> = Promise.resolve()
  private rollout?: Rollout
  private readonly host: ReplicaHost

  constructor(
    spec: AppSpec,
    readonly output: OutputSink,
  ) {
    super()
    this.spec = spec
    this.host = {
      output,
      sockets: () => this.heldSockets(),
      nextInstance: () => ++this.instances,
      remember: line => this.remember(line),
      note: line => this.note(line),
      rollUnhealthy: replica => this.rollUnhealthy(replica),
      idle: () => this.releaseIfIdle(),
    }
    this.replicas = this.makeReplicas(spec)
  }

  private makeReplicas(spec: AppSpec, from = 1): Replica[] {
    return Array.from({length: Math.max(0, (spec.replicas ?? 1) - from + 1)}, (_, index) => this.follow(new Replica(from + index, spec, this.host)))
  }

  /** The replica's events are the app's: ps, up's progress and sd_notify follow the app. */
  private follow(replica: Replica): Replica {
    replica.on('state', () => this.emit('state', this.state))
    replica.on('health', () => this.emit('health', this.health))
    replica.on('exit', exit => this.emit('exit', exit))
    return replica
  }

  private all(): Replica[] {
    return [...this.replicas, ...this.candidates]
  }

  get state(): AppState {
    const states = new Set(this.all().map(replica => replica.state))
    return STATE_ORDER.find(state => states.has(state)) ?? AppState.stopped
  }

  get health(): Health {
    const healths = this.replicas.map(replica => replica.health)
    if (healths.includes(Health.unhealthy)) return Health.unhealthy
    if (healths.includes(Health.starting)) return Health.starting
    return healths.includes(Health.healthy) ? Health.healthy : Health.none
  }

  private async heldSockets(): Promise<number[] | undefined> {
    const listen = this.spec.plan.listen
    if (listen.length === 0) return undefined
    if (this.sockets) return this.sockets.fds
    // Sockets a .socket unit passed to contain are taken, not bound again (launch/inherited-sockets.ts).
    this.binding ??= import('../launch/sockets.js').then(sockets => sockets.holdSockets(listen, `apps.${this.spec.name}.listen`))
    try {
      this.sockets = await this.binding
    } finally {
      this.binding = undefined
    }
    return this.sockets.fds
  }

  /** No replica runs or is about to: a connection refused says so better than one that waits. */
  private releaseIfIdle(): void {
    const final = (state: AppState) => state === AppState.stopped || state === AppState.exited || state === AppState.failed
    if (this.all().every(replica => final(replica.state))) {
      this.sockets?.close()
      this.sockets = undefined
    }
  }

  private remember(line: string): void {
    this.lastLines.push(line)
    if (this.lastLines.length > LAST_LINES) this.lastLines.shift()
  }

  /** A line of contain's own in the app's output: its log, the terminal of a foreground up, and its last lines. */
  private note(line: string): void {
    const stream = new PassThrough()
    try {
      this.output.attach(this.spec.name, stream, 'err', text => this.remember(text))
      stream.end(`${line}\n`)
    } catch {
      this.remember(line) // the log is closed (the supervisor is ending): ps and inspect still have it
    }
  }

  /** Starts the replicas that are not running; resolves once each has started (or failed to start). */
  async start(): Promise<void> {
    if (this.removed) return
    await Promise.all(this.replicas.map(replica => replica.start()))
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map(replica => replica.stop()))
  }

  /** SIGKILL to every instance, now (the second Ctrl-C). */
  kill(): void {
    for (const replica of this.all()) replica.kill()
  }

  /** Stops the app and removes its cgroups: nothing of it is left on the host. */
  async remove(): Promise<void> {
    this.removed = true
    await Promise.all(this.all().map(replica => replica.remove()))
    this.sockets?.close()
    this.sockets = undefined
  }

  /** How this app restarts: rolling needs held sockets to share (see restartModeOf). */
  mode(spec: AppSpec = this.spec): 'rolling' | 'stop-first' {
    return restartModeOf(spec.restartMode, spec.plan.listen.length > 0)
  }

  /**
   * contain restart: rolling (each replica replaced by a new instance once that is ready) when
   * the app rolls and runs; otherwise stop, then start. Throws a RolloutError when a new instance
   * did not become ready: the old one keeps serving.
   */
  restart(): Promise<void> {
    return this.serially(async () => {
      if (this.mode() === 'rolling' && this.replicas.some(replica => replica.state === AppState.running)) return this.rollNow(this.spec)
      await this.stop()
      await this.start()
    })
  }

  /**
   * Replaces the running replicas by instances of `next` (a new version of the app, or the same
   * one), one at a time, then starts or stops replicas to reach `next.replicas`. Only for a
   * version with the same listen: addresses: the sockets are the ones held now.
   */
  roll(next: AppSpec): Promise<void> {
    return this.serially(() => this.rollNow(next))
  }

  /** Whether `next` can replace this version without a gap: it rolls, and listens where this one does. */
  canRollTo(next: AppSpec): boolean {
    return (
      this.mode(next) === 'rolling' &&
      JSON.stringify(next.plan.listen) === JSON.stringify(this.spec.plan.listen) &&
      this.replicas.some(replica => replica.state === AppState.running)
    )
  }

  private serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step)
    this.queue = run.catch(() => undefined)
    return run
  }

  private async rollNow(next: AppSpec): Promise<void> {
    const count = next.replicas ?? 1
    this.rollout = {state: 'rolling', at: new Date().toISOString()}
    const previous = [...this.replicas]
    // Only the number changed (compose's scale): the running replicas stay, as compose leaves them.
    const scaleOnly = next !== this.spec && stableJson({...next, replicas: 0}) === stableJson({...this.spec, replicas: 0})
    try {
      for (let slot = 1; slot <= count; slot++) {
        const current = previous[slot - 1]
        if (scaleOnly && current) {
          current.spec = next
          continue
        }
        // A replica that is not running (stopped, crashed, in backoff) is simply replaced.
        const fresh = current && current.state === AppState.running ? await this.trial(slot, next) : this.follow(new Replica(slot, next, this.host))
        fresh.restarts = current ? current.restarts + 1 : 0
        this.replicas[slot - 1] = fresh
        if (!fresh.trial && fresh.state === AppState.stopped) await fresh.start()
        // The old instance stops as contain stop stops it: stop_signal, in-flight requests finish, then SIGKILL after the grace period.
        await current?.remove()
        current?.removeAllListeners()
      }
      for (const surplus of previous.slice(count)) {
        await surplus.remove()
        surplus.removeAllListeners()
      }
      this.replicas = this.replicas.slice(0, count)
      this.spec = next
      this.rollout = {state: 'done', at: new Date().toISOString()}
    } catch (error) {
      this.rollout = {state: 'failed', at: new Date().toISOString(), reason: (error as Error).message}
      throw error
    } finally {
      this.emit('state', this.state)
    }
  }

  /**
   * Starts a new instance of `slot` beside the running one and waits until it is ready: healthy
   * with a health check, running without one. One that exits or turns unhealthy first is stopped
   * and the rolling restart fails with the reason.
   */
  private async trial(slot: number, next: AppSpec): Promise<Replica> {
    const fresh = this.follow(new Replica(slot, next, this.host, {trial: true}))
    this.candidates.add(fresh)
    try {
      const ready = new Promise<string | undefined>(resolve => {
        const check = () => {
          if (fresh.state === AppState.failed || fresh.state === AppState.exited || fresh.state === AppState.stopped) {
            const exit = fresh.lastExit
            resolve(exit?.error ?? `it exited (${exit?.signal ?? `exit ${exit?.exitCode}`}) before it was ready`)
          } else if (fresh.health === Health.unhealthy) {
            resolve(`its health check failed ${next.healthcheck?.retries} times in a row`)
          } else if (fresh.state === AppState.running && (!next.healthcheck || fresh.health === Health.healthy)) {
            resolve(undefined)
          }
        }
        fresh.on('state', check)
        fresh.on('health', check)
      })
      // A bound for a new instance that the probes never reach (it never accepts: the old one takes every connection).
      const check = next.healthcheck
      const patienceMs = check ? check.startPeriodMs + 4 * check.retries * (check.intervalMs + check.timeoutMs) + 10_000 : 0
      let timer: NodeJS.Timeout | undefined
      const expired = new Promise<string>(resolve => {
        if (check) timer = setTimeout(() => resolve(`no health check reached it within ${Math.round(patienceMs / 1000)}s`), patienceMs)
      })
      await fresh.start()
      const failure = await Promise.race([ready, expired])
      clearTimeout(timer)
      if (failure !== undefined) {
        await fresh.remove()
        fresh.removeAllListeners()
        const message = `${next.name}: the new instance did not become ready: ${failure}; the old one keeps serving`
        this.note(`contain: ${message}`)
        throw new RolloutError(message, {fix: `see contain logs ${next.name}; the old instance runs on (contain ps)`})
      }
      fresh.trial = false
      return fresh
    } finally {
      this.candidates.delete(fresh)
    }
  }

  /**
   * An unhealthy replica whose policy restarts it, in an app that rolls: its new instance starts
   * beside it, and it is stopped once that one is ready. If that fails it runs on, unhealthy (ps
   * says so), rather than leaving no instance at all.
   */
  private rollUnhealthy(replica: Replica): boolean {
    if (this.mode() !== 'rolling' || this.removed) return false
    this.remember(`contain: ${this.spec.name} is unhealthy after ${replica.spec.healthcheck?.retries} failed checks: rolling it`)
    void this.serially(async () => {
      const slot = this.replicas.indexOf(replica) + 1
      if (slot === 0 || replica.state !== AppState.running) return
      const fresh = await this.trial(slot, this.spec)
      fresh.restarts = replica.restarts + 1
      this.replicas[slot - 1] = fresh
      await replica.remove()
      replica.removeAllListeners()
      this.emit('state', this.state)
    }).catch(() => undefined) // noted in the app's output by trial()
    return true
  }

  /** Host pid of a running instance's PID 1, for `contain exec`. */
  pid1(): number | undefined {
    return this.replicas.map(replica => replica.pid1()).find(pid => pid !== undefined)
  }

  /** The launch plan of a running instance (its cgroup), or the app's when none runs. */
  currentPlan(): LaunchPlan {
    return this.replicas.map(replica => replica.instancePlan()).find(plan => plan !== undefined) ?? this.spec.plan
  }

  status(): AppStatus {
    const rows = this.replicas.flatMap(replica => [
      {replica, next: false},
      ...[...this.candidates].filter(candidate => candidate.slot === replica.slot).map(candidate => ({replica: candidate, next: true})),
    ])
    const statuses = rows.map(({replica, next}) => ({...replica.status(`${this.spec.name}.${replica.slot}`), ...(next ? {next} : {})}))
    const shared = {lastLines: [...this.lastLines], ...(this.rollout ? {rollout: this.rollout} : {})}
    if (statuses.length === 1) return {...statuses[0], name: this.spec.name, ...shared}
    const running = statuses.filter(status => status.usage)
    const sum = (value: (status: AppStatus) => number | undefined) => running.reduce((total, status) => total + (value(status) ?? 0), 0)
    const exits = statuses.flatMap(status => (status.lastExit ? [status.lastExit] : [])).sort((a, b) => (a.at < b.at ? 1 : -1))
    return {
      name: this.spec.name,
      state: this.state,
      pid: statuses.find(status => status.pid !== undefined)?.pid,
      startedAt: statuses
        .map(status => status.startedAt)
        .filter(Boolean)
        .sort()[0],
      restarts: statuses.reduce((total, status) => total + status.restarts, 0),
      health: this.health,
      usage:
        running.length === 0
          ? undefined
          : {
              cpuMicros: sum(status => status.usage?.cpuMicros),
              periods: sum(status => status.usage?.periods),
              throttledPeriods: sum(status => status.usage?.throttledPeriods),
              memoryBytes: sum(status => status.usage?.memoryBytes),
              pids: sum(status => status.usage?.pids),
              // Each instance has the app's limit (see cgroup/instance.ts): the app's is N of them.
              memoryLimitBytes: running[0].usage?.memoryLimitBytes === undefined ? undefined : running[0].usage.memoryLimitBytes * running.length,
            },
      cpuPercent: running.some(status => status.cpuPercent !== undefined) ? sum(status => status.cpuPercent) : undefined,
      lastExit: exits[0],
      replicas: statuses,
      ...shared,
    }
  }
}
