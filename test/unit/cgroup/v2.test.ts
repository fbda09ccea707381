import t from 'tap'
import type {Setting} from '../../../src/cgroup/limits.js'
import {parseMemoryEvents, sharesToWeight, v2Files} from '../../../src/cgroup/v2.js'

const MiB = 2 ** 20
const files = (settings: Setting[]) => settings.map(({controller, file, value}) => `${controller}:${file}=${value}`)

t.test('sharesToWeight maps the v1 range 2..262144 onto 1..10000, as runc and crun do', async t => {
  t.equal(sharesToWeight(2), 1)
  t.equal(sharesToWeight(1024), 39)
  t.equal(sharesToWeight(262_144), 10_000)
  t.equal(sharesToWeight(512), 20)
})

t.test('sharesToWeight is monotonic and stays in range', async t => {
  let previous = 0
  for (const shares of [2, 3, 10, 100, 1024, 4096, 65_536, 262_143, 262_144]) {
    const weight = sharesToWeight(shares)
    t.ok(weight >= previous && weight >= 1 && weight <= 10_000, `${shares} -> ${weight}`)
    previous = weight
  }
})

t.test('cpu: --cpus writes cpu.max as "quota period"', async t => {
  t.strictSame(files(v2Files.cpu({cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000})), ['cpu:cpu.max=50000 100000'])
  t.strictSame(files(v2Files.cpu({cpuQuotaMicros: 150_000})), ['cpu:cpu.max=150000 100000'], 'period defaults to 100ms')
})

t.test('cpu: --cpu-shares writes cpu.weight, converted', async t => {
  t.strictSame(files(v2Files.cpu({cpuShares: 1024})), ['cpu:cpu.weight=39'])
  t.strictSame(files(v2Files.cpu({cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000, cpuShares: 262_144})), ['cpu:cpu.max=50000 100000', 'cpu:cpu.weight=10000'])
})

t.test('cpu: no limit, no file', async t => {
  t.strictSame(v2Files.cpu({}), [])
})

t.test('cpuset: writes only cpuset.cpus (v2 inherits mems)', async t => {
  t.strictSame(files(v2Files.cpuset({cpusetCpus: '0,1'}, '0')), ['cpuset:cpuset.cpus=0,1'])
  t.strictSame(v2Files.cpuset({}, '0'), [])
})

t.test('memory: memory.max and memory.oom.group, so an OOM kills the whole app', async t => {
  t.strictSame(files(v2Files.memory({memoryBytes: 64 * MiB}, false)), [`memory:memory.max=${64 * MiB}`, 'memory:memory.oom.group=1'])
})

t.test('memory: default swap is as much swap as memory (memory.swap.max counts swap alone)', async t => {
  t.strictSame(files(v2Files.memory({memoryBytes: 64 * MiB}, true)), [
    `memory:memory.max=${64 * MiB}`,
    'memory:memory.oom.group=1',
    `memory:memory.swap.max=${64 * MiB}`,
  ])
})

t.test('memory: an explicit --memory-swap is converted from memory+swap to swap alone', async t => {
  t.strictSame(files(v2Files.memory({memoryBytes: 64 * MiB, memorySwapBytes: 100 * MiB}, true)).at(-1), `memory:memory.swap.max=${36 * MiB}`)
  t.strictSame(files(v2Files.memory({memoryBytes: 64 * MiB, memorySwapBytes: 64 * MiB}, true)).at(-1), 'memory:memory.swap.max=0', 'equal to --memory: no swap')
})

t.test('memory: --memory-swap -1 writes max', async t => {
  t.strictSame(files(v2Files.memory({memoryBytes: 64 * MiB, memorySwapBytes: 'unlimited'}, true)).at(-1), 'memory:memory.swap.max=max')
})

t.test('memory: without swap accounting no swap file is written', async t => {
  t.notOk(files(v2Files.memory({memoryBytes: 64 * MiB, memorySwapBytes: 100 * MiB}, false)).some(entry => entry.includes('swap')))
})

t.test('memory: --memory-reservation writes memory.low', async t => {
  t.strictSame(files(v2Files.memory({memoryReservationBytes: 32 * MiB}, true)), [`memory:memory.low=${32 * MiB}`])
})

t.test('memory: no limit, no file', async t => {
  t.strictSame(v2Files.memory({}, true), [])
})

t.test('pids: pids.max takes a number or max', async t => {
  t.strictSame(files(v2Files.pids({pidsMax: 64})), ['pids:pids.max=64'])
  t.strictSame(files(v2Files.pids({pidsMax: 'unlimited'})), ['pids:pids.max=max'])
  t.strictSame(v2Files.pids({}), [])
})

t.test('parseMemoryEvents counts oom_kill, not oom or oom_group_kill', async t => {
  t.strictSame(parseMemoryEvents('low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 1\n'), {oomKills: 2})
  t.strictSame(parseMemoryEvents('low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n'), {oomKills: 0})
})

t.test('parseMemoryEvents is 0 when the line is missing', async t => {
  t.strictSame(parseMemoryEvents(''), {oomKills: 0})
})
