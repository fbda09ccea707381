import t from 'tap'
import type {CgroupPlan} from '../../../src/cgroup/index.js'
import type {RunOptions} from '../../../src/launch/options.js'
import {
  DEVICES_FD,
  ENV_FD,
  FIRST_UNUSED_FD,
  HELPER_ENV,
  encodeEnvironment,
  planLaunch,
  REAP_GO_FD,
  reaperArguments,
  SECCOMP_FD,
  STATUS_FD,
} from '../../../src/launch/plan.js'
import {decodeProgram} from '../devices/ebpf-interpreter.js'
import {deviceProgram} from '../../../src/devices/ebpf.js'
import {DEFAULT_DEVICE_RULES} from '../../../src/devices/rules.js'

const EXECUTABLES = {init: '/opt/contain/contain-init', unshare: '/usr/bin/unshare'}

const CGROUP: CgroupPlan = {
  mode: 'v2',
  parents: [],
  dirs: ['/sys/fs/cgroup/contain/run/web'],
  joined: [],
  writes: [{path: '/sys/fs/cgroup/contain/run/web/memory.max', value: '67108864'}],
  procsFiles: ['/sys/fs/cgroup/contain/run/web/cgroup.procs'],
  attachFiles: [],
  cloneInto: '/sys/fs/cgroup/contain/run/web',
  viewMounts: [{fsType: 'cgroup2', target: '/sys/fs/cgroup', data: ''}],
}

const HYBRID: CgroupPlan = {
  mode: 'hybrid',
  parents: [],
  dirs: ['/sys/fs/cgroup/memory/contain/run/web'],
  joined: [],
  writes: [],
  procsFiles: ['/sys/fs/cgroup/memory/contain/run/web/cgroup.procs'],
  attachFiles: ['/sys/fs/cgroup/memory/contain/run/web/tasks'],
  viewMounts: [
    {fsType: 'tmpfs', target: '/sys/fs/cgroup', data: 'mode=755'},
    {fsType: 'cgroup', target: '/sys/fs/cgroup/memory', data: 'memory'},
    {fsType: 'cgroup2', target: '/sys/fs/cgroup/unified', data: ''},
  ],
}

function options(overrides: Partial<RunOptions> = {}): RunOptions {
  return {
    name: 'web',
    command: ['bundle', 'exec', 'rails', 's'],
    limits: {},
    hostname: 'web',
    namespaces: ['pid', 'mount', 'uts', 'ipc', 'cgroup'],
    env: {PATH: '/usr/bin', HOSTNAME: 'web'},
    workdir: '/srv/app',
    userReason: 'directory-root',
    readOnly: false,
    tmpfs: [],
    writable: [],
    devices: [],
    // The host view keeps these tests about the rest of the argv; view.test.ts covers the contained one.
    view: 'host',
    volumes: [],
    shmSizeBytes: 64 * 2 ** 20,
    security: {capabilities: [], grantedToNonRoot: [], seccompMode: 'enforce', seccompStrict: false, noNewPrivileges: true, privileged: false},
    listen: [],
    ...overrides,
  }
}

/**
 * How many values each `contain-init run` flag takes (the usage in native/contain-init.c). A flag
 * missing here fails the tests that parse the run stage: add it with its arity.
 */
const RUN_FLAG_ARITY: Record<string, number> = {
  '--status-fd': 1,
  '--mount-proc': 0,
  '--hostname': 1,
  '--loopback-up': 0,
  '--readonly-root': 0,
  '--tmpfs': 2,
  '--writable': 1,
  '--mount': 3,
  '--new-root': 0,
  '--view-bind': 3,
  '--view-fs': 4,
  '--view-symlink': 2,
  '--view-owner': 2,
  '--chdir': 1,
  '--uid': 1,
  '--gid': 1,
  '--groups': 1,
  '--caps-bounding': 1,
  '--caps-permitted': 1,
  '--caps-effective': 1,
  '--caps-inheritable': 1,
  '--caps-ambient': 1,
  '--no-new-privs': 0,
  '--seccomp-fd': 1,
  '--env-fd': 1,
  '--listen-fds': 1,
  '--listen-backlog': 1,
  '--listen-fdnames': 1,
}

