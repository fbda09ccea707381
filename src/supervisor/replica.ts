/**
 * One replica of a supervised app (web.1, web.2 ...): its run loop. Each run is an instance with
 * a cgroup of its own below the app's (see instance-plan.ts), made when it starts and removed
 * when it ends; the replica restarts it by the app's policy and backoff, watches its health and
 * stops it. The app (app.ts) holds what replicas share: the listen sockets, the log, the version.
 */
import {EventEmitter} from 'node:events'
import {AppCgroup} from '../cgroup/index.js'
import type {HealthcheckConfig} from '../config/supervision.js'
import {ContainError, ExitCode, LaunchError} from '../errors.js'
import {execInApp} from '../launch/exec.js'
import type {LaunchPlan} from '../launch/plan.js'
import {startApp, type LaunchOutcome, type RunningApp} from '../launch/spawn.js'
import {initPath} from '../paths.js'
import {AppState, canStop, type AppSpec, type AppStatus, type LastExit, type OutputSink} from './app-types.js'
import {Health, HealthMonitor, httpProbe, tcpProbe, type Probe, type ProbeOwner} from './health.js'
import {acceptedByInstance} from './probe-owner.js'
import {planInstance} from './instance-plan.js'
import {decideRestart, type RunEnd} from './restart-policy.js'

/** What a replica asks of its app. */
export interface ReplicaHost {
  readonly output: OutputSink
  /** The app's listen sockets, bound by the first run that needs them and held across runs. */
  sockets(): Promise<number[] | undefined>
  /** A new instance number, for the instance's cgroup name. */
  nextInstance(): number
  /** A line for the app's last lines (ps, inspect). */
  remember(line: string): void
  /** A line of contain's own in the app's output. */
  note(line: string): void
  /**
   * The replica is unhealthy and its policy restarts it: true when the app replaces it with a
   * rolling restart (the replica keeps running meanwhile), false to stop and start it here.
   */
  rollUnhealthy(replica: Replica): boolean
  /** The replica reached a final state: the app may close its sockets if no run follows soon. */
  idle(): void
}

export class Replica extends EventEmitter {
  state: AppState = AppState.stopped
  /** On trial: a rolling restart's new instance, never restarted by policy, stopped if it fails. */
  trial: boolean
  restarts = 0
  private restartsInARow = 0
  private stoppedByUser = false
  /** The pending restart while in backoff. */
  private restartTimer?: {kind: 'timer'; handle: NodeJS.Timeout} | {kind: 'immediate'; handle: NodeJS.Immediate}
  lastExit?: LastExit
  private healthMonitor?: HealthMonitor
  private cpuSample?: {at: number; micros: number}
  /** The current run was stopped because its health check failed. */
  private stoppedUnhealthy = false
  /**
   * Command checks in flight. Their first helper runs in contain's own cgroup (the delegation
   * leaf on v2) until its child is born in the instance's: the instance's cgroup is removed only
   * after they end (each is bounded by its timeout), or the leaf would still hold one.
   */
  private readonly checks = new Set<Promise<unknown>>()
  /** remove() has begun: nothing may start the replica again (a restart in flight would make a cgroup nobody removes). */
  private removed = false
  private running?: RunningApp
  private startedAt?: number
  /** The current run's instance: its plan and cgroup. */
  private instance?: {plan: LaunchPlan; cgroup: AppCgroup}
  /** Settles once the current run has ended and its cgroup is gone. */
  private settled: Promise<void> = Promise.resolve()

  constructor(
    readonly slot: number,
    public spec: AppSpec,
    private readonly host: ReplicaHost,
    {trial = false} = {},
  ) {
    super()
    this.trial = trial
  }

  /** Starts the replica; resolves once its first run's setup is done and its command runs (or it failed to start). */
  async start(): Promise<void> {
    if (this.removed || !(this.state === AppState.stopped || this.state === AppState.exited || this.state === AppState.failed)) return
    this.stoppedByUser = false
    this.restartsInARow = 0
    await this.runOnce()
  }

  private setState(state: AppState): void {
    this.state = state
    this.emit('state', state)
    if (state === AppState.stopped || state === AppState.exited || state === AppState.failed) this.host.idle()
  }

