// The deploy suite's arithmetic: per-second rows, the gap in service, totals and how a client error is
// named. A wrong gap or a failure counted in the wrong second would misreport an outage.
import t from 'tap'
import {
  FAILURE_KINDS,
  classifyError,
  classifyStatus,
  perSecond,
  perSecondAround,
  serviceGap,
  totals,
  maxOfRounds,
  worstRoundOf,
} from '../../../bench/lib/load.js'

const ok = (t: number, latencyMs: number) => ({t, kind: 'ok', latencyMs})
const fail = (t: number, kind: string) => ({t, kind})

t.test('classifyError names refused, reset, timeout and other apart', async t => {
  t.equal(classifyError(Object.assign(new Error('x'), {code: 'ECONNREFUSED'})), 'refused')
  t.equal(classifyError(Object.assign(new Error('x'), {code: 'ECONNRESET'})), 'reset')
  t.equal(classifyError(Object.assign(new Error('x'), {code: 'EPIPE'})), 'reset')
  t.equal(classifyError(new Error('request timed out')), 'timeout')
  t.equal(classifyError(Object.assign(new Error('x'), {code: 'ETIMEDOUT'})), 'timeout')
  t.equal(classifyError(Object.assign(new Error('x'), {code: 'EHOSTUNREACH'})), 'other')
  t.equal(classifyError(undefined), 'other')
  t.equal(classifyStatus(200), 'ok')
  t.equal(classifyStatus(404), 'ok', 'an answer, not an outage')
  t.equal(classifyStatus(502), 'http5xx')
})

t.test('perSecond puts each event in the second it completed in, latency of successes only', async t => {
  const rows = perSecond(
    [ok(10, 5), ok(900, 7), ok(999.9, 100), fail(1000, 'refused'), fail(1500, 'reset'), ok(2100, 3), fail(2200, 'http5xx'), fail(2300, 'timeout')],
    3000,
  )
  t.equal(rows.length, 3)
  t.same(
    rows.map(r => r.second),
    [0, 1, 2],
  )
  t.match(rows[0], {ok: 3, refused: 0, p50: 7, max: 100})
  t.equal(rows[0].p99, 100)
  t.match(rows[1], {ok: 0, refused: 1, reset: 1, p50: null, p99: null, max: null})
  t.match(rows[2], {ok: 1, http5xx: 1, timeout: 1, p50: 3, p99: 3, max: 3})
  for (const k of FAILURE_KINDS) t.ok(k in rows[0], `every row has ${k}`)
})

t.test('perSecond: events past the end fall in the last second; none before 0 are counted', async t => {
  const rows = perSecond([fail(-5, 'refused'), ok(2500, 1)], 2000)
  t.equal(rows.length, 2)
  t.equal(rows[1].ok, 1)
  t.equal(rows[0].refused + rows[1].refused, 0)
  t.equal(perSecond([], 0).length, 1, 'an empty run still has a row')
})

t.test('serviceGap is the longest stretch without a success, the window ends included', async t => {
  const events = [ok(100, 1), ok(200, 1), fail(300, 'refused'), fail(2000, 'refused'), ok(2600, 1), ok(2700, 1)]
  t.same(serviceGap(events, 0, 3000), {ms: 2400, from: 200, to: 2600})
  t.same(serviceGap([ok(100, 1)], 0, 5000), {ms: 4900, from: 100, to: 5000}, 'no answer until the end')
  t.same(serviceGap([fail(10, 'refused')], 0, 1000), {ms: 1000, from: 0, to: 1000}, 'never answered: the whole window')
  t.same(serviceGap([ok(1500, 1), ok(100, 1)], 0, 2000), {ms: 1400, from: 100, to: 1500}, 'order of events does not matter')
  t.equal(serviceGap([ok(-100, 1), ok(5000, 1)], 0, 1000).ms, 1000, 'successes outside the window are ignored')
})

t.test('totals counts every kind and the latency of successes', async t => {
  const all = totals([ok(1, 10), ok(2, 20), ok(3, 30), fail(4, 'refused'), fail(5, 'reset'), fail(6, 'timeout')])
  t.match(all, {ok: 3, refused: 1, reset: 1, timeout: 1, http5xx: 0, other: 0, failed: 3, p50: 20, p99: 30, max: 30})
  t.match(totals([]), {ok: 0, failed: 0, p50: null, max: null})
})

t.test('perSecondAround labels each row by the second from the action it covers, whatever the lead', async t => {
  // The load began 2011 ms before the action (the 2026-12-07 run): a reset 1500 ms after the action
  // is in second 1, an answer 440 ms after it in second 0, one 100 ms before it in second -1.
  const rows = perSecondAround([ok(-2000, 1), ok(-100, 2), ok(440, 3), fail(1500, 'reset'), ok(5999, 4)], -2011, 6036)
  t.same(
    rows.map(r => r.second),
    [-3, -2, -1, 0, 1, 2, 3, 4, 5, 6],
  )
  const at = (second: number) => rows.find(r => r.second === second)
  t.equal(at(-3)?.ok, 0, "second -3 holds only the load's first 989 ms, none of them answered here")
  t.equal(at(-2)?.ok, 1, '-2000 ms: second -2')
  t.equal(at(-1)?.ok, 1, '-100 ms: second -1')
  t.equal(at(0)?.ok, 1, '440 ms: second 0')
  t.equal(at(0)?.reset, 0)
  t.equal(at(1)?.reset, 1, '1500 ms: second 1, not 0 as the relabelled rows said')
  t.equal(at(5)?.ok, 1, '5999 ms: second 5')
})

t.test('rounds: the max row takes each figure at its worst, and the per-second table shows the round with the most failures', async t => {
  const round = (over: Record<string, unknown>) => ({
    requests: 1500,
    ok: 1500,
    refused: 0,
    reset: 0,
    http5xx: 0,
    timeout: 0,
    other: 0,
    failed: 0,
    gap: {ms: 300},
    p50: 6,
    p99: 300,
    max: 450,
    actionMs: 2000,
    ...over,
  })
  const rounds = [round({}), round({ok: 1499, reset: 1, failed: 1, max: 490}), round({gap: {ms: 430}, actionMs: 2600})]
  t.match(maxOfRounds(rounds), {ok: 1499, reset: 1, refused: 0, gap: {ms: 430}, max: 490, actionMs: 2600})
  t.equal(worstRoundOf(rounds).round, 2)
  t.equal(worstRoundOf([round({}), round({})]).round, 1, 'the first of equals')
})
