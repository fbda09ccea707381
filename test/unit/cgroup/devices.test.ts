import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {AppCgroup, planCgroup} from '../../../src/cgroup/index.js'
import type {CgroupLayout} from '../../../src/cgroup/layout.js'
import {DEFAULT_DEVICE_RULES, formatRule} from '../../../src/devices/rules.js'
import {HostError} from '../../../src/errors.js'
import {tempCgroupFs, writeFiles} from '../helpers/cgroup-fs.js'
import {thrown} from '../helpers/errors.js'

const WEB = {scope: 'run', name: 'web'}
const RULES = [...DEFAULT_DEVICE_RULES, {type: 'c' as const, major: 10, minor: 229, access: 'rw'}]

function hierarchy(root: string, mount: string, controllers: string[], version: 1 | 2 = 1) {
  const mountPoint = join(root, mount)
  mkdirSync(mountPoint, {recursive: true})
  return {version, mountPoint, ownDir: mountPoint, controllers}
}

t.test('v1 devices controller mounted: its own app cgroup, deny all, then one allow write per rule', async t => {
  const root = t.testdir({})
  const layout: CgroupLayout = {
    mode: 'hybrid',
    hierarchies: [hierarchy(root, 'memory', ['memory']), hierarchy(root, 'devices', ['devices']), hierarchy(root, 'unified', [], 2)],
  }
  const plan = planCgroup(layout, WEB, {}, tempCgroupFs(), RULES)
  const dir = join(root, 'devices/contain/run/web')
  t.ok(plan.dirs.includes(dir), 'the devices hierarchy is joined though no limit needs it')
  t.ok(plan.attachFiles.includes(join(dir, 'tasks')), 'the launcher joins it before exec')
  t.same(
    plan.writes.filter(write => write.path.startsWith(dir)),
    [{path: join(dir, 'devices.deny'), value: 'a'}, ...RULES.map(rule => ({path: join(dir, 'devices.allow'), value: formatRule(rule)}))],
  )
  t.equal(plan.deviceProgram, undefined, 'no v2 program where v1 enforces')
  t.equal(plan.cloneInto, undefined, 'the unified hierarchy is not joined for devices on a hybrid host with the v1 controller')
})

t.test("pure v2: a device program for the app's cgroup, no devices files", async t => {
  const root = t.testdir({})
  writeFiles({
    [join(root, 'cgroup.controllers')]: 'cpu memory pids\n',
    [join(root, 'cgroup.subtree_control')]: 'cpu memory pids\n',
    [join(root, 'cgroup.procs')]: '',
  })
  const layout: CgroupLayout = {mode: 'v2', hierarchies: [{version: 2, mountPoint: root, ownDir: root, controllers: ['cpu', 'memory', 'pids']}]}
  const plan = planCgroup(layout, WEB, {}, tempCgroupFs(), RULES)
  t.same(plan.deviceProgram, {cgroup: join(root, 'contain/run/web'), rules: RULES})
  t.same(
    plan.writes.filter(write => write.path.includes('devices.')),
    [],
  )
  t.equal(plan.cloneInto, join(root, 'contain/run/web'))
})

t.test('hybrid without the v1 devices controller: the app joins the unified hierarchy for its device program', async t => {
  const root = t.testdir({})
  const layout: CgroupLayout = {mode: 'hybrid', hierarchies: [hierarchy(root, 'memory', ['memory']), hierarchy(root, 'unified', [], 2)]}
  const plan = planCgroup(layout, WEB, {}, tempCgroupFs(), RULES)
  const unified = join(root, 'unified/contain/run/web')
  t.ok(plan.dirs.includes(unified))
  t.equal(plan.cloneInto, unified)
  t.equal(plan.deviceProgram?.cgroup, unified)
  t.equal(plan.delegation, undefined, 'no controller to enable for a device program')
})

t.test('no rules (--privileged): no devices hierarchy joined, no program', async t => {
  const root = t.testdir({})
  const layout: CgroupLayout = {mode: 'hybrid', hierarchies: [hierarchy(root, 'memory', ['memory']), hierarchy(root, 'devices', ['devices'])]}
  const plan = planCgroup(layout, WEB, {}, tempCgroupFs())
  t.notOk(plan.dirs.includes(join(root, 'devices/contain/run/web')))
  t.equal(plan.deviceProgram, undefined)
})

t.test('neither the v1 controller nor cgroup v2: refused, with the way out', async t => {
  const root = t.testdir({})
  const layout: CgroupLayout = {mode: 'v1', hierarchies: [hierarchy(root, 'memory', ['memory'])]}
  const error = thrown(() => planCgroup(layout, WEB, {}, tempCgroupFs(), RULES))
  t.type(error, HostError)
  t.match(error.message, /devices controller or cgroup v2/)
  t.match((error as HostError).fix, /--privileged/)
})

t.test('a rule the kernel refuses undoes the cgroup', async t => {
  const root = t.testdir({})
  const layout: CgroupLayout = {mode: 'v1', hierarchies: [hierarchy(root, 'devices', ['devices'])]}
  const fs = tempCgroupFs((path, value) => (value === 'c 10:229 rw' ? Object.assign(new Error('EPERM'), {code: 'EPERM'}) : undefined))
  const plan = planCgroup(layout, WEB, {}, fs, RULES)
  const error = thrown(() => AppCgroup.create(plan, fs))
  t.match(error.message, /devices\.allow: cannot write "c 10:229 rw": permission denied/)
  const dirs = ['devices/contain', 'devices/contain/run', 'devices/contain/run/web'].map(dir => join(root, dir))
  t.same(
    fs.calls.filter(call => call.op !== 'write'),
    [...dirs.map(path => ({op: 'mkdir', path})), ...dirs.reverse().map(path => ({op: 'rmdir', path}))],
    'the app dir and the parents it made are removed',
  )
})