/** The arguments of the `contain-init run` stage, between `run` and the `--` before the app. */
function runStage(argv: string[]): string[] {
  const start = argv.lastIndexOf(EXECUTABLES.init)
  return argv.slice(start + 2, argv.indexOf('--', start))
}

/** The run stage as [flag, ...values] entries, in order; an unknown flag fails the test. */
function runFlags(argv: string[]): string[][] {
  const stage = runStage(argv)
  const entries: string[][] = []
  for (let index = 0; index < stage.length;) {
    const arity = RUN_FLAG_ARITY[stage[index]]
    if (arity === undefined) throw new Error(`unexpected contain-init run argument ${JSON.stringify(stage[index])} in ${JSON.stringify(stage)}`)
    entries.push(stage.slice(index, index + 1 + arity))
    index += 1 + arity
  }
  return entries
}

/** Only the entries of the given flags, in order. */
const only = (argv: string[], ...flags: string[]) => runFlags(argv).filter(([flag]) => flags.includes(flag))
const mounts = (argv: string[]) => only(argv, '--mount').map(([, ...values]) => values)
const plan = (overrides: Partial<RunOptions> = {}, cgroup = CGROUP, filter?: Buffer) => planLaunch(options(overrides), cgroup, EXECUTABLES, filter).argv

t.test('status fd is 3, seccomp fd is 4, env fd is 5, device program fd is 6, reaper go fd is 7; enter closes the rest', async t => {
  t.equal(STATUS_FD, 3)
  t.equal(SECCOMP_FD, 4)
  t.equal(ENV_FD, 5)
  t.equal(DEVICES_FD, 6)
  t.equal(REAP_GO_FD, 7)
  t.equal(FIRST_UNUSED_FD, 8)
})

t.test('the helpers run with a fixed PATH only; the app gets its environment on ENV_FD', async t => {
  t.strictSame(Object.keys(HELPER_ENV), ['PATH'])
  t.equal(encodeEnvironment({A: '1', LD_PRELOAD: '/x.so', EMPTY: ''}).toString(), 'A=1\0LD_PRELOAD=/x.so\0EMPTY=\0')
  t.throws(() => encodeEnvironment({A: 'x\0y'}), /NUL/)
})

t.test('argv: enter the cgroup (leaving a reaper behind), unshare, then contain-init run, then the command', async t => {
  t.strictSame(plan(), [
    '/opt/contain/contain-init',
    'enter',
    '--status-fd',
    '3',
    '--close-from',
    '8',
    '--reap',
    '/sys/fs/cgroup',
    'contain/run/web',
    '--reap-go-fd',
    '7',
    '--clone-into',
    '/sys/fs/cgroup/contain/run/web',
    '--',
    '/usr/bin/unshare',
    '--pid',
    '--mount',
    '--uts',
    '--ipc',
    '--cgroup',
    '--propagation',
    'private',
    '--',
    '/opt/contain/contain-init',
    'run',
    '--status-fd',
    '3',
    '--mount-proc',
    '--hostname',
    'web',
    '--mount',
    'bind',
    '/sys',
    '/sys',
    '--mount',
    'cgroup2',
    '/sys/fs/cgroup',
    '',
    '--caps-bounding',
    '0',
    '--caps-permitted',
    '0',
    '--caps-effective',
    '0',
    '--caps-inheritable',
    '0',
    '--caps-ambient',
    '0',
    '--no-new-privs',
    '--env-fd',
    '5',
    '--chdir',
    '/srv/app',
    '--',
    'bundle',
    'exec',
    'rails',
    's',
  ])
})

