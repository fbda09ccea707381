// Small helpers shared by suites 2-6.
import {round} from './stats.js'

/** Rounds of a suite: --runs when given, else its own quick or full default. */
export function roundsFor(ctx, {quick, full}) {
  return ctx.opts.runs ?? (ctx.opts.quick ? quick : full)
}

/** Round r runs the cases starting at a different one each time, so no case always goes first. */
export function rotate(list, r) {
  return list.map((_, i) => list[(i + r) % list.length])
}

/** median, min, max, p90, n of a summarize() result, rounded for a table. */
export function statCells(s, digits = 3) {
  return [round(s.median, digits), round(s.min, digits), round(s.max, digits), round(s.p90, digits), String(s.n)]
}
