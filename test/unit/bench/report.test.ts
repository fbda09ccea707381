/** Every bench report names the statistic behind its ratios (issue 15), and only reports with ratios do. */
import t from 'tap'
import {genericMarkdown, markdown} from '../../../bench/lib/report.js'
import {RATIO_STATISTIC} from '../../../bench/lib/stats.js'

const machine = {
  cpuModel: 'cpu',
  cpuCount: 2,
  memoryMiB: 1024,
  os: 'Debian',
  kernel: '6.1',
  cgroupMode: 'hybrid',
  node: 'v20',
  loadAverageAtStart: [0.1, 0.1, 0.1],
  loadAverageAtEnd: [0.1, 0.1, 0.1],
}
const base = {
  title: 'Restart latency',
  date: '2026-12-07',
  command: 'node bench/run.js',
  startedAt: 'now',
  durationSeconds: 1,
  machine,
  peers: [],
  targets: [],
  sections: [],
  cleanup: [],
  hostCheck: {},
}

t.test('a suite with ratios states the statistic at the top of its report', async t => {
  const md = genericMarkdown({...base, ratioStatistic: RATIO_STATISTIC, config: {rounds: 3, warmup: 1}})
  t.match(md, /Ratios \("×"\) are the median of per-round ratios: each round runs every case once/)
  t.match(md, /3 interleaved rounds after 1 warm-up round ·/)
  t.ok(md.indexOf('median of per-round ratios') < md.indexOf('## Targets'), 'before the first table')
})

t.test('a suite without ratios (limits, isolation) says nothing about them', async t => {
  const md = genericMarkdown({...base, config: {rounds: 2}})
  t.notMatch(md, /Ratios/)
})

t.test('the launch report names the statistic in its table note and its targets note', async t => {
  const result = {
    ...base,
    title: 'Launch latency',
    ratioStatistic: RATIO_STATISTIC,
    config: {rounds: 3, warmup: 2, workloads: {true: '/bin/true'}},
    peers: [
      {id: 'node', label: 'node -e 0', available: true, commands: {true: ['node', '-e', '0']}},
      {id: 'contain', label: 'contain run', available: true, commands: {true: ['contain', 'run', 'true']}},
    ],
    summary: {
      true: [
        {id: 'node', label: 'node -e 0', median: 40, min: 38, max: 45, p90: 44, xNode: 1, xContain: 0.8},
        {id: 'contain', label: 'contain run', median: 50, min: 47, max: 60, p90: 58, xNode: 1.25, xContain: 1},
      ],
    },
    targets: [
      {workload: 'true', id: 'contain', text: 'contain run ≤ 1.3× node -e 0', ratio: 1.25, statistic: RATIO_STATISTIC, ratioOfMinimums: 1.24, status: 'met'},
    ],
  }
  const md = markdown(result)
  t.match(md, /"× node -e 0" and "× contain" are the median of per-round ratios\./)
  t.match(md, /Targets are judged on the median of per-round ratios;/)
  t.notMatch(md, /ratios of medians/)
})

t.test('an older launch report, without a named statistic, is rendered as what it was', async t => {
  const md = markdown({...base, title: 'Launch latency', config: {rounds: 3, workloads: {}}, summary: {}, targets: []})
  t.match(md, /are the ratio of medians\./)
  t.notMatch(md, /per-round/)
})
