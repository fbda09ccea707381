/**
 * How `contain up` looks after an app once it runs: the restart policy and its backoff, the
 * healthcheck, how the app is stopped and how its logs are kept. Values here are validated and in
 * base units (ms, bytes); the parsers throw InvalidValueError naming the field, as units.ts does.
 */
import {constants} from 'node:os'
import {InvalidValueError} from '../errors.js'
import {parseInteger, parseSize} from './units.js'

/** Docker's restart policies, with Docker's meanings. */
export const RESTART_POLICIES = ['no', 'on-failure', 'always', 'unless-stopped'] as const
export type RestartPolicy = (typeof RESTART_POLICIES)[number]

export interface RestartConfig {
  policy: RestartPolicy
  /** on-failure:N: give up after N restarts. Undefined: no limit. */
  maxRetries?: number
}

/** Delay before restart n (0-based): min(max, initial * factor^n), +/- jitter, reset after a good run. */
export interface BackoffConfig {
  initialMs: number
  maxMs: number
  factor: number
  /** Fraction of the delay added or removed at random, 0 to 1, so apps restarted together spread out. */
  jitter: number
  /** A run that lasts this long counts as healthy: the next failure starts again at initialMs. */
  resetAfterMs: number
}

/**
 * What a healthcheck probes. command: argv run directly (Docker's ["CMD", ...]); shell: a string
 * run by /bin/sh -c (["CMD-SHELL", ...] or a plain string); http: GET the http URL, healthy on 2xx/3xx;
 * tcp: healthy when HOST:PORT accepts a connection.
 */
export type HealthcheckKind = 'command' | 'shell' | 'http' | 'tcp'

export interface HealthcheckConfig {
  kind: HealthcheckKind
  /** argv for command; the script for shell; the URL for http; HOST:PORT for tcp. */
  target: string[] | string
  intervalMs: number
  timeoutMs: number
  /** Consecutive failures before the app counts as unhealthy. */
  retries: number
  /** Failures during this time after start do not count. */
  startPeriodMs: number
}

export interface LoggingConfig {
  /** A log file is rotated when it reaches this size. */
  maxSizeBytes: number
  /** Files kept per app, the current one included. */
  maxFiles: number
  /** Where the files go; undefined: contain's state directory decides. */
  dir?: string
}

/**
 * How a restart replaces a running instance. rolling (compose's update order start-first): the
 * new instance starts beside the old one on the same listen: sockets, and the old one is stopped
 * once the new one is healthy (running, without a health check). stop-first: the old one is
 * stopped, then the new one started (docker restart, compose up).
 */
export const RESTART_MODES = ['rolling', 'stop-first'] as const
export type RestartMode = (typeof RESTART_MODES)[number]

export interface SupervisionConfig {
  restart: RestartConfig
  /** Undefined: not set, and the app's listen: decides (see restartModeOf). */
  restartMode?: RestartMode
  /** Instances of the app (replicas, compose's deploy.replicas or scale), at least 1. */
  replicas: number
  backoff: BackoffConfig
  /** Undefined: no healthcheck (the default, and what test: NONE asks for). */
  healthcheck?: HealthcheckConfig
  stopSignal: NodeJS.Signals
  /** Time between stopSignal and SIGKILL. */
  stopGraceMs: number
  logging: LoggingConfig
}

/** Docker's: never restart. */
export const DEFAULT_RESTART: Readonly<RestartConfig> = {policy: 'no'}

/** Fast first retry, capped at a minute, so a crash loop neither spins nor waits for long. */
export const DEFAULT_BACKOFF: Readonly<BackoffConfig> = {initialMs: 100, maxMs: 60_000, factor: 2, jitter: 0.1, resetAfterMs: 10_000}

/** Docker's healthcheck timing: every 30 s, 30 s to answer, unhealthy after 3 failures, no grace. */
export const DEFAULT_HEALTHCHECK_TIMING: Readonly<Omit<HealthcheckConfig, 'kind' | 'target'>> = {
  intervalMs: 30_000,
  timeoutMs: 30_000,
  retries: 3,
  startPeriodMs: 0,
}

