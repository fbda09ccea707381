// Types of launch.js for the TypeScript that imports it (test/unit/bench): bench/ is plain JavaScript.
import type {SuiteContext} from '../lib/suite.js'

export const name: string
export const title: string
export const workloads: Record<string, {name: string; label: string; host: string[]; container: string[]}>
export const targets: {id: string; text: string; of: string; to: string[]; ok: (ratio: number) => boolean}[]
export function run(ctx: SuiteContext): Promise<unknown>
/** A target's verdict: status 'n/a' with why in detail, or 'met'/'missed' with the ratio it was judged on. */
export interface TargetResult {
  workload: string
  id: string
  text: string
  status: string
  detail?: string
  of?: string
  to?: string
  ratio?: number | null
  statistic?: string
  pairs?: number
  ratioOfMinimums?: number | null
}
export function judgeTargets(
  workload: string,
  rows: readonly {id: string; min: number}[],
  byRound: (id: string) => readonly (number | null)[] | undefined,
): TargetResult[]
