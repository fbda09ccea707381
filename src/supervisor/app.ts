import {EventEmitter} from 'node:events'
import {PassThrough, type Readable} from 'node:stream'
import {AppCgroup, type CgroupUsage} from '../cgroup/index.js'
import type {BackoffConfig, HealthcheckConfig, RestartConfig} from '../config/supervision.js'
import {ContainError, ExitCode, LaunchError} from '../errors.js'
import {execInApp} from '../launch/exec.js'
import type {LaunchPlan} from '../launch/plan.js'
import type {HeldSockets} from '../launch/sockets.js'
import {startApp, type LaunchOutcome, type RunningApp} from '../launch/spawn.js'
import {initPath} from '../paths.js'
import {Health, HealthMonitor, httpProbe, tcpProbe, type Probe} from './health.js'
import {decideRestart, type RunEnd} from './restart-policy.js'

/** An app's life under the supervisor, as `contain ps` shows it. */
export const AppState = {
  starting: 'starting',
  running: 'running',
  /** Waiting out the restart delay after an exit. */
  backoff: 'backoff',
  stopping: 'stopping',
  /** Stopped by contain stop/down. */
  stopped: 'stopped',
  /** Ended and its restart policy says not to restart. */
  exited: 'exited',
  /** Gave up: on-failure:N ran out, or the app cannot be started at all (a setup error a retry cannot fix). */
  failed: 'failed',
} as const
export type AppState = (typeof AppState)[keyof typeof AppState]

export function canStart(state: AppState): boolean {
  return state === AppState.stopped || state === AppState.exited || state === AppState.failed
}

export function canStop(state: AppState): boolean {
  return state === AppState.starting || state === AppState.running || state === AppState.backoff
}

export interface AppSpec {
  name: string
  plan: LaunchPlan
  restart: RestartConfig
  backoff: BackoffConfig
  healthcheck?: HealthcheckConfig
  stopSignal: NodeJS.Signals
  stopGraceMs: number
}

export interface LastExit {
  exitCode: number
  signal?: NodeJS.Signals
  oomKilled: boolean
  /** Why contain could not run it at all (command not found, a setup step refused). */
  error?: string
  at: string
}

export interface AppStatus {
  name: string
  state: AppState
  pid?: number
  startedAt?: string
  restarts: number
  health: Health
  usage?: CgroupUsage
  /** CPU use in % of one CPU since the previous status (or since the run started). */
  cpuPercent?: number
  lastExit?: LastExit
  /** The last lines the app printed, for `ps` and `inspect` after a crash. */
  lastLines: string[]
}

/** Where an app's output goes: the log file and, in the foreground, the terminal. */
export interface OutputSink {
  attach(app: string, stream: Readable, name: 'out' | 'err', onLine: (line: string) => void): void
}

/** Lines of output kept for `ps` and `inspect`. */
export const LAST_LINES = 20

/** One app under supervision: starts it, restarts it by its policy, stops it, reports it. */
export class SupervisedApp extends EventEmitter {
  state: AppState = AppState.stopped
  private cgroup?: AppCgroup
  private running?: RunningApp
  private startedAt?: number
  private restarts = 0
  private restartsInARow = 0
  private stoppedByUser = false
  /** The pending restart while in backoff. */
  private restartTimer?: {kind: 'timer'; handle: NodeJS.Timeout} | {kind: 'immediate'; handle: NodeJS.Immediate}
  private lastExit?: LastExit
  private readonly lastLines: string[] = []
  private healthMonitor?: HealthMonitor
  private cpuSample?: {at: number; micros: number}
  /** The current run was stopped because its health check failed. */
  private stoppedUnhealthy = false
  /**
   * Command checks in flight. Their first helper runs in contain's own cgroup (the delegation
   * leaf on v2) until its child is born in the app's: the cgroup is removed only after they end
   * (each is bounded by its timeout), or the leaf would still hold one.
   */
  private readonly checks = new Set<Promise<unknown>>()
  /** remove() has begun: nothing may start the app again (a restart in flight would make a cgroup nobody removes). */
  private removed = false
  /**
   * The app's listen: sockets, bound by its first run and held across its restarts (a crash, a
   * failed health check): connections made meanwhile wait in their queues. Closed when the app
   * is stopped or removed.
   */
  private sockets?: HeldSockets

  constructor(readonly spec: AppSpec, private readonly output: OutputSink) {
    super()
  }

  /** Starts the app; resolves once its first run has started (or failed to start). */
  async start(): Promise<void> {
    if (!canStart(this.state) || this.removed) return
    this.stoppedByUser = false
    this.restartsInARow = 0
    await this.runOnce()
  }

  private setState(state: AppState): void {
    this.state = state
    this.emit('state', state)
  }