/** Docker's: SIGTERM, then SIGKILL after 10 s. */
export const DEFAULT_STOP_SIGNAL: NodeJS.Signals = 'SIGTERM'
export const DEFAULT_STOP_GRACE_MS = 10_000

/** Docker's json-file driver with max-size 10m and 5 files: at most 50 MiB of logs per app. */
export const DEFAULT_LOGGING: Readonly<LoggingConfig> = {maxSizeBytes: 10 * 2 ** 20, maxFiles: 5}

/** A fresh copy of the defaults, for the caller to fill in. */
export function defaultSupervision(): SupervisionConfig {
  return {
    restart: {...DEFAULT_RESTART},
    replicas: 1,
    backoff: {...DEFAULT_BACKOFF},
    stopSignal: DEFAULT_STOP_SIGNAL,
    stopGraceMs: DEFAULT_STOP_GRACE_MS,
    logging: {...DEFAULT_LOGGING},
  }
}

/**
 * The default is rolling for an app with listen: sockets and stop-first otherwise. Only sockets
 * that contain holds can be shared by two instances at once: an app that binds its own port
 * would see the new instance fail with EADDRINUSE beside the old one, and two instances of a
 * worker (a queue consumer, a cron) overlapping is a change of behaviour nobody asked for.
 */
export function restartModeOf(mode: RestartMode | undefined, listens: boolean): RestartMode {
  return mode ?? (listens ? 'rolling' : 'stop-first')
}

/** restart_mode: rolling, or stop-first; compose's update_config order names (start-first) are taken too. */
export function parseRestartMode(field: string, text: string): RestartMode {
  const value = text.trim()
  if (value === 'start-first') return 'rolling'
  if ((RESTART_MODES as readonly string[]).includes(value)) return value as RestartMode
  throw new InvalidValueError(
    field,
    text,
    'unknown restart mode',
    'use rolling (start the new instance beside the old one, then stop the old one) or stop-first (stop, then start)',
  )
}

/** replicas: a whole number of instances, at least 1. */
export function parseReplicas(field: string, text: string): number {
  return parseInteger(
    field,
    text,
    1,
    MAX_REPLICAS,
    `give at least 1 instance, e.g. ${field.split('.').pop()}: 2; to run none, stop the app (contain stop APP) or remove it from the file`,
  )
}

/** A bound well above any host's use (each instance is a process tree and a cgroup). */
export const MAX_REPLICAS = 256

const DURATION_UNITS_MS: Record<string, number> = {h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, μs: 1e-3, ns: 1e-6}
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)([a-zA-Zµμ]*)/gy
/** A whole duration as parseDuration takes it (0 aside), for the JSON Schema. */
export const DURATION_PATTERN = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:h|m|s|ms|us|µs|μs|ns))+$/
const DURATION_FIX = 'write a number with a unit (h, m, s, ms), e.g. 10s, 1m30s or 500ms'

/**
 * A compose duration (Go's time.ParseDuration): parts such as 1h, 1m30s, 2.5s, 500ms, in ms.
 * A bare number has no unit and is refused (is 10 seconds or milliseconds?), except 0.
 */
export function parseDuration(field: string, text: string): number {
  const trimmed = text.trim()
  if (trimmed === '0') return 0
  if (/^[+-]?\d*\.?\d+$/.test(trimmed)) {
    throw new InvalidValueError(field, text, 'has no unit', `add a unit: ${trimmed}s for seconds, ${trimmed}ms for milliseconds`)
  }
  if (trimmed.startsWith('-')) throw new InvalidValueError(field, text, 'must not be negative', DURATION_FIX)
  let total = 0
  DURATION_PART.lastIndex = 0
  let match: RegExpExecArray | null = null
  while (DURATION_PART.lastIndex < trimmed.length && (match = DURATION_PART.exec(trimmed)) !== null) {
    const unit = DURATION_UNITS_MS[match[2]]
    if (unit === undefined) {
      throw new InvalidValueError(
        field,
        text,
        match[2] === '' ? 'has a number without a unit' : `unknown unit ${JSON.stringify(match[2])}`,
        match[2] === 'd' ? 'write days as hours, e.g. 24h' : DURATION_FIX,
      )
    }
    total += Number(match[1]) * unit
  }
  if (trimmed === '' || DURATION_PART.lastIndex !== trimmed.length || match === null) {
    throw new InvalidValueError(field, text, 'not a duration', DURATION_FIX)
  }
  if (!Number.isFinite(total)) throw new InvalidValueError(field, text, 'is too long', 'use a shorter duration')
  return total
}

