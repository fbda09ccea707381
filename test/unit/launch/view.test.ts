import t from 'tap'
import type {RunOptions} from '../../../src/launch/options.js'
import {commandFiles, planView, viewArguments, type ViewHost, type ViewStep} from '../../../src/launch/view.js'

type Entry = ReturnType<ViewHost['entry']>

/** A merged-/usr host with an rbenv Ruby in a home directory. */
function fakeHost(overrides: Partial<ViewHost> = {}, files: Record<string, Entry> = {}, heads: Record<string, string> = {}): ViewHost {
  const entries: Record<string, Entry> = {
    '/usr': {type: 'dir'},
    '/etc': {type: 'dir'},
    '/bin': {type: 'symlink', link: 'usr/bin'},
    '/lib': {type: 'symlink', link: 'usr/lib'},
    '/lib64': {type: 'symlink', link: 'usr/lib64'},
    '/sbin': {type: 'symlink', link: 'usr/sbin'},
    '/etc/shadow': {type: 'file'},
    '/etc/gshadow': {type: 'file'},
    '/etc/ssh/ssh_host_ed25519_key': {type: 'file'},
    '/dev/null': {type: 'other'},
    '/dev/zero': {type: 'other'},
    '/dev/full': {type: 'other'},
    '/dev/random': {type: 'other'},
    '/dev/urandom': {type: 'other'},
    '/dev/tty': {type: 'other'},
    '/usr/bin/sh': {type: 'file'},
    '/usr/bin/env': {type: 'file'},
    '/home/ann/.rbenv/versions/3.3.0/bin/ruby': {type: 'file'},
    '/srv/app/bin/rails': {type: 'file'},
    ...files,
  }
  const links: Record<string, string> = {'/bin/sh': '/usr/bin/sh', '/usr/bin/env': '/usr/bin/env'}
  return {
    entry: path => entries[path],
    realpath: path => links[path] ?? (entries[path] && entries[path]?.type !== 'symlink' ? path : path.startsWith('/srv/app') ? path : undefined),
    head: path => heads[path] ?? '',
    list: path => (path === '/etc/ssh' ? ['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub', 'sshd_config'] : []),
    links: path => (path === '/srv/app' ? ['shared'] : []),
    ...overrides,
  }
}

function options(overrides: Partial<RunOptions> = {}): RunOptions {
  return {
    name: 'web',
    command: ['/bin/sh'],
    limits: {},
    hostname: 'web',
    namespaces: ['pid', 'mount', 'uts', 'ipc', 'cgroup'],
    env: {PATH: '/usr/bin'},
    workdir: '/srv/app',
    userReason: 'given',
    readOnly: false,
    tmpfs: [],
    writable: [],
    devices: [],
    view: 'contained',
    volumes: [],
    shmSizeBytes: 64 * 2 ** 20,
    security: {capabilities: [], grantedToNonRoot: [], seccompMode: 'enforce', seccompStrict: false, noNewPrivileges: true, privileged: false},
    listen: [],
    ...overrides,
  }
}

const describe = (step: ViewStep) =>
  step.kind === 'symlink'
    ? `link ${step.target} -> ${step.to}`
    : step.kind === 'fs'
      ? `${step.fsType} ${step.target}${step.noexec ? ' noexec' : ''}`
      : `bind ${step.source} ${step.target} ${step.readOnly ? 'ro' : 'rw'}`
const steps = (view: {steps: ViewStep[]}) => view.steps.map(describe)

t.test('the default view: system dirs read-only, links kept, the app dir, private /tmp /run /dev, masks', async t => {
  const view = planView(options(), fakeHost())
  t.strictSame(steps(view), [
    'bind /usr /usr ro',
    'link /bin -> usr/bin',
    'link /sbin -> usr/sbin',
    'link /lib -> usr/lib',
    'link /lib64 -> usr/lib64',
    'bind /etc /etc ro',
    'tmpfs /tmp',
    'tmpfs /run',
    'tmpfs /dev noexec',
    'bind /srv/app /srv/app rw',
    'link /var/run -> ../run',
    'bind /dev/null /dev/null rw',
    'bind /dev/zero /dev/zero rw',
    'bind /dev/full /dev/full rw',
    'bind /dev/random /dev/random rw',
    'bind /dev/urandom /dev/urandom rw',
    'bind /dev/tty /dev/tty rw',
    'devpts /dev/pts noexec',
    'link /dev/ptmx -> pts/ptmx',
    'tmpfs /dev/shm noexec',
    'mqueue /dev/mqueue noexec',
    'link /dev/fd -> /proc/self/fd',
    'link /dev/stdin -> /proc/self/fd/0',
    'link /dev/stdout -> /proc/self/fd/1',
    'link /dev/stderr -> /proc/self/fd/2',
    'bind /dev/null /etc/shadow ro',
    'bind /dev/null /etc/gshadow ro',
    'bind /dev/null /etc/ssh/ssh_host_ed25519_key ro',
  ])
  t.strictSame(view.visible, ['/usr', '/etc', '/srv/app'])
})