  private async runOnce(): Promise<void> {
    if (this.removed) return
    this.setState(AppState.starting)
    this.stoppedUnhealthy = false
    try {
      const listen = this.spec.plan.listen
      if (listen.length > 0 && !this.sockets) {
        // Sockets a .socket unit passed to contain are taken, not bound again (launch/inherited-sockets.ts).
        this.sockets = await (await import('../launch/sockets.js')).holdSockets(listen, `apps.${this.spec.name}.listen`)
        // Stopped while binding (the only wait before the launch): no run.
        if (this.stoppedByUser) {
          this.releaseSockets()
          this.setState(AppState.stopped)
          return
        }
      }
      // Made by startApp's first run, once the reaper that removes it if contain is killed is there.
      this.cgroup ??= AppCgroup.prepare(this.spec.plan.cgroup)
      const running = startApp(this.spec.plan, this.cgroup, ['ignore', 'pipe', 'pipe'], this.sockets?.fds)
      this.running = running
      // The first run makes the cgroup once its reaper is there: started means in its cgroup.
      await running.cgroupMade
      this.startedAt = Date.now()
      this.cpuSample = {at: this.startedAt, micros: this.cgroup.usage().cpuMicros}
      const remember = (line: string) => {
        this.lastLines.push(line)
        if (this.lastLines.length > LAST_LINES) this.lastLines.shift()
      }
      if (running.stdout) this.output.attach(this.spec.name, running.stdout, 'out', remember)
      if (running.stderr) this.output.attach(this.spec.name, running.stderr, 'err', remember)
      this.setState(AppState.running)
      this.watchHealth(running)
      running.exited.then(outcome => this.ended(outcome), error => this.failedToStart(error))
    } catch (error) {
      this.failedToStart(error)
    }
  }

  private probeFor(check: HealthcheckConfig, running: RunningApp): Probe {
    if (check.kind === 'http') return httpProbe(String(check.target))
    if (check.kind === 'tcp') return tcpProbe(String(check.target))
    const command = check.kind === 'shell' ? ['/bin/sh', '-c', String(check.target)] : (check.target as string[])
    return async timeoutMs => {
      const pid1 = running.pid1()
      if (pid1 === undefined) return false
      const check = execInApp(this.spec.plan, pid1, command, {capture: true, timeoutMs, init: initPath()})
      this.checks.add(check)
      try {
        return (await check).exitCode === 0
      } finally {
        this.checks.delete(check)
      }
    }
  }

  /** Healthy once a probe passes; unhealthy past `retries` restarts the app when its policy allows. */
  private watchHealth(running: RunningApp): void {
    const check = this.spec.healthcheck
    if (!check) return
    this.healthMonitor = new HealthMonitor(check, this.probeFor(check, running), health => {
      this.emit('health', health)
      if (health === Health.healthy) this.restartsInARow = 0
      if (health === Health.unhealthy && this.spec.restart.policy !== 'no' && this.running === running) {
        this.lastLines.push(`contain: ${this.spec.name} is unhealthy after ${check.retries} failed checks: restarting it`)
        this.stoppedUnhealthy = true
        running.signal(this.spec.stopSignal)
        setTimeout(() => this.running === running && this.cgroup?.killAll(), this.spec.stopGraceMs).unref()
      }
    })
    this.healthMonitor.start()
  }

  private ended(outcome: LaunchOutcome): void {
    this.healthMonitor?.stop()
    this.healthMonitor = undefined
    this.running = undefined
    this.lastExit = {exitCode: outcome.exitCode, signal: outcome.signal, oomKilled: outcome.oomKilled, at: new Date().toISOString()}
    if (this.startedAt !== undefined && Date.now() - this.startedAt >= this.spec.backoff.resetAfterMs) this.restartsInARow = 0
    this.emit('exit', this.lastExit)
    this.decide({exitCode: outcome.exitCode, stoppedByUser: this.stoppedByUser, unhealthy: this.stoppedUnhealthy})
  }

  private decide(end: RunEnd): void {
    const decision = decideRestart(this.spec.restart, this.spec.backoff, end, this.restartsInARow)
    if (!decision.restart) this.releaseSockets()
    if (decision.restart) {
      this.setState(AppState.backoff)
      const restart = () => {
        this.restartTimer = undefined
        this.restarts++
        this.restartsInARow++
        void this.runOnce()
      }
      // Node clamps a 0 ms timer to 1 ms: a zero backoff restarts in this turn of the event loop
      // instead. Still not synchronously, so an app that fails to start at once cannot recurse.
      this.restartTimer = decision.delayMs > 0 ? {kind: 'timer', handle: setTimeout(restart, decision.delayMs)} : {kind: 'immediate', handle: setImmediate(restart)}
      return
    }
    this.setState(decision.reason === 'stopped' ? AppState.stopped : decision.reason === 'gave-up' ? AppState.failed : AppState.exited)
  }