t.test('listen sockets: enter closes from 8+N, the run stage places N sockets with their names, the app stage (exec) has none', async t => {
  const listen: RunOptions['listen'] = [
    {kind: 'tcp', text: 'tcp://127.0.0.1:3000', name: 'web', host: '127.0.0.1', port: 3000},
    {kind: 'unix', text: 'unix:///run/app/web.sock', name: 'unix-run-app-web.sock', path: '/run/app/web.sock'},
  ]
  const launch = planLaunch(options({listen}), CGROUP, EXECUTABLES)
  t.strictSame(launch.argv.slice(0, 6), ['/opt/contain/contain-init', 'enter', '--status-fd', '3', '--close-from', '10'])
  t.strictSame(only(launch.argv, '--listen-fds', '--listen-backlog', '--listen-fdnames'), [
    ['--listen-fds', '2'],
    ['--listen-backlog', '4096'],
    ['--listen-fdnames', 'web:unix-run-app-web.sock'],
  ])
  t.notOk(
    launch.appArguments.some(arg => arg.startsWith('--listen')),
    'contain exec and health checks get no sockets',
  )
  t.equal(launch.listen, listen)
  t.notOk(
    plan().some(arg => arg.startsWith('--listen')),
    'no listen flags without sockets',
  )
})

t.test('the plan carries the name, namespaces, cgroup plan and env through', async t => {
  const launch = planLaunch(options(), CGROUP, EXECUTABLES)
  t.equal(launch.name, 'web')
  t.strictSame(launch.namespaces, ['pid', 'mount', 'uts', 'ipc', 'cgroup'])
  t.equal(launch.cgroup, CGROUP)
  t.strictSame(launch.env, {PATH: '/usr/bin', HOSTNAME: 'web'})
  t.equal(launch.seccompFilter, undefined)
})

t.test('enter gets every attach file, one per hierarchy', async t => {
  const v1: CgroupPlan = {
    mode: 'v1',
    parents: [],
    dirs: [],
    joined: [],
    writes: [],
    procsFiles: ['/cg/cpu/contain/run/web/cgroup.procs', '/cg/memory/contain/run/web/cgroup.procs'],
    attachFiles: ['/cg/cpu/contain/run/web/tasks', '/cg/memory/contain/run/web/tasks'],
    viewMounts: [],
  }
  t.strictSame(plan({}, v1).slice(0, 9), [
    '/opt/contain/contain-init',
    'enter',
    '--status-fd',
    '3',
    '--close-from',
    '8',
    '/cg/cpu/contain/run/web/tasks',
    '/cg/memory/contain/run/web/tasks',
    '--',
  ])
})

t.test("the reaper gets every directory of the app's cgroup; a later run into the same cgroup starts none", async t => {
  const v1: CgroupPlan = {
    mode: 'v1',
    parents: [],
    dirs: ['/cg/cpu/contain/run/web', '/cg/memory/contain/run/web'],
    joined: [],
    writes: [],
    procsFiles: [],
    attachFiles: ['/cg/cpu/contain/run/web/tasks', '/cg/memory/contain/run/web/tasks'],
    viewMounts: [],
  }
  const launch = planLaunch(options(), v1, EXECUTABLES)
  t.strictSame(launch.argv.slice(0, 17), [
    '/opt/contain/contain-init',
    'enter',
    '--status-fd',
    '3',
    '--close-from',
    '8',
    '--reap',
    '/cg/cpu',
    'contain/run/web',
    '--reap',
    '/cg/memory',
    'contain/run/web',
    '--reap-go-fd',
    '7',
    '/cg/cpu/contain/run/web/tasks',
    '/cg/memory/contain/run/web/tasks',
    '--',
  ])
  t.strictSame(
    launch.restartArgv,
    launch.argv.filter((_, index) => index < 6 || index > 13),
    'restartArgv is argv without --reap',
  )
})

