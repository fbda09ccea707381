import t from 'tap'
import {planExec, validateTarget} from '../../../src/launch/exec.js'
import type {CgroupPlan} from '../../../src/cgroup/index.js'

const cgroup: CgroupPlan = {
  mode: 'v2',
  parents: [],
  dirs: ['/sys/fs/cgroup/contain-web'],
  joined: [],
  writes: [],
  procsFiles: ['/sys/fs/cgroup/contain-web/cgroup.procs'],
  attachFiles: [],
  cloneInto: '/sys/fs/cgroup/contain-web',
  viewMounts: [],
}

t.test('exec: enter the cgroup, then contain-init joins the namespaces itself (no nsenter, nothing loaded from the app)', async t => {
  const argv = planExec(
    {namespaces: ['pid', 'mount', 'uts', 'ipc', 'cgroup', 'net', 'user'], cgroup, appArguments: ['--uid', '1000', '--env-fd', '5', '--chdir', '/srv/app']},
    {pid1: 4242, startTime: '777'},
    ['ls', '-l'],
    {init: '/opt/contain/contain-init'},
  )
  t.strictSame(argv, [
    '/opt/contain/contain-init',
    'enter',
    '--status-fd',
    '3',
    '--close-from',
    '8',
    '--clone-into',
    '/sys/fs/cgroup/contain-web',
    '--',
    '/opt/contain/contain-init',
    'exec',
    '--status-fd',
    '3',
    '--target',
    '4242',
    '--target-start',
    '777',
    '--join',
    'user,cgroup,ipc,uts,net,pid,mnt',
    '--uid',
    '1000',
    '--env-fd',
    '5',
    '--chdir',
    '/srv/app',
    '--',
    'ls',
    '-l',
  ])
})

t.test('exec joins only the namespaces the app has, the mount namespace last', async t => {
  const argv = planExec({namespaces: ['mount', 'pid'], cgroup, appArguments: []}, {pid1: 10, startTime: '1'}, ['true'], {init: 'init'})
  t.equal(argv[argv.indexOf('--join') + 1], 'pid,mnt')
})

t.test('a pid that is not alive, or not in the app cgroup, is refused before anything runs', async t => {
  t.throws(() => validateTarget({name: 'web', cgroup}, 0), /web is not running/)
  t.throws(() => validateTarget({name: 'web', cgroup}, 2 ** 22 + 12345), /has ended/)
  // This test process is alive but is not in the (made-up) cgroup: a lying pid is refused.
  t.throws(
    () => validateTarget({name: 'web', cgroup: {...cgroup, procsFiles: [`${t.testdir({'cgroup.procs': '1\n2\n'})}/cgroup.procs`]}}, process.pid),
    /not in its cgroup/,
  )
  const dir = t.testdir({'cgroup.procs': `1\n${process.pid}\n`})
  t.equal(validateTarget({name: 'web', cgroup: {...cgroup, procsFiles: [`${dir}/cgroup.procs`]}}, process.pid).pid1, process.pid)
})
