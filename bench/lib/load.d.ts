// Types of load.js for the TypeScript that imports it (test/unit/bench): bench/ is plain JavaScript.

export type FailureKind = 'refused' | 'reset' | 'http5xx' | 'timeout' | 'other'
export type Outcome = 'ok' | FailureKind
export const FAILURE_KINDS: FailureKind[]
export function classifyError(error: unknown): FailureKind
export function classifyStatus(status: number): 'http5xx' | 'ok'
export interface LoadEvent {
  t: number
  /** An Outcome; other kinds are counted under their own name. */
  kind: string
  latencyMs?: number
  error?: string
  pending?: number
}
type Latencies = {p50: number | null; p99: number | null; max: number | null}
export function perSecond(events: readonly LoadEvent[], durationMs: number): ({second: number} & Record<Outcome, number> & Latencies)[]
export function perSecondAround(events: readonly LoadEvent[], fromMs: number, toMs: number): ({second: number} & Record<Outcome, number> & Latencies)[]
export function serviceGap(events: readonly LoadEvent[], fromMs: number, toMs: number): {ms: number; from: number; to: number}
export function totals(events: readonly LoadEvent[]): Record<Outcome, number> & {failed: number} & Latencies
/** One measured action, as the deploy suite records it (the fields the round summaries read). */
export interface Measured extends Record<string, unknown> {
  requests: number
  ok: number
  failed: number
  gap: {ms: number}
  p50: number | null
  p99: number | null
  max: number | null
  actionMs: number
}
export function maxOfRounds(measured: readonly Measured[]): Record<string, unknown>
export function worstRoundOf<M extends Measured>(measured: readonly M[]): {round: number; m: M}
export function steadyLoad(options: {
  url: string
  connections?: number
  rate?: number
  timeoutS?: number
  maxSeconds?: number
}): Promise<{now: () => number; events: readonly LoadEvent[]; stop: () => Promise<{events: LoadEvent[]; durationMs: number; result: unknown}>}>