  /**
   * The app could not be started. A failure that a retry cannot fix (command not found, a working
   * directory its user cannot enter, a mount point that cannot be made: see setup-failure.ts)
   * marks it failed at once, with the reason in ps, inspect and its log. Anything else (a helper
   * replaced during an upgrade, a busy kernel, a process limit) goes through the restart policy
   * and its backoff like a crash.
   */
  private failedToStart(error: unknown): void {
    this.healthMonitor?.stop()
    this.healthMonitor = undefined
    this.running = undefined
    const message = error instanceof ContainError ? error.message : String(error)
    const exitCode = error instanceof ContainError ? error.exitCode : ExitCode.containFailed
    const permanent = error instanceof LaunchError && error.permanent
    this.lastExit = {exitCode, oomKilled: false, error: message, at: new Date().toISOString()}
    const fix = error instanceof ContainError && error.fix ? ` (fix: ${error.fix})` : ''
    this.note(permanent
      ? `contain: ${this.spec.name} cannot start, and retrying cannot fix it, so it is not restarted: ${message}${fix}`
      : `contain: ${this.spec.name} could not start: ${message}${fix}`)
    this.emit('exit', this.lastExit)
    if (permanent || exitCode === ExitCode.commandNotFound || exitCode === ExitCode.cannotExecute) {
      this.releaseSockets()
      this.setState(AppState.failed)
    }
    else this.decide({exitCode, stoppedByUser: this.stoppedByUser})
  }

  /** A line of contain's own in the app's output: its log, the terminal of a foreground up, and its last lines. */
  private note(line: string): void {
    const remember = (text: string) => {
      this.lastLines.push(text)
      if (this.lastLines.length > LAST_LINES) this.lastLines.shift()
    }
    const stream = new PassThrough()
    try {
      this.output.attach(this.spec.name, stream, 'err', remember)
      stream.end(`${line}\n`)
    } catch {
      remember(line) // the log is closed (the supervisor is ending): ps and inspect still have it
    }
  }

  /**
   * stop_signal to the app, up to stop_grace_period to end, then SIGKILL to everything left in
   * its cgroup. The cgroup stays for a later start; remove() deletes it.
   */
  async stop(): Promise<void> {
    this.stoppedByUser = true
    if (this.restartTimer) {
      if (this.restartTimer.kind === 'timer') clearTimeout(this.restartTimer.handle)
      else clearImmediate(this.restartTimer.handle)
      this.restartTimer = undefined
      this.releaseSockets()
      this.setState(AppState.stopped)
      return
    }
    const running = this.running
    if (!running || !canStop(this.state)) return
    this.setState(AppState.stopping)
    running.signal(this.spec.stopSignal)
    const ended = running.exited.then(() => true, () => true)
    const inTime = await Promise.race([ended, new Promise<boolean>(resolve => setTimeout(resolve, this.spec.stopGraceMs, false).unref())])
    if (!inTime) this.cgroup?.killAll()
    await ended
  }

  /** Closes the listen sockets: no run follows soon, and a connection refused says so better than one that waits. */
  private releaseSockets(): void {
    this.sockets?.close()
    this.sockets = undefined
  }

  /** Host pid of the running app's PID 1, for `contain exec` and command health checks. */
  pid1(): number | undefined {
    return this.running?.pid1()
  }

  /** SIGKILL to everything in the app's cgroup, now (the second Ctrl-C). */
  kill(): void {
    this.stoppedByUser = true
    this.cgroup?.killAll()
  }

  /** Stops the app and removes its cgroup: nothing of it is left on the host. */
  async remove(): Promise<void> {
    this.removed = true
    await this.stop()
    await Promise.allSettled([...this.checks])
    this.releaseSockets()
    await this.cgroup?.remove()
    await this.cgroup?.reaperEnded()
    this.cgroup = undefined
  }

  status(): AppStatus {
    const usage = this.cgroup?.usage()
    let cpuPercent: number | undefined
    if (usage && this.running && this.cpuSample) {
      const now = Date.now()
      if (now > this.cpuSample.at) cpuPercent = ((usage.cpuMicros - this.cpuSample.micros) / 1000 / (now - this.cpuSample.at)) * 100
      this.cpuSample = {at: now, micros: usage.cpuMicros}
    }
    return {
      name: this.spec.name,
      state: this.state,
      pid: this.running?.pid,
      startedAt: this.running && this.startedAt !== undefined ? new Date(this.startedAt).toISOString() : undefined,
      restarts: this.restarts,
      health: this.healthMonitor?.health ?? Health.none,
      usage,
      cpuPercent,
      lastExit: this.lastExit,
      lastLines: [...this.lastLines],
    }
  }
}
