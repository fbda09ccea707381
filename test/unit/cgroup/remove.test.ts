/**
 * Removing an ended app's cgroup reads no cgroup.procs: rmdir tells whether processes are left
 * (EBUSY), and only then are they killed and waited for (index.test.ts: a busy directory).
 */
import {existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {AppCgroup, planCgroup} from '../../../src/cgroup/index.js'
import type {CgroupLayout} from '../../../src/cgroup/layout.js'
import {tempCgroupFs} from '../helpers/cgroup-fs.js'

t.test('an empty app cgroup goes without a read of cgroup.procs', async t => {
  const root = t.testdir({})
  const hierarchies = ['cpu', 'memory', 'pids'].map(name => {
    const mountPoint = join(root, name)
    mkdirSync(mountPoint)
    return {version: 1 as const, mountPoint, ownDir: mountPoint, controllers: [name]}
  })
  const layout: CgroupLayout = {mode: 'v1', hierarchies}
  const fs = tempCgroupFs()
  const plan = planCgroup(layout, {scope: 'run', name: 'web'}, {pidsMax: 10}, fs)
  const cgroup = AppCgroup.create(plan, fs)
  const reads: string[] = []
  const read = fs.read
  fs.read = path => {
    reads.push(path)
    return read(path)
  }
  await cgroup.remove()
  t.same(
    reads.filter(path => path.endsWith('cgroup.procs') || path.endsWith('tasks')),
    [],
  )
  for (const dir of plan.dirs) t.notOk(existsSync(dir), `removed ${dir}`)
})
