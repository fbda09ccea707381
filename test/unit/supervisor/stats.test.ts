import t from 'tap'
import type {CgroupUsage} from '../../../src/cgroup/index.js'
import type {AppStatus} from '../../../src/supervisor/app.js'
import {formatStats, sampleStats, type StatsRow} from '../../../src/supervisor/stats.js'

const MiB = 2 ** 20

function usage(overrides: Partial<CgroupUsage> = {}): CgroupUsage {
  return {cpuMicros: 0, periods: 0, throttledPeriods: 0, memoryBytes: 0, pids: 1, ...overrides}
}

function status(name: string, state: AppStatus['state'], appUsage?: CgroupUsage): AppStatus {
  return {name, state, restarts: 0, health: 'none', usage: appUsage, lastLines: []}
}

t.test('sampleStats: CPU % is CPU time over wall time, in % of one CPU', async t => {
  const before = [status('web', 'running', usage({cpuMicros: 1_000_000}))]
  const after = [status('web', 'running', usage({cpuMicros: 1_250_000}))]
  t.equal(sampleStats(before, after)[0].cpuPercent, 25, '250 ms of CPU in the default 1 s')
  t.equal(sampleStats(before, after, 500)[0].cpuPercent, 50, '250 ms in 500 ms')
  t.equal(
    sampleStats([status('w', 'running', usage({cpuMicros: 0}))], [status('w', 'running', usage({cpuMicros: 3_000_000}))], 2000)[0].cpuPercent,
    150,
    'two busy CPUs: above 100 %',
  )
})

t.test('sampleStats: throttled share of the CFS periods between the samples', async t => {
  const before = [status('web', 'running', usage({periods: 100, throttledPeriods: 10}))]
  const after = [status('web', 'running', usage({periods: 300, throttledPeriods: 60}))]
  t.equal(sampleStats(before, after)[0].throttledPercent, 25, '50 of 200 periods')
  const idle = sampleStats(after, after)[0]
  t.equal(idle.throttledPercent, 0, 'no period elapsed (no CPU limit, or an idle app): nothing throttled')
})

t.test("sampleStats: memory, pids and pressure are the latest sample's", async t => {
  const before = [status('web', 'running', usage({memoryBytes: 10 * MiB, pids: 3}))]
  const latest = usage({
    cpuMicros: 5,
    memoryBytes: 64 * MiB,
    memoryLimitBytes: 256 * MiB,
    anonBytes: 40 * MiB,
    fileBytes: 20 * MiB,
    pids: 7,
    cpuPressure: 0.125,
    memoryPressure: 0,
  })
  const [row] = sampleStats(before, [status('web', 'running', latest)])
  t.strictSame(row, {
    name: 'web',
    state: 'running',
    cpuPercent: 0.0005,
    throttledPercent: 0,
    memoryBytes: 64 * MiB,
    memoryLimitBytes: 256 * MiB,
    anonBytes: 40 * MiB,
    fileBytes: 20 * MiB,
    pids: 7,
    cpuPressure: 0.125,
    memoryPressure: 0,
  })
})

t.test('sampleStats: apps are matched by name, in the order of the second sample', async t => {
  const before = [status('worker', 'running', usage({cpuMicros: 0})), status('web', 'running', usage({cpuMicros: 0}))]
  const after = [status('web', 'running', usage({cpuMicros: 100_000})), status('worker', 'running', usage({cpuMicros: 900_000}))]
  t.strictSame(
    sampleStats(before, after).map(row => [row.name, row.cpuPercent]),
    [
      ['web', 10],
      ['worker', 90],
    ],
  )
})

t.test('sampleStats: an app without a cgroup has only its name and state', async t => {
  t.strictSame(sampleStats([], [status('db', 'stopped')]), [{name: 'db', state: 'stopped'}])
  t.strictSame(sampleStats([status('db', 'running', usage())], [status('db', 'failed')]), [{name: 'db', state: 'failed'}])
})

t.test('sampleStats: an app new in the second sample has no CPU figure yet', async t => {
  const [row] = sampleStats([], [status('web', 'running', usage({cpuMicros: 1000, periods: 10, throttledPeriods: 5, memoryBytes: MiB}))])
  t.equal(row.cpuPercent, undefined, 'CPU %: unknown')
  t.equal(row.memoryBytes, MiB, 'memory is known')
  t.equal(row.throttledPercent, undefined, 'throttled: unknown too, not 0 %')
})

t.test('formatStats: one aligned row per app, units and percentages', async t => {
  const rows: StatsRow[] = [
    {
      name: 'web',
      state: 'running',
      cpuPercent: 12.345,
      throttledPercent: 0,
      memoryBytes: 64 * MiB,
      memoryLimitBytes: 256 * MiB,
      anonBytes: 40 * MiB,
      fileBytes: 1536,
      pids: 7,
      cpuPressure: 0.0123,
      memoryPressure: 0,
    },
    {name: 'worker', state: 'running', cpuPercent: 100, throttledPercent: 37.5, memoryBytes: 1.5 * MiB, anonBytes: MiB, fileBytes: 0, pids: 12},
    {name: 'db', state: 'stopped'},
  ]
  const text = formatStats(rows)
  const lines = text.split('\n')
  t.equal(lines.length, 4)
  t.match(lines[0], /^NAME\s+STATE\s+CPU %\s+THROTTLED\s+MEM \/ LIMIT\s+ANON\s+FILE\s+PIDS\s+PSI CPU\s+PSI MEM$/)
  const cells = (line: string) => line.split(/\s{2,}/)
  t.strictSame(cells(lines[1]), ['web', 'running', '12.3%', '0.0%', '64 MiB / 256 MiB', '40 MiB', '1.5 KiB', '7', '1.2%', '0.0%'])
  t.strictSame(cells(lines[2]), ['worker', 'running', '100.0%', '37.5%', '1.5 MiB / none', '1 MiB', '0 B', '12', '-', '-'], 'no limit: "none"; no PSI: "-"')
  t.strictSame(cells(lines[3]), ['db', 'stopped', '-', '-', '- / none', '-', '-', '-', '-', '-'])
  // Columns line up: cells are separated by 2+ spaces (cells hold single spaces only), and every
  // cell starts where its header does.
  const starts = (line: string) => [0, ...[...line.matchAll(/ {2,}/g)].map(match => (match.index ?? 0) + match[0].length)]
  for (const line of lines.slice(1)) t.strictSame(starts(line), starts(lines[0]), `aligned: ${line.split(' ')[0]}`)
  t.notOk(
    lines.some(line => line.endsWith(' ')),
    'no trailing spaces',
  )
})

t.test('formatStats: only the header without apps', async t => {
  t.equal(formatStats([]), 'NAME  STATE  CPU %  THROTTLED  MEM / LIMIT  ANON  FILE  PIDS  PSI CPU  PSI MEM')
})
