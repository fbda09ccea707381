/** The one statistic for ratios across the bench's suites (issue 15): the median of per-round ratios. */
import t from 'tap'
import {RATIO_STATISTIC, pairedRatio, summarize} from '../../../bench/lib/stats.js'
import {runRounds} from '../../../bench/lib/suite.js'
import {judgeTargets} from '../../../bench/suites/launch.js'

t.test('pairedRatio divides within each round, then takes the median', async t => {
  // Round 2 is slow for both tools (drift): per round the ratio is 2 every time.
  const a = [20, 200, 22]
  const b = [10, 100, 11]
  const paired = pairedRatio(a, b)!
  t.equal(paired.median, 2)
  t.equal(paired.n, 3)
  t.same(paired.ratios, [2, 2, 2])
  // When drift moves the two tools' medians into different rounds, the ratio of medians tells another story.
  const c = [10, 12, 30]
  const d = [5, 20, 15]
  t.equal(pairedRatio(c, d)!.median, 2)
  t.equal(summarize(c).median! / summarize(d).median!, 0.8)
})

t.test('pairedRatio skips rounds where either side failed, and keeps the rounds aligned', async t => {
  const paired = pairedRatio([3, null, 9, 8], [1, 2, undefined, 4])!
  t.same(paired.ratios, [3, 2])
  t.equal(paired.median, 2.5)
  t.equal(paired.n, 2)
  t.same(pairedRatio([1, 2], [0, Number.NaN]), undefined, 'no usable round: undefined, not NaN or Infinity')
  t.same(pairedRatio(undefined, [1]), undefined)
  t.same(pairedRatio([4, 6, 8], [2, 2])!.ratios, [2, 3], 'only the rounds both have')
})

t.test('the statistic has one name, used by every report', async t => {
  t.equal(RATIO_STATISTIC, 'median of per-round ratios')
})

t.test('runRounds: warm-up rounds are discarded, failures keep their round slot', async t => {
  const calls: string[] = []
  const logs: string[] = []
  const ctx = {cleanup: {started: false, assertNotStopping() {}}, log: {info: (line: string) => logs.push(line)}}
  const cases = [
    {id: 'a', run: async (r: number | string) => (calls.push(`a${r}`), 10)},
    {
      id: 'b',
      run: async (r: number | string) => {
        calls.push(`b${r}`)
        if (r === 1) throw new Error('boom')
        return 20
      },
    },
  ]
  const got = await runRounds(ctx, cases, 3, {warmup: 1, args: async (_: unknown, r: number | string) => [r], describe: () => ''})
  t.same(calls, ['aw0', 'bw0', 'a0', 'b0', 'b1', 'a1', 'a2', 'b2'], 'warm-up first, then each round in a rotating order')
  t.same(got.samples, {a: [10, 10, 10], b: [20, null, 20]})
  t.same(got.failures, [{round: 2, case: 'b', error: 'boom'}])
  t.equal(pairedRatio(got.samples.b, got.samples.a)!.n, 2)
})

t.test('launch targets: paired by round, and docker/podman against contain with the same network', async t => {
  const samples: Record<string, (number | null)[]> = {
    node: [40, 80, 42],
    contain: [50, 100, null],
    'contain-nonet': [60, 120, 66],
    docker: [240, 480, 264],
  }
  const rows = Object.keys(samples).map(id => ({id, min: Math.min(...samples[id].filter(x => x !== null))}))
  const got = judgeTargets('true', rows, (id: string) => samples[id])
  const byId = Object.fromEntries(got.map(x => [x.id, x]))
  t.equal(byId.contain.ratio, 1.25, 'contain / node over the two rounds where both ran')
  t.equal(byId.contain.pairs, 2)
  t.equal(byId.contain.statistic, RATIO_STATISTIC)
  t.equal(byId.docker.to, 'contain-nonet', 'docker --network none against contain --network none')
  t.equal(byId.docker.ratio, 4)
  t.equal(byId.docker.status, 'met')
  t.notOk(byId.docker.detail)
  t.equal(byId.podman.status, 'n/a')
  t.match(byId.podman.detail, /not measured: podman/)

  const withoutNoNet = rows.filter(r => r.id !== 'contain-nonet')
  const fallback = judgeTargets('true', withoutNoNet, (id: string) => samples[id]).find(x => x.id === 'docker')!
  t.equal(fallback.to, 'contain')
  t.match(fallback.detail, /not the same work/, 'the unequal network is said beside the figure')
})
