import t from 'tap'
import {controllersFor, swapTotal} from '../../../src/cgroup/limits.js'

const MiB = 2 ** 20

t.test('controllersFor joins cpu, cpuacct, memory and pids always, for usage reports', async t => {
  t.strictSame(controllersFor({}), ['cpu', 'cpuacct', 'memory', 'pids'])
  t.strictSame(controllersFor({memoryBytes: 64 * MiB, pidsMax: 10}), ['cpu', 'cpuacct', 'memory', 'pids'])
})

t.test('controllersFor joins cpuset only when CPUs are pinned', async t => {
  t.strictSame(controllersFor({cpusetCpus: '0-1'}), ['cpu', 'cpuacct', 'memory', 'pids', 'cpuset'])
})

t.test("swapTotal defaults to twice the memory limit (Docker's default)", async t => {
  t.equal(swapTotal({memoryBytes: 64 * MiB}), 128 * MiB)
})

t.test('swapTotal keeps an explicit memory+swap limit, including unlimited', async t => {
  t.equal(swapTotal({memoryBytes: 64 * MiB, memorySwapBytes: 100 * MiB}), 100 * MiB)
  t.equal(swapTotal({memoryBytes: 64 * MiB, memorySwapBytes: 'unlimited'}), 'unlimited')
})

t.test('swapTotal is undefined without a memory limit', async t => {
  t.equal(swapTotal({}), undefined)
  t.equal(swapTotal({pidsMax: 5}), undefined)
})