  private async runOnce(): Promise<void> {
    if (this.removed) return
    this.setState(AppState.starting)
    this.stoppedUnhealthy = false
    let ended: () => void = () => {}
    this.settled = new Promise(resolve => (ended = resolve))
    // A run that started but cannot be kept (its log cannot be opened): why, and its cgroup to end it.
    let unkept: {error: unknown} | undefined
    let launched: AppCgroup | undefined
    try {
      const fds = await this.host.sockets()
      // Stopped while binding (the only wait before the launch): no run.
      if (this.stoppedByUser || this.removed) {
        ended()
        this.setState(AppState.stopped)
        return
      }
      const plan = planInstance(this.spec.plan, this.host.nextInstance())
      // Made by startApp once the instance's reaper (which removes it if contain is killed) is there.
      const cgroup = AppCgroup.prepare(plan.cgroup)
      this.instance = {plan, cgroup}
      const running = startApp(plan, cgroup, ['ignore', 'pipe', 'pipe'], fds)
      this.running = running
      const settle = async (end: () => void) => {
        await this.dropInstance(cgroup)
        end()
        ended()
      }
      launched = cgroup
      running.exited.then(
        outcome => settle(() => (unkept ? this.failedToStart(unkept.error) : this.ended(outcome))),
        error => settle(() => this.failedToStart(unkept?.error ?? error)),
      )
      await running.cgroupMade
      if (this.running !== running) return // it failed to start meanwhile
      this.startedAt = Date.now()
      this.cpuSample = {at: this.startedAt, micros: cgroup.usage().cpuMicros}
      if (running.stdout) this.host.output.attach(this.spec.name, running.stdout, 'out', line => this.host.remember(line))
      if (running.stderr) this.host.output.attach(this.spec.name, running.stderr, 'err', line => this.host.remember(line))
      this.setState(AppState.running)
      this.watchHealth(running)
      // Started means set up: up -d and a rolling restart report a setup error, not a start.
      await Promise.race([running.setupDone, this.settled])
    } catch (error) {
      if (launched && this.running) {
        // Never left running unsupervised: it is killed, and reported as failed once its cgroup is gone.
        unkept = {error}
        launched.killAll()
        await this.settled
        return
      }
      ended()
      this.failedToStart(error)
    }
  }

  /** The run has ended: its cgroup goes (after its command checks), and its reaper with it. */
  private async dropInstance(cgroup: AppCgroup): Promise<void> {
    this.healthMonitor?.stop()
    this.healthMonitor = undefined
    await Promise.allSettled([...this.checks])
    try {
      await cgroup.remove()
      await cgroup.reaperEnded()
    } catch (error) {
      this.host.note(`contain: ${this.spec.name}: ${error instanceof ContainError ? error.message : String(error)}`)
    }
    if (this.instance?.cgroup === cgroup) this.instance = undefined
  }

  private probeFor(check: HealthcheckConfig, running: RunningApp, plan: LaunchPlan, cgroup: AppCgroup): Probe {
    // With listen: sockets every instance accepts from the same queue: only an answer from this one counts.
    const owner: ProbeOwner | undefined =
      plan.listen.length > 0
        ? (socket, deadline) => acceptedByInstance(socket.remotePort ?? 0, socket.localPort ?? 0, () => cgroup.pids(), deadline)
        : undefined
    if (check.kind === 'http') return httpProbe(String(check.target), owner)
    if (check.kind === 'tcp') return tcpProbe(String(check.target), owner)
    const command = check.kind === 'shell' ? ['/bin/sh', '-c', String(check.target)] : (check.target as string[])
    return async timeoutMs => {
      const pid1 = running.pid1()
      if (pid1 === undefined) return false
      const check = execInApp(plan, pid1, command, {capture: true, timeoutMs, init: initPath()})
      this.checks.add(check)
      try {
        return (await check).exitCode === 0
      } finally {
        this.checks.delete(check)
      }
    }
  }

  /**
   * Healthy once a probe passes; unhealthy past `retries` restarts the replica when its policy
   * allows: beside the old one when the app rolls, else by stopping it first.
   */
  private watchHealth(running: RunningApp): void {
    const check = this.spec.healthcheck
    if (!check || !this.instance) return
    this.healthMonitor = new HealthMonitor(check, this.probeFor(check, running, this.instance.plan, this.instance.cgroup), health => {
      this.emit('health', health)
      if (health === Health.healthy) this.restartsInARow = 0
      if (health !== Health.unhealthy || this.trial || this.spec.restart.policy === 'no' || this.running !== running) return
      if (this.host.rollUnhealthy(this)) return
      this.host.remember(`contain: ${this.spec.name} is unhealthy after ${check.retries} failed checks: restarting it`)
      this.stoppedUnhealthy = true
      running.signal(this.spec.stopSignal)
      const cgroup = this.instance?.cgroup
      setTimeout(() => this.running === running && cgroup?.killAll(), this.spec.stopGraceMs).unref()
    })
    this.healthMonitor.start()
  }