t.test('the reaper undoes a delegation on a root cgroup, and is not started where contain sits in a delegation leaf', async t => {
  const dirs = ['/sys/fs/cgroup/contain/run/web']
  t.strictSame(reaperArguments({dirs, delegation: {ownDir: '/sys/fs/cgroup', enable: ['memory', 'pids']}}), [
    '--reap',
    '/sys/fs/cgroup',
    'contain/run/web',
    '--reap-go-fd',
    '7',
    '--reap-write',
    '/sys/fs/cgroup/cgroup.subtree_control',
    '-memory -pids',
  ])
  t.strictSame(
    reaperArguments({dirs, delegation: {ownDir: '/sys/fs/cgroup/app.service', leafDir: '/sys/fs/cgroup/app.service/contain.supervisor', enable: ['memory']}}),
    [],
    'the service manager that delegated the cgroup removes it',
  )
  t.strictSame(reaperArguments({dirs: [], delegation: undefined}), [], 'no cgroup (a user without delegation): no reaper')
  const leaf: CgroupPlan = {
    ...CGROUP,
    delegation: {ownDir: '/sys/fs/cgroup/app.service', leafDir: '/sys/fs/cgroup/app.service/contain.supervisor', enable: ['memory']},
  }
  t.equal(planLaunch(options(), leaf, EXECUTABLES).restartArgv, undefined, 'without a reaper every run has the same argv')
})

t.test('without cgroup dirs, enter goes straight to --', async t => {
  t.strictSame(plan({}, {mode: 'v2', parents: [], dirs: [], joined: [], writes: [], procsFiles: [], attachFiles: [], viewMounts: []}).slice(0, 8), [
    '/opt/contain/contain-init',
    'enter',
    '--status-fd',
    '3',
    '--close-from',
    '8',
    '--',
    '/usr/bin/unshare',
  ])
})

t.test('the run stage reports on the status fd first', async t => {
  t.strictSame(runFlags(plan())[0], ['--status-fd', '3'])
})

t.test('--mount-proc only with a pid namespace', async t => {
  t.strictSame(only(plan(), '--mount-proc'), [['--mount-proc']])
  t.strictSame(only(plan({namespaces: ['mount', 'uts']}), '--mount-proc'), [])
})

t.test('--hostname only when there is one', async t => {
  t.strictSame(only(plan({hostname: 'db.local'}), '--hostname'), [['--hostname', 'db.local']])
  t.strictSame(only(plan({hostname: undefined, namespaces: ['mount']}), '--hostname'), [])
})

t.test('read-only root, then tmpfs, then writable paths, then the view mounts', async t => {
  const argv = plan({
    readOnly: true,
    tmpfs: [
      {path: '/tmp', exec: false},
      {path: '/run', exec: true},
    ],
    writable: ['/srv/app/log'],
  })
  t.strictSame(only(argv, '--readonly-root', '--tmpfs', '--writable', '--mount'), [
    ['--readonly-root'],
    ['--tmpfs', 'noexec', '/tmp'],
    ['--tmpfs', 'exec', '/run'],
    ['--writable', '/srv/app/log'],
    ['--mount', 'bind', '/sys', '/sys'],
    ['--mount', 'cgroup2', '/sys/fs/cgroup', ''],
  ])
})

t.test('not read-only: no --readonly-root, --tmpfs or --writable', async t => {
  t.strictSame(only(plan(), '--readonly-root', '--tmpfs', '--writable'), [])
})

t.test('view mounts: the host network namespace gets /sys bound without submounts, then the cgroup view', async t => {
  t.strictSame(mounts(plan({}, HYBRID)), [
    ['bind', '/sys', '/sys'],
    ['tmpfs', '/sys/fs/cgroup', 'mode=755'],
    ['cgroup', '/sys/fs/cgroup/memory', 'memory'],
    ['cgroup2', '/sys/fs/cgroup/unified', ''],
  ])
})

t.test('view mounts: a net namespace gets a fresh sysfs', async t => {
  t.strictSame(mounts(plan({namespaces: ['pid', 'mount', 'cgroup', 'net']})), [
    ['sysfs', '/sys', ''],
    ['cgroup2', '/sys/fs/cgroup', ''],
  ])
})

t.test('view mounts: without a cgroup namespace /sys only, and the host cgroupfs stays', async t => {
  t.strictSame(mounts(plan({namespaces: ['pid', 'mount', 'uts']}, HYBRID)), [['bind', '/sys', '/sys']])
})

t.test('view mounts: none without a mount namespace', async t => {
  t.strictSame(mounts(plan({namespaces: ['uts', 'ipc']}, HYBRID)), [])
})