t.test('nothing else of the host: no home, /root, /srv, /var/lib, /mnt, /media, /boot, host /tmp or /run', async t => {
  const targets = planView(options(), fakeHost())
    .steps.filter(step => step.kind === 'bind')
    .map(step => step.kind === 'bind' && step.source)
  for (const dir of ['/home', '/root', '/srv', '/var/lib', '/mnt', '/media', '/boot', '/tmp', '/run']) t.notOk(targets.includes(dir), `${dir} is not bound`)
})

t.test('read_only: the app dir read-only, writable paths bound onto themselves after it, made by the app user', async t => {
  const view = planView(options({readOnly: true, writable: ['/srv/app/tmp', '/srv/app/log']}), fakeHost())
  const binds = view.steps.filter(step => step.kind === 'bind' && step.target.startsWith('/srv/app'))
  t.match(binds, [
    {source: '/srv/app', readOnly: true},
    {source: '.', target: '/srv/app/tmp', readOnly: false, ownedByApp: true},
    {source: '.', target: '/srv/app/log', readOnly: false, ownedByApp: true},
  ])
})

t.test('tmpfs: noexec unless exec; its own /tmp replaces the default; a working directory below it is bound after it', async t => {
  const view = planView(
    options({
      workdir: '/tmp/clone',
      tmpfs: [
        {path: '/tmp', exec: false},
        {path: '/srv/cache', exec: true, sizeBytes: 1024},
      ],
    }),
    fakeHost({realpath: path => path}),
  )
  const described = steps(view)
  t.equal(described.filter(step => step.startsWith('tmpfs /tmp')).length, 1, 'one /tmp')
  t.ok(described.indexOf('tmpfs /tmp noexec') < described.indexOf('bind /tmp/clone /tmp/clone rw'), 'the working directory stays visible')
  t.match(
    view.steps.find(step => step.target === '/srv/cache'),
    {kind: 'fs', noexec: false, data: 'mode=1777,size=1024'},
  )
})

t.test('volumes: bound at their target with their mode; /dev/shm sized; mqueue only with an IPC namespace', async t => {
  const view = planView(
    options({volumes: [{source: '/data/x', target: '/srv/x', readOnly: true}], shmSizeBytes: 1 << 20, namespaces: ['pid', 'mount']}),
    fakeHost(),
  )
  t.match(
    view.steps.find(step => step.target === '/srv/x'),
    {kind: 'bind', source: '/data/x', readOnly: true},
  )
  t.match(
    view.steps.find(step => step.target === '/dev/shm'),
    {data: 'mode=1777,size=1048576'},
  )
  t.notOk(view.steps.some(step => step.target === '/dev/mqueue'))
  t.ok(view.visible.includes('/srv/x'))
})

t.test('extra devices (the allow-list slice) and a terminal go into /dev', async t => {
  const view = planView(options(), fakeHost({terminal: '/dev/pts/3'}), [{host: '/dev/fuse', container: '/dev/fuse'}])
  t.match(
    view.steps.find(step => step.target === '/dev/fuse'),
    {kind: 'bind', devices: true},
  )
  t.match(
    view.steps.find(step => step.target === '/dev/console'),
    {kind: 'bind', source: '/dev/pts/3', devices: true},
  )
})

t.test('the command and its interpreter from outside: an rbenv Ruby under a home directory', async t => {
  const host = fakeHost({}, {}, {'/srv/app/bin/rails': '#!/usr/bin/env ruby\n'})
  const env = {PATH: '/home/ann/.rbenv/versions/3.3.0/bin:/usr/bin'}
  t.strictSame(commandFiles({command: ['bin/rails', 's'], env, workdir: '/srv/app'}, host), [
    '/srv/app/bin/rails',
    '/usr/bin/env',
    '/home/ann/.rbenv/versions/3.3.0/bin/ruby',
  ])
  const view = planView(options({command: ['bin/rails', 's'], env}), host)
  t.match(
    view.steps.find(step => step.target === '/home/ann/.rbenv/versions/3.3.0'),
    {kind: 'bind', readOnly: true},
    'the Ruby prefix, with its lib/',
  )
  t.notOk(
    view.steps.some(step => step.target === '/home/ann'),
    'not the home directory',
  )
})