  get health(): Health {
    return this.healthMonitor?.health ?? Health.none
  }

  private ended(outcome: LaunchOutcome): void {
    this.running = undefined
    this.lastExit = {exitCode: outcome.exitCode, signal: outcome.signal, oomKilled: outcome.oomKilled, at: new Date().toISOString()}
    if (this.startedAt !== undefined && Date.now() - this.startedAt >= this.spec.backoff.resetAfterMs) this.restartsInARow = 0
    this.emit('exit', this.lastExit)
    this.decide({exitCode: outcome.exitCode, stoppedByUser: this.stoppedByUser, unhealthy: this.stoppedUnhealthy})
  }

  private decide(end: RunEnd): void {
    // A rolling restart's new instance that ends has failed its trial: the old one keeps serving.
    const decision = this.trial
      ? {restart: false as const, reason: end.stoppedByUser ? ('stopped' as const) : ('gave-up' as const)}
      : decideRestart(this.spec.restart, this.spec.backoff, end, this.restartsInARow)
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
      this.restartTimer =
        decision.delayMs > 0 ? {kind: 'timer', handle: setTimeout(restart, decision.delayMs)} : {kind: 'immediate', handle: setImmediate(restart)}
      return
    }
    this.setState(decision.reason === 'stopped' ? AppState.stopped : decision.reason === 'gave-up' ? AppState.failed : AppState.exited)
  }

  /**
   * The run could not be started. A failure that a retry cannot fix (command not found, a working
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
    this.host.note(
      permanent
        ? `contain: ${this.spec.name} cannot start, and retrying cannot fix it, so it is not restarted: ${message}${fix}`
        : `contain: ${this.spec.name} could not start: ${message}${fix}`,
    )
    this.emit('exit', this.lastExit)
    if (permanent || exitCode === ExitCode.commandNotFound || exitCode === ExitCode.cannotExecute) this.setState(AppState.failed)
    else this.decide({exitCode, stoppedByUser: this.stoppedByUser})
  }

  /**
   * stop_signal to the instance, up to stop_grace_period to end, then SIGKILL to everything left
   * in its cgroup; resolves once its cgroup is gone.
   */
  async stop(): Promise<void> {
    this.stoppedByUser = true
    if (this.restartTimer) {
      if (this.restartTimer.kind === 'timer') clearTimeout(this.restartTimer.handle)
      else clearImmediate(this.restartTimer.handle)
      this.restartTimer = undefined
      this.setState(AppState.stopped)
      return
    }
    const running = this.running
    if (!running || !canStop(this.state)) {
      await this.settled
      return
    }
    this.setState(AppState.stopping)
    running.signal(this.spec.stopSignal)
    const ended = running.exited.then(
      () => true,
      () => true,
    )
    const inTime = await Promise.race([ended, new Promise<boolean>(resolve => setTimeout(resolve, this.spec.stopGraceMs, false).unref())])
    if (!inTime) this.instance?.cgroup.killAll()
    await this.settled
  }

  /** Host pid of the running instance's PID 1, for `contain exec` and command health checks. */
  pid1(): number | undefined {
    return this.running?.pid1()
  }

  /** The running instance's launch plan (its cgroup), for inspect. */
  instancePlan(): LaunchPlan | undefined {
    return this.instance?.plan
  }

  /** SIGKILL to everything in the instance's cgroup, now (the second Ctrl-C). */
  kill(): void {
    this.stoppedByUser = true
    this.instance?.cgroup.killAll()
  }

  /** Stops the replica for good: nothing of it is left on the host. */
  async remove(): Promise<void> {
    this.removed = true
    await this.stop()
    await this.settled
  }

  status(name: string): AppStatus {
    const usage = this.running ? this.instance?.cgroup.usage() : undefined
    let cpuPercent: number | undefined
    if (usage && this.cpuSample) {
      const now = Date.now()
      if (now > this.cpuSample.at) cpuPercent = ((usage.cpuMicros - this.cpuSample.micros) / 1000 / (now - this.cpuSample.at)) * 100
      this.cpuSample = {at: now, micros: usage.cpuMicros}
    }
    return {
      name,
      state: this.state,
      pid: this.running?.pid,
      startedAt: this.running && this.startedAt !== undefined ? new Date(this.startedAt).toISOString() : undefined,
      restarts: this.restarts,
      health: this.health,
      usage,
      cpuPercent,
      lastExit: this.lastExit,
      lastLines: [],
    }
  }
}