t.test('view mounts: a user namespace without net binds /sys with its submounts, nothing more', async t => {
  t.strictSame(mounts(plan({namespaces: ['pid', 'mount', 'cgroup', 'user']})), [['rbind', '/sys', '/sys']])
})

t.test('view mounts: a user namespace may mount cgroup2 but not cgroup v1', async t => {
  const namespaces: RunOptions['namespaces'] = ['pid', 'mount', 'cgroup', 'net', 'user']
  t.strictSame(mounts(plan({namespaces})), [
    ['sysfs', '/sys', ''],
    ['cgroup2', '/sys/fs/cgroup', ''],
  ])
  t.strictSame(mounts(plan({namespaces}, HYBRID)), [['sysfs', '/sys', '']], 'hybrid: no cgroup view')
})

t.test('--loopback-up only with a net namespace', async t => {
  t.strictSame(only(plan({namespaces: ['pid', 'mount', 'net']}), '--loopback-up'), [['--loopback-up']])
  t.strictSame(only(plan(), '--loopback-up'), [])
})

t.test('--chdir always, after the mounts', async t => {
  const flags = runFlags(plan()).map(([flag]) => flag)
  t.strictSame(only(plan(), '--chdir'), [['--chdir', '/srv/app']])
  t.ok(flags.indexOf('--chdir') > flags.lastIndexOf('--mount'))
})

t.test('a user becomes --uid, --gid and --groups, after --chdir', async t => {
  const argv = plan({user: {uid: 1000, gid: 1000, groups: [27, 998], name: 'alice', home: '/home/alice'}})
  t.strictSame(runFlags(argv).slice(-4), [
    ['--chdir', '/srv/app'],
    ['--uid', '1000'],
    ['--gid', '1000'],
    ['--groups', '27,998'],
  ])
})

t.test('no supplementary groups, no --groups', async t => {
  const argv = plan({user: {uid: 4242, gid: 0, groups: []}})
  t.strictSame(only(argv, '--uid', '--gid', '--groups'), [
    ['--uid', '4242'],
    ['--gid', '0'],
  ])
})

t.test('no user, no --uid or --gid', async t => {
  t.strictSame(only(plan(), '--uid', '--gid', '--groups'), [])
})

t.test('capabilities: a root app gets its set as bounding, permitted and effective', async t => {
  const security = {...options().security, capabilities: ['CAP_CHOWN' as const, 'CAP_NET_BIND_SERVICE' as const]}
  t.strictSame(only(plan({security}), '--caps-bounding', '--caps-permitted', '--caps-effective', '--caps-inheritable', '--caps-ambient'), [
    ['--caps-bounding', '401'],
    ['--caps-permitted', '401'],
    ['--caps-effective', '401'],
    ['--caps-inheritable', '0'],
    ['--caps-ambient', '0'],
  ])
})

t.test('capabilities: a non-root app keeps the set as bounding and gets only the granted ones, as ambient', async t => {
  const security = {
    ...options().security,
    capabilities: ['CAP_CHOWN' as const, 'CAP_NET_BIND_SERVICE' as const],
    grantedToNonRoot: ['CAP_NET_BIND_SERVICE' as const],
  }
  t.strictSame(
    only(
      plan({security, user: {uid: 1000, gid: 1000, groups: []}}),
      '--caps-bounding',
      '--caps-permitted',
      '--caps-effective',
      '--caps-inheritable',
      '--caps-ambient',
    ),
    [
      ['--caps-bounding', '401'],
      ['--caps-permitted', '400'],
      ['--caps-effective', '400'],
      ['--caps-inheritable', '400'],
      ['--caps-ambient', '400'],
    ],
  )
})

t.test('--no-new-privs only when asked', async t => {
  t.strictSame(only(plan(), '--no-new-privs'), [['--no-new-privs']])
  t.strictSame(only(plan({security: {...options().security, noNewPrivileges: false}}), '--no-new-privs'), [])
})

