// Types of suite.js for the TypeScript that imports it (test/unit/bench): bench/ is plain JavaScript.
import type {Summary} from './stats.js'

export interface SuiteContext {
  opts: {runs?: number; quick?: boolean; only?: string[]}
  cleanup: {started: boolean; assertNotStopping(): void}
  log: {info(line: string): void}
}
export interface SuiteCase<T = unknown> {
  id: string
  run(...args: unknown[]): Promise<T>
}
export function roundsFor(ctx: SuiteContext, defaults: {quick: number; full: number}): number
export function rotate<T>(list: readonly T[], r: number): T[]
export function statCells(s: Summary, digits?: number): (number | string | null)[]
export function runRounds<T>(
  ctx: Pick<SuiteContext, 'cleanup' | 'log'>,
  cases: readonly SuiteCase<T>[],
  rounds: number,
  options: {args?: (c: SuiteCase<T>, r: number | string) => Promise<unknown[]>; describe: (got: Record<string, T>) => string; warmup?: number},
): Promise<{samples: Record<string, (T | null)[]>; failures: {round: number | string; case: string; error: string}[]; load: number[]}>
