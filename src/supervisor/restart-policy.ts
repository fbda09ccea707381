import type {BackoffConfig as Backoff, RestartConfig as RestartPolicy} from '../config/supervision.js'

export interface RunEnd {
  exitCode: number
  /** contain stop/down ended it: no policy restarts an app its user stopped. */
  stoppedByUser: boolean
  /** Its health check failed and contain stopped it: a failure, whatever the exit code. */
  unhealthy?: boolean
}

export type RestartDecision = {restart: true; delayMs: number} | {restart: false; reason: 'policy' | 'stopped' | 'gave-up'}

/**
 * Whether and when to restart an app that ended, by Docker's rules: `on-failure` restarts on a
 * non-zero exit (up to N times), `always` and `unless-stopped` on any exit. The delay grows by
 * `factor` per restart in a row, up to `maxMs`, so a crash loop never becomes a hot loop.
 */
export function decideRestart(
  policy: RestartPolicy,
  backoff: Backoff,
  end: RunEnd,
  restartsInARow: number,
  random: () => number = Math.random,
): RestartDecision {
  if (end.stoppedByUser) return {restart: false, reason: 'stopped'}
  if (policy.policy === 'no') return {restart: false, reason: 'policy'}
  if (policy.policy === 'on-failure') {
    if (end.exitCode === 0 && !end.unhealthy) return {restart: false, reason: 'policy'}
    if (policy.maxRetries !== undefined && restartsInARow >= policy.maxRetries) return {restart: false, reason: 'gave-up'}
  }
  return {restart: true, delayMs: backoffDelay(backoff, restartsInARow, random)}
}

/** initial × factor^n, capped at max, with ±jitter. */
export function backoffDelay(backoff: Backoff, restartsInARow: number, random: () => number = Math.random): number {
  // The exponent is capped so that a long crash loop cannot overflow to Infinity (0 × Infinity is NaN).
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** Math.min(restartsInARow, 64))
  const spread = base * backoff.jitter * (random() * 2 - 1)
  return Math.max(0, Math.round(Math.min(backoff.maxMs, base + spread)))
}