t.test('--seccomp-fd only with a compiled filter, which the plan carries', async t => {
  const filter = Buffer.alloc(8)
  t.strictSame(only(plan({}, CGROUP, filter), '--seccomp-fd'), [['--seccomp-fd', '4']])
  t.equal(planLaunch(options(), CGROUP, EXECUTABLES, filter).seccompFilter, filter)
  t.strictSame(only(plan(), '--seccomp-fd'), [])
})

t.test('a user namespace maps root and adds no fork to unshare', async t => {
  const argv = plan({namespaces: ['pid', 'mount', 'user']})
  const start = argv.indexOf(EXECUTABLES.unshare)
  t.strictSame(argv.slice(start, argv.indexOf('--', start)), ['/usr/bin/unshare', '--pid', '--mount', '--user', '--map-root-user', '--propagation', 'private'])
})

t.test('the command comes last and unchanged, even when it holds --', async t => {
  const argv = plan({command: ['sh', '-c', 'echo "$@"', '--', '--flag']})
  t.strictSame(argv.slice(-5), ['sh', '-c', 'echo "$@"', '--', '--flag'])
  t.strictSame(runStage(argv).at(-1), '/srv/app', 'contain-init stops at the first -- after its own flags')
})

t.test('hidden paths: an empty tmpfs over each, except below a --tmpfs, which hides them already', async t => {
  const launch = planLaunch(options({tmpfs: [{path: '/tmp', exec: false}]}), CGROUP, EXECUTABLES, undefined, {
    hiddenPaths: ['/run/contain', '/tmp/state', '/tmp', '/tmpx/state'],
  })
  t.strictSame(launch.hiddenPaths, ['/run/contain', '/tmpx/state'])
  const mounts = launch.argv.flatMap((word, i) => (word === '--mount' && launch.argv[i + 3] === 'mode=0' ? [launch.argv[i + 2]] : []))
  t.strictSame(mounts, ['/run/contain', '/tmpx/state'])
})

t.test('devices: the v2 program is attached by enter before the cgroup is joined; binds only where the app path differs', async t => {
  const cgroup: CgroupPlan = {...CGROUP, deviceProgram: {cgroup: '/sys/fs/cgroup/contain/run/web', rules: [...DEFAULT_DEVICE_RULES]}}
  const fuse = {host: '/dev/fuse', container: '/dev/fuse', type: 'c' as const, major: 10, minor: 229, access: 'rwm'}
  const renamed = {host: '/dev/sdb', container: '/dev/xvdb', type: 'b' as const, major: 8, minor: 16, access: 'r'}
  const plan = planLaunch(options({devices: [fuse, renamed]}), cgroup, EXECUTABLES)
  const enter = plan.argv.slice(0, plan.argv.indexOf('--'))
  t.same(enter.slice(0, 10), [
    EXECUTABLES.init,
    'enter',
    '--status-fd',
    String(STATUS_FD),
    '--close-from',
    String(FIRST_UNUSED_FD),
    '--devices-fd',
    String(DEVICES_FD),
    '--devices-cgroup',
    '/sys/fs/cgroup/contain/run/web',
  ])
  t.ok(enter.indexOf('--devices-fd') < enter.indexOf('--clone-into'), 'attached before the launcher is born into the cgroup')
  t.same(decodeProgram(plan.deviceProgram ?? Buffer.alloc(0)), deviceProgram(DEFAULT_DEVICE_RULES))
  t.same(plan.deviceBinds, [
    {host: '/dev/fuse', container: '/dev/fuse'},
    {host: '/dev/sdb', container: '/dev/xvdb'},
  ])
  const mounts = plan.argv.flatMap((arg, index) => (arg === '--mount' && plan.argv[index + 1] === 'device' ? [plan.argv.slice(index + 1, index + 4)] : []))
  t.same(mounts, [['device', '/dev/xvdb', '/dev/sdb']], "the host /dev is the app's today: only the renamed node is bound")
})

t.test('devices: no program, no enter options (v1 writes files, --privileged has none)', async t => {
  const plan = planLaunch(options(), CGROUP, EXECUTABLES)
  t.notOk(plan.argv.includes('--devices-fd'))
  t.equal(plan.deviceProgram, undefined)
  t.same(plan.deviceBinds, [])
})
