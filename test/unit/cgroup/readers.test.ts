import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {AppCgroup, planCgroup} from '../../../src/cgroup/index.js'
import type {CgroupLayout, Hierarchy} from '../../../src/cgroup/layout.js'
import {tempCgroupFs, writeFiles} from '../helpers/cgroup-fs.js'

const WEB = {scope: 'run', name: 'web'}

function hierarchy(root: string, version: 1 | 2, mount: string, controllers: string[]): Hierarchy {
  const mountPoint = join(root, mount)
  mkdirSync(mountPoint, {recursive: true})
  return {version, mountPoint, ownDir: mountPoint, controllers}
}

t.test("hybrid host: each figure from its v1 controller's hierarchy, in v1 spelling; v2 spellings there are not read", async t => {
  const root = t.testdir({})
  const fs = tempCgroupFs()
  const layout: CgroupLayout = {
    mode: 'hybrid',
    hierarchies: [
      hierarchy(root, 1, 'cpu,cpuacct', ['cpu', 'cpuacct']),
      hierarchy(root, 1, 'memory', ['memory']),
      hierarchy(root, 1, 'pids', ['pids']),
      hierarchy(root, 2, 'unified', []),
    ],
  }
  writeFiles({[join(root, 'memory/memory.memsw.limit_in_bytes')]: '0\n'})
  const cgroup = AppCgroup.create(planCgroup(layout, WEB, {}, fs), fs)
  t.strictSame(
    cgroup.plan.joined.map(joined => [joined.version, joined.controllers]),
    [
      [1, ['cpu', 'cpuacct']],
      [1, ['memory']],
      [1, ['pids']],
    ],
    'the plan says which version each directory is',
  )
  const cpu = join(root, 'cpu,cpuacct/contain/run/web')
  const memory = join(root, 'memory/contain/run/web')
  writeFiles({
    [join(cpu, 'cpuacct.usage')]: '2500000\n',
    [join(cpu, 'cpu.stat')]: 'nr_periods 10\nnr_throttled 3\nthrottled_time 99\n',
    [join(memory, 'memory.usage_in_bytes')]: '8192\n',
    [join(memory, 'memory.limit_in_bytes')]: '9223372036854771712\n',
    [join(memory, 'memory.stat')]: 'rss 1\ncache 2\ntotal_rss 4096\ntotal_cache 1024\n',
    // A v2 name in a v1 directory: a reader that probed for files would take it.
    [join(memory, 'memory.current')]: '1\n',
    [join(root, 'pids/contain/run/web/pids.current')]: '3\n',
  })
  t.strictSame(cgroup.usage(), {
    cpuMicros: 2500,
    periods: 10,
    throttledPeriods: 3,
    memoryBytes: 8192,
    memoryLimitBytes: undefined,
    anonBytes: 4096,
    fileBytes: 1024,
    pids: 3,
    cpuPressure: undefined,
    memoryPressure: undefined,
  })
  await cgroup.remove()
})

t.test('v2 host: one directory, v2 spelling, pressure and cgroup.kill', async t => {
  const root = t.testdir({})
  const fs = tempCgroupFs()
  const v2 = hierarchy(root, 2, '', ['cpu', 'memory', 'pids'])
  writeFiles({
    [join(root, 'cgroup.subtree_control')]: 'cpu memory pids\n',
    [join(root, 'cgroup.procs')]: `${process.pid}\n`,
    [join(root, 'cgroup.type')]: 'domain\n',
    [join(root, 'memory.swap.max')]: 'max\n',
  })
  const cgroup = AppCgroup.create(planCgroup({mode: 'v2', hierarchies: [v2]}, WEB, {memoryBytes: 1 << 20}, fs), fs)
  const dir = join(root, 'contain/run/web')
  t.strictSame(cgroup.plan.joined, [{dir, version: 2, controllers: ['cpu', 'memory', 'pids']}])
  writeFiles({
    [join(dir, 'cpu.stat')]: 'usage_usec 700\nuser_usec 500\nsystem_usec 200\nnr_periods 4\nnr_throttled 1\n',
    [join(dir, 'memory.current')]: '4096\n',
    [join(dir, 'memory.stat')]: 'anon 2048\nfile 1024\n',
    [join(dir, 'pids.current')]: '2\n',
    [join(dir, 'cpu.pressure')]: 'some avg10=12.50 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
    [join(dir, 'memory.pressure')]: 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
    // A v1 name in a v2 directory is not read.
    [join(dir, 'memory.usage_in_bytes')]: '1\n',
  })
  t.strictSame(cgroup.usage(), {
    cpuMicros: 700,
    periods: 4,
    throttledPeriods: 1,
    memoryBytes: 4096,
    memoryLimitBytes: 1 << 20,
    anonBytes: 2048,
    fileBytes: 1024,
    pids: 2,
    cpuPressure: 0.125,
    memoryPressure: 0,
  })
  writeFiles({[join(dir, 'cgroup.kill')]: ''})
  cgroup.killAll()
  t.strictSame(fs.writesTo(join(dir, 'cgroup.kill')), ['1'])
  await cgroup.remove()
})