t.test("a Ruby gets its gem directories: Debian's /var/lib/gems and GEM_HOME", async t => {
  const host = fakeHost(
    {},
    {'/usr/bin/ruby': {type: 'file'}, '/var/lib/gems': {type: 'dir'}, '/opt/gems': {type: 'dir'}},
    {'/srv/app/bin/rails': '#!/usr/bin/env ruby\n'},
  )
  const view = planView(options({command: ['bin/rails'], env: {PATH: '/usr/bin', GEM_HOME: '/opt/gems'}}), {
    ...host,
    realpath: path => (['/var/lib/gems', '/opt/gems', '/usr/bin/ruby', '/usr/bin/env', '/srv/app/bin/rails'].includes(path) ? path : undefined),
  })
  t.match(
    view.steps.filter(step => step.kind === 'bind' && step.readOnly && step.target.includes('gems')),
    [{target: '/opt/gems'}, {target: '/var/lib/gems'}],
  )
  t.equal(
    planView(options(), fakeHost({}, {'/var/lib/gems': {type: 'dir'}})).steps.filter(step => step.target === '/var/lib/gems').length,
    0,
    'not for other commands',
  )
})

t.test('a symlink in the app dir pointing outside the view is named, with the line to add', async t => {
  const host = fakeHost({}, {'/srv/app/shared': {type: 'symlink', link: '/srv/shared'}})
  t.match(planView(options(), host).warnings, [
    /\/srv\/app\/shared points to \/srv\/shared, which is outside the app's view: add volumes: \["\/srv\/shared:\/srv\/shared"\]/,
  ])
})

t.test('a user namespace: recursive system binds and a devpts without gid 5', async t => {
  const view = planView(options({namespaces: ['pid', 'mount', 'user']}), fakeHost())
  t.match(
    view.steps.find(step => step.target === '/usr'),
    {recursive: true},
  )
  t.match(
    view.steps.find(step => step.target === '/dev/pts'),
    {data: 'newinstance,ptmxmode=0666,mode=0620'},
  )
})

t.test('contain-init arguments: one flag per step, in order, with the owner', async t => {
  const args = viewArguments(
    {
      steps: [
        {kind: 'bind', source: '/usr', target: '/usr', readOnly: true, suid: true},
        {kind: 'fs', fsType: 'tmpfs', target: '/srv/app/tmp', data: 'mode=1777', noexec: true, ownedByApp: true},
        {kind: 'symlink', target: '/bin', to: 'usr/bin'},
      ],
      visible: [],
      warnings: [],
    },
    {uid: 1000, gid: 100},
  )
  t.strictSame(args, [
    '--new-root',
    '--view-owner',
    '1000',
    '100',
    '--view-bind',
    'ro,suid',
    '/usr',
    '/usr',
    '--view-fs',
    'tmpfs',
    'noexec,own',
    '/srv/app/tmp',
    'mode=1777',
    '--view-symlink',
    'usr/bin',
    '/bin',
  ])
})

t.test("contain's own code in a writable bind is said; read-only, elsewhere or not root's, it is not", async t => {
  const warns = (overrides: Partial<RunOptions>, rootsCode: string | undefined) =>
    planView(options(overrides), fakeHost({rootsCode})).warnings.filter(line => line.includes("contain's own code"))
  t.match(
    warns({}, '/srv/app'),
    [/the app can write \/srv\/app, which holds contain's own code \(\/srv\/app\) that root runs.*-w\/working_dir/],
    'the app runs in the clone',
  )
  t.match(
    warns({volumes: [{source: '/opt', target: '/data', readOnly: false}]}, '/opt/contain'),
    [/the app can write \/opt, which holds contain's own code \(\/opt\/contain\)/],
    'a volume above the clone',
  )
  t.strictSame(warns({readOnly: true}, '/srv/app'), [], 'read-only')
  t.strictSame(warns({}, '/opt/contain'), [], 'elsewhere')
  t.strictSame(warns({}, undefined), [], 'contain not run by root')
})
