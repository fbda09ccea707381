/**
 * What `contain up` on a running project does to each app, decided from the configuration that
 * runs and the one just read (compose's semantics): a new app is started, a removed one stopped,
 * a changed one recreated, an unchanged one left alone. Pure: the supervisor carries it out
 * (src/supervisor/deploy.ts), and tests check every decision and description here.
 */
import type {AppConfig} from '../config/project.js'
import {FILE_OPTIONS} from '../config/schema.js'
import type {RestartConfig, SupervisionConfig} from '../config/supervision.js'
import type {AppSpec} from './app-types.js'

/** compose's --no-recreate (never), default (changed), --force-recreate (always). */
export type RecreatePolicy = 'changed' | 'never' | 'always'

export const AppAction = {
  /** New in the file, or stopped before: started. */
  started: 'started',
  /** Its configuration changed (or --force-recreate): the old run stopped, the new one started. */
  recreated: 'recreated',
  unchanged: 'unchanged',
  /** Changed, but --no-recreate: the old configuration runs on. */
  kept: 'kept',
  /** No longer in the file: stopped and its cgroup removed. */
  removed: 'removed',
} as const
export type AppAction = (typeof AppAction)[keyof typeof AppAction]

/** One app's outcome, as `contain up` prints it and `--json` gives it. */
export interface AppOutcome {
  name: string
  action: AppAction
  /** What changed, one short phrase each (`mem_limit 512m -> 1g`); values of the environment are never shown. */
  changes: string[]
  /** It was to be started but could not be (the reason). */
  error?: string
  /** Recreated by a rolling restart (the new version beside the old one); failed: the old version keeps serving. */
  rolled?: 'done' | 'failed'
}

/** An app as it runs, or as the file now describes it. */
export interface AppVersion {
  config: AppConfig
  spec: AppSpec
}

export interface DeployedApp extends AppVersion {
  /** Running, starting or in backoff: up, as far as `contain up` is concerned. */
  up: boolean
}

export interface DecideOptions {
  /** `contain up` named no apps: every app of the file, and the ones no longer in it are removed. */
  all: boolean
  recreate: RecreatePolicy
}

/**
 * Each app's action, apps of the file first in its order, then the removed ones. `next` holds the
 * apps asked for (all of the file when `all`); apps neither asked for nor removed are not listed.
 */
export function decideActions(current: ReadonlyMap<string, DeployedApp>, next: readonly AppVersion[], options: DecideOptions): AppOutcome[] {
  const outcomes: AppOutcome[] = next.map(version => {
    const running = current.get(version.config.name)
    if (!running) return {name: version.config.name, action: AppAction.started, changes: []}
    const changes = describeChanges(running, version)
    if (options.recreate === 'always')
      return {name: version.config.name, action: AppAction.recreated, changes: changes.length > 0 ? changes : ['--force-recreate']}
    if (changes.length > 0 && options.recreate === 'changed') return {name: version.config.name, action: AppAction.recreated, changes}
    // compose's up starts what is stopped; with --no-recreate it starts the old configuration.
    if (!running.up) return {name: version.config.name, action: AppAction.started, changes}
    return {name: version.config.name, action: changes.length > 0 ? AppAction.kept : AppAction.unchanged, changes}
  })
  if (options.all) {
    const names = new Set(next.map(version => version.config.name))
    for (const name of current.keys()) if (!names.has(name)) outcomes.push({name, action: AppAction.removed, changes: []})
  }
  return outcomes
}

/** One line per app: `web: recreated (mem_limit 512m -> 1g)`. */
export function formatOutcome(outcome: AppOutcome): string {
  const changes = outcome.changes.join(', ')
  const line =
    outcome.action === AppAction.kept
      ? `${outcome.name}: changed, not recreated (--no-recreate): ${changes}`
      : `${outcome.name}: ${outcome.action}${changes && outcome.action !== AppAction.unchanged ? ` (${changes})` : ''}`
  if (outcome.rolled === 'failed') return `${outcome.name}: not recreated, the running version keeps serving (${changes}): ${outcome.error}`
  const rolled = outcome.rolled === 'done' ? `${line} by a rolling restart` : line
  return outcome.error === undefined ? rolled : `${rolled}, but it could not be started: ${outcome.error}`
}

const MAX_VALUE = 40

function shown(value: unknown): string {
  if (value === undefined || value === null) return 'unset'
  const text = Array.isArray(value) ? `[${value.map(String).join(', ')}]` : typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text
}

