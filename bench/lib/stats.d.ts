// Types of stats.js for the TypeScript that imports it (test/unit/bench): bench/ is plain JavaScript.
// Keep beside the module and in step with it.

export interface Summary {
  n: number
  median?: number
  min?: number
  max?: number
  p90?: number
  mean?: number
  stdev?: number
}
export function summarize(values: readonly number[]): Summary
export function nearestRank(sorted: readonly number[], q: number): number
export function round(x: number | null | undefined, digits?: number): number | null
export const RATIO_STATISTIC: string
export const RATIO_STATISTIC_TEXT: string
/** Rounds where either side is not a finite number (null, undefined: a failed run) are left out. */
export function pairedRatio(a: readonly unknown[] | undefined, b: readonly unknown[] | undefined): {median: number; n: number; ratios: number[]} | undefined
export function roundsText(n: number): string
