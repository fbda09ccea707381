// Small helpers shared by suites 2-6.
import {readFileSync} from 'node:fs'
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

/**
 * Every case once per round, in rotating order, after `warmup` rounds whose results are discarded (every
 * case warms up alike: page cache, the daemons' first container, Node's compile cache). A case that throws
 * is recorded in `failures` and leaves null in its round's slot (so samples[id][r] stays round r, which
 * stats.pairedRatio relies on), unless the cleanup has begun. `args(c, r)` gives each case's arguments
 (r: the round's index, or 'w0', 'w1', ... in warm-up);
 * `describe(got)` the progress line's text for a round.
 */
export async function runRounds(ctx, cases, rounds, {args = async () => [], describe, warmup = 0}) {
  const samples = Object.fromEntries(cases.map(c => [c.id, []]))
  const failures = []
  const load = []
  for (let w = 0; w < warmup; w++) {
    for (const c of rotate(cases, w)) {
      ctx.cleanup.assertNotStopping()
      try {
        await c.run(...(await args(c, `w${w}`)))
      } catch (error) {
        if (ctx.cleanup.started) throw error
        failures.push({round: `warm-up ${w + 1}`, case: c.id, error: String(error?.message ?? error)})
      }
    }
    ctx.log.info(`warm-up round ${w + 1}/${warmup} done`)
  }
  for (let r = 0; r < rounds; r++) {
    load.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]))
    const got = {}
    for (const c of rotate(cases, r)) {
      ctx.cleanup.assertNotStopping()
      try {
        got[c.id] = await c.run(...(await args(c, r)))
      } catch (error) {
        if (ctx.cleanup.started) throw error
        failures.push({round: r + 1, case: c.id, error: String(error?.message ?? error)})
      }
    }
    for (const c of cases) samples[c.id].push(got[c.id] ?? null)
    ctx.log.info(`round ${r + 1}/${rounds}: ${describe(got)}`)
  }
  return {samples, failures, load}
}
