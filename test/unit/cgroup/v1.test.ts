import t from 'tap'
import type {Setting} from '../../../src/cgroup/limits.js'
import {parseOomKills, v1Files} from '../../../src/cgroup/v1.js'
import {flagNaming, nameFields} from '../../../src/config/naming.js'
import {OptionFieldsError} from '../../../src/errors.js'
import {thrown} from '../helpers/errors.js'

const MiB = 2 ** 20
const files = (settings: Setting[]) => settings.map(({controller, file, value}) => `${controller}:${file}=${value}`)

t.test('cpu: --cpus writes the CFS period, then the quota', async t => {
  t.strictSame(files(v1Files.cpu({cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000})), ['cpu:cpu.cfs_period_us=100000', 'cpu:cpu.cfs_quota_us=50000'])
})

t.test('cpu: the period defaults to 100ms', async t => {
  t.strictSame(files(v1Files.cpu({cpuQuotaMicros: 150_000})), ['cpu:cpu.cfs_period_us=100000', 'cpu:cpu.cfs_quota_us=150000'])
})

t.test('cpu: --cpu-shares writes cpu.shares unchanged', async t => {
  t.strictSame(files(v1Files.cpu({cpuShares: 512})), ['cpu:cpu.shares=512'])
  t.strictSame(files(v1Files.cpu({cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000, cpuShares: 2})), [
    'cpu:cpu.cfs_period_us=100000',
    'cpu:cpu.cfs_quota_us=50000',
    'cpu:cpu.shares=2',
  ])
})

t.test('cpu: no limit, no file', async t => {
  t.strictSame(v1Files.cpu({memoryBytes: 64 * MiB}), [])
})

t.test('cpuset: writes the CPUs and copies the parent mems (a v1 cpuset takes no task without both)', async t => {
  t.strictSame(files(v1Files.cpuset({cpusetCpus: '0-1'}, '0')), ['cpuset:cpuset.cpus=0-1', 'cpuset:cpuset.mems=0'])
  t.strictSame(files(v1Files.cpuset({cpusetCpus: '1'}, '0-3')), ['cpuset:cpuset.cpus=1', 'cpuset:cpuset.mems=0-3'])
})

t.test('cpuset: nothing without --cpuset-cpus', async t => {
  t.strictSame(v1Files.cpuset({}, '0'), [])
})

t.test('memory: limit_in_bytes, then memsw at twice the memory by default', async t => {
  t.strictSame(files(v1Files.memory({memoryBytes: 64 * MiB}, true)), [
    `memory:memory.limit_in_bytes=${64 * MiB}`,
    `memory:memory.memsw.limit_in_bytes=${128 * MiB}`,
  ])
})

t.test('memory: an explicit --memory-swap is written as memory+swap', async t => {
  t.strictSame(files(v1Files.memory({memoryBytes: 64 * MiB, memorySwapBytes: 100 * MiB}, true)), [
    `memory:memory.limit_in_bytes=${64 * MiB}`,
    `memory:memory.memsw.limit_in_bytes=${100 * MiB}`,
  ])
})

t.test('memory: --memory-swap -1 writes -1 (unlimited) to memsw', async t => {
  t.strictSame(files(v1Files.memory({memoryBytes: 64 * MiB, memorySwapBytes: 'unlimited'}, true)), [
    `memory:memory.limit_in_bytes=${64 * MiB}`,
    'memory:memory.memsw.limit_in_bytes=-1',
  ])
})

t.test('memory: without swap accounting the default swap is silently skipped', async t => {
  t.strictSame(files(v1Files.memory({memoryBytes: 64 * MiB}, false)), [`memory:memory.limit_in_bytes=${64 * MiB}`])
})

t.test('memory: without swap accounting an explicit --memory-swap is an error about that limit, with the fix', async t => {
  for (const memorySwapBytes of [128 * MiB, 'unlimited'] as const) {
    const error = thrown(() => v1Files.memory({memoryBytes: 64 * MiB, memorySwapBytes}, false))
    t.type(error, OptionFieldsError)
    t.strictSame((error as OptionFieldsError).fields, ['memorySwapBytes'], 'the limit, which config/ names as the user wrote it')
    t.match(error.message, /memory\.memsw\.limit_in_bytes/)
    const named = nameFields(error, flagNaming) as OptionFieldsError
    t.match(named.message, /^--memory-swap needs swap accounting/)
    t.match(named.fix, /swapaccount=1, or leave --memory-swap out/)
  }
})

t.test('memory: --memory-reservation writes the soft limit', async t => {
  t.strictSame(files(v1Files.memory({memoryReservationBytes: 32 * MiB}, true)), [`memory:memory.soft_limit_in_bytes=${32 * MiB}`])
  t.strictSame(files(v1Files.memory({memoryBytes: 64 * MiB, memoryReservationBytes: 32 * MiB}, false)), [
    `memory:memory.limit_in_bytes=${64 * MiB}`,
    `memory:memory.soft_limit_in_bytes=${32 * MiB}`,
  ])
})

t.test('memory: no limit, no file', async t => {
  t.strictSame(v1Files.memory({}, true), [])
})

t.test('pids: pids.max takes a number or max', async t => {
  t.strictSame(files(v1Files.pids({pidsMax: 100})), ['pids:pids.max=100'])
  t.strictSame(files(v1Files.pids({pidsMax: 'unlimited'})), ['pids:pids.max=max'])
  t.strictSame(v1Files.pids({}), [])
})

t.test('parseOomKills reads the oom_kill line of memory.oom_control', async t => {
  t.equal(parseOomKills('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n'), 3)
  t.equal(parseOomKills('oom_kill_disable 0\nunder_oom 1\noom_kill 0\n'), 0)
})

t.test('parseOomKills is 0 on kernels before 4.13, which have no oom_kill line', async t => {
  t.equal(parseOomKills('oom_kill_disable 0\nunder_oom 0\n'), 0)
  t.equal(parseOomKills(''), 0)
})

t.test('parseOomKills does not mistake oom_kill_disable for the count', async t => {
  t.equal(parseOomKills('oom_kill_disable 1\nunder_oom 0\n'), 0)
})