function same(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b)
}

/** JSON with object keys sorted and Buffers as hex: equal configurations give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, function (this: unknown, key: string, raw: unknown) {
    // JSON.stringify hands toJSON's result to the replacer; the holder still has the Buffer.
    const original = (this as Record<string, unknown>)[key]
    if (Buffer.isBuffer(original)) return `hex:${original.toString('hex')}`
    if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
      return Object.fromEntries(Object.entries(raw as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    }
    return raw
  })
}

/** Which variables differ, by name only: values are often secrets, and they reach logs and terminals. */
export function environmentChange(before: Record<string, string>, after: Record<string, string>, label = 'environment'): string | undefined {
  const added = Object.keys(after).filter(key => !(key in before))
  const removed = Object.keys(before).filter(key => !(key in after))
  const changed = Object.keys(after).filter(key => key in before && before[key] !== after[key])
  const parts = [
    ...(changed.length > 0 ? [`${changed.sort().join(' ')} changed`] : []),
    ...(added.length > 0 ? [`${added.sort().join(' ')} added`] : []),
    ...(removed.length > 0 ? [`${removed.sort().join(' ')} removed`] : []),
  ]
  return parts.length === 0 ? undefined : `${label}: ${parts.join('; ')}`
}

function describeRestart(restart: RestartConfig): string {
  return restart.maxRetries === undefined ? restart.policy : `${restart.policy}:${restart.maxRetries}`
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
}

/** The supervision keys of contain.yml, each with how its value is shown (undefined: its name alone). */
const SUPERVISION_KEYS: ReadonlyArray<[string, (config: SupervisionConfig) => unknown, ((config: SupervisionConfig) => string)?]> = [
  ['restart', config => config.restart, config => describeRestart(config.restart)],
  ['healthcheck', config => config.healthcheck],
  ['stop_signal', config => config.stopSignal, config => config.stopSignal],
  ['stop_grace_period', config => config.stopGraceMs, config => seconds(config.stopGraceMs)],
  ['backoff', config => config.backoff],
  ['logging', config => config.logging],
  ['replicas', config => config.replicas, config => String(config.replicas)],
  ['restart_mode', config => config.restartMode, config => config.restartMode ?? 'unset'],
]

/**
 * What differs between the app that runs and its new version, in contain.yml's words. A change
 * only the resolved plan shows (an env file's or a seccomp profile's content, the app user's
 * entry in /etc/passwd) is named by the part of the plan it changed.
 */
export function describeChanges(before: AppVersion, after: AppVersion): string[] {
  const changes: string[] = []
  if (!same(before.config.command, after.config.command))
    changes.push(`command ${shown(before.config.command.join(' '))} -> ${shown(after.config.command.join(' '))}`)
  for (const option of FILE_OPTIONS) {
    if (option.flag === 'env') {
      const change = environmentChange(before.config.input.environment ?? {}, after.config.input.environment ?? {}, option.key)
      if (change) changes.push(change)
      continue
    }
    const was = (before.config.input as Record<string, unknown>)[option.flag]
    const now = (after.config.input as Record<string, unknown>)[option.flag]
    if (!same(was, now)) changes.push(`${option.key} ${shown(was)} -> ${shown(now)}`)
  }
  for (const [key, value, show] of SUPERVISION_KEYS) {
    const was = before.config.supervision
    const now = after.config.supervision
    if (same(value(was), value(now))) continue
    changes.push(show ? `${key} ${show(was)} -> ${show(now)}` : key)
  }
  if (changes.length > 0 || same(before.spec, after.spec)) return changes
  const planBefore = before.spec.plan as unknown as Record<string, unknown>
  const planAfter = after.spec.plan as unknown as Record<string, unknown>
  for (const field of new Set([...Object.keys(planBefore), ...Object.keys(planAfter)])) {
    if (same(planBefore[field], planAfter[field])) continue
    if (field === 'env') changes.push(environmentChange(before.spec.plan.env, after.spec.plan.env) ?? 'environment')
    else if (field === 'seccompFilter') changes.push('seccomp filter')
    else if (field === 'argv') changes.push('resolved command')
    else changes.push(`resolved ${field}`)
  }
  // The rest of the spec is the supervision above: unreachable unless a new field is not listed there.
  return changes.length > 0 ? changes : ['supervision']
}
