/** The types an app and its replicas share: states, the spec, the status ps shows. */
import type {Readable} from 'node:stream'
import type {CgroupUsage} from '../cgroup/index.js'
import type {BackoffConfig, HealthcheckConfig, RestartConfig, RestartMode} from '../config/supervision.js'
import type {LaunchPlan} from '../launch/plan.js'
import type {Health} from './health.js'

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
  /** Undefined: not set in contain.yml (restartModeOf decides by listen:). */
  restartMode?: RestartMode
  /** Instances side by side, at least 1; undefined: 1. */
  replicas?: number
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
  /** Each replica (web.1, web.2 ...), and a rolling restart's new instance (`next`), when there is more than one instance. */
  replicas?: AppStatus[]
  /** This row is a rolling restart's new instance, on trial until healthy. */
  next?: boolean
  /** The last rolling restart, while it runs and after it: done, or failed with the reason (the old instance kept serving). */
  rollout?: Rollout
}

export interface Rollout {
  state: 'rolling' | 'done' | 'failed'
  at: string
  /** Why it failed. */
  reason?: string
}

/** Where an app's output goes: the log file and, in the foreground, the terminal. */
export interface OutputSink {
  attach(app: string, stream: Readable, name: 'out' | 'err', onLine: (line: string) => void): void
}

/** Lines of output kept for `ps` and `inspect`. */
export const LAST_LINES = 20
