import {EventEmitter} from 'node:events'
import type {Readable} from 'node:stream'
import {AppCgroup} from '../cgroup/index.js'
import {ContainError} from '../errors.js'
import type {LaunchPlan} from '../launch/plan.js'
import {startApp, type LaunchOutcome, type RunningApp} from '../launch/spawn.js'
import {decideRestart, type Backoff, type RestartPolicy} from './restart-policy.js'

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
  /** Gave up: on-failure:N ran out, or the app cannot be started at all. */
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
  restart: RestartPolicy
  backoff: Backoff
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
  lastExit?: LastExit
  /** The last lines the app printed, for `ps` and `inspect` after a crash. */
  lastLines: string[]
}

/** Where an app's output goes: the log file and, in the foreground, the terminal. */
export interface OutputSink {
  attach(app: string, stream: Readable, name: 'out' | 'err', onLine: (line: string) => void): void
}

const LAST_LINES = 20

/** One app under supervision: starts it, restarts it by its policy, stops it, reports it. */
export class SupervisedApp extends EventEmitter {
  state: AppState = AppState.stopped
  private cgroup?: AppCgroup
  private running?: RunningApp
  private startedAt?: number
  private restarts = 0
  private restartsInARow = 0
  private stoppedByUser = false
  private restartTimer?: NodeJS.Timeout
  private lastExit?: LastExit
  private readonly lastLines: string[] = []

  constructor(readonly spec: AppSpec, private readonly output: OutputSink) {
    super()
  }

  /** Starts the app; resolves once its first run has started (or failed to start). */
  async start(): Promise<void> {
    if (!canStart(this.state)) return
    this.stoppedByUser = false
    this.restartsInARow = 0
    await this.runOnce()
  }

  private setState(state: AppState): void {
    this.state = state
    this.emit('state', state)
  }

  private async runOnce(): Promise<void> {
    this.setState(AppState.starting)
    try {
      this.cgroup ??= AppCgroup.create(this.spec.plan.cgroup)
      const running = startApp(this.spec.plan, this.cgroup, ['ignore', 'pipe', 'pipe'])
      this.running = running
      this.startedAt = Date.now()
      const remember = (line: string) => {
        this.lastLines.push(line)
        if (this.lastLines.length > LAST_LINES) this.lastLines.shift()
      }
      if (running.stdout) this.output.attach(this.spec.name, running.stdout, 'out', remember)
      if (running.stderr) this.output.attach(this.spec.name, running.stderr, 'err', remember)
      this.setState(AppState.running)
      running.exited.then(outcome => this.ended(outcome), error => this.failedToStart(error))
    } catch (error) {
      this.failedToStart(error)
    }
  }

  private ended(outcome: LaunchOutcome): void {
    this.running = undefined
    this.lastExit = {exitCode: outcome.exitCode, signal: outcome.signal, oomKilled: outcome.oomKilled, at: new Date().toISOString()}
    if (this.startedAt !== undefined && Date.now() - this.startedAt >= this.spec.backoff.resetAfterMs) this.restartsInARow = 0
    this.emit('exit', this.lastExit)
    const decision = decideRestart(this.spec.restart, this.spec.backoff, {exitCode: outcome.exitCode, stoppedByUser: this.stoppedByUser}, this.restartsInARow)
    if (decision.restart) {
      this.setState(AppState.backoff)
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined
        this.restarts++
        this.restartsInARow++
        void this.runOnce()
      }, decision.delayMs)
      return
    }
    this.setState(decision.reason === 'stopped' ? AppState.stopped : decision.reason === 'gave-up' ? AppState.failed : AppState.exited)
  }

  /** The app cannot run at all (command not found, a refused setup step): restarting will not help. */
  private failedToStart(error: unknown): void {
    this.running = undefined
    const message = error instanceof ContainError ? error.message : String(error)
    this.lastExit = {exitCode: error instanceof ContainError ? error.exitCode : 125, oomKilled: false, error: message, at: new Date().toISOString()}
    this.emit('exit', this.lastExit)
    this.setState(AppState.failed)
  }

  /**
   * stop_signal to the app, up to stop_grace_period to end, then SIGKILL to everything left in
   * its cgroup. The cgroup stays for a later start; remove() deletes it.
   */
  async stop(): Promise<void> {
    this.stoppedByUser = true
    if (this.restartTimer) {
      clearTimeout(this.restartTimer)
      this.restartTimer = undefined
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

  /** Stops the app and removes its cgroup: nothing of it is left on the host. */
  async remove(): Promise<void> {
    await this.stop()
    await this.cgroup?.remove()
    this.cgroup = undefined
  }

  status(): AppStatus {
    return {
      name: this.spec.name,
      state: this.state,
      pid: this.running?.pid,
      startedAt: this.running && this.startedAt !== undefined ? new Date(this.startedAt).toISOString() : undefined,
      restarts: this.restarts,
      lastExit: this.lastExit,
      lastLines: [...this.lastLines],
    }
  }
}