/** Docker's --restart forms: no, always, unless-stopped, on-failure[:N]. */
export function parseRestart(field: string, text: string): RestartConfig {
  const [policy, count, ...rest] = text.trim().split(':')
  const fix = 'use no, always, unless-stopped, on-failure or on-failure:N (give up after N restarts)'
  if (!(RESTART_POLICIES as readonly string[]).includes(policy) || rest.length > 0) {
    throw new InvalidValueError(field, text, 'unknown restart policy', fix)
  }
  if (count === undefined) return {policy: policy as RestartPolicy}
  if (policy !== 'on-failure') throw new InvalidValueError(field, text, 'only on-failure takes a retry count', `write ${policy} alone, or on-failure:${count}`)
  const maxRetries = parseInteger(field, count, 1, 1_000_000, 'write on-failure:N with N of at least 1, or on-failure alone to retry without limit')
  return {policy: 'on-failure', maxRetries}
}

/** A signal by name (SIGTERM, TERM, sigterm) or number (15), as Docker's --stop-signal takes it. */
export function parseSignal(field: string, text: string): NodeJS.Signals {
  const trimmed = text.trim()
  const signals = constants.signals as Record<string, number>
  if (/^\d+$/.test(trimmed)) {
    const name = Object.keys(signals).find(candidate => signals[candidate] === Number(trimmed))
    if (name) return name as NodeJS.Signals
  } else {
    const name = trimmed.toUpperCase().replace(/^(SIG)?/, 'SIG')
    if (name in signals) return name as NodeJS.Signals
  }
  throw new InvalidValueError(field, text, 'unknown signal', 'use a signal name such as SIGTERM, SIGINT, SIGQUIT or SIGUSR1')
}

/** A healthcheck URL: plain http with a host (the probe talks to the app itself, not to a TLS proxy). */
export function parseHttpTarget(field: string, text: string): string {
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {
    // Reported below.
  }
  if (!url || url.protocol !== 'http:' || url.hostname === '') {
    throw new InvalidValueError(
      field,
      text,
      url?.protocol === 'https:' ? 'https is not supported: the probe talks plain http to the app' : 'not an http URL',
      "write the app's own http URL, e.g. http://127.0.0.1:3000/up",
    )
  }
  return text
}

/** A healthcheck TCP address: HOST:PORT, with IPv6 hosts in brackets. */
export function parseTcpTarget(field: string, text: string): string {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(text.trim())
  const port = match ? Number(match[2]) : 0
  if (!match || port < 1 || port > 65_535) {
    throw new InvalidValueError(field, text, 'not a HOST:PORT address', 'write the address the app listens on, e.g. 127.0.0.1:3000 or [::1]:3000')
  }
  return text.trim()
}

/** A log file size limit, as Docker's max-size: a size of at least 1 KiB. */
export function parseLogSize(field: string, text: string): number {
  const bytes = parseSize(field, text)
  if (bytes < 1024) throw new InvalidValueError(field, text, 'is below 1 KiB', 'use a size such as 10m')
  return bytes
}

/** A number within [min, max] (decimals allowed), for backoff factor and jitter. */
export function parseNumberInRange(field: string, text: string, min: number, max: number): number {
  const value = /^\d*\.?\d+$/.test(text.trim()) ? Number(text) : Number.NaN
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new InvalidValueError(field, text, `must be a number from ${min} to ${max}`, `use a value from ${min} to ${max}`)
  }
  return value
}
