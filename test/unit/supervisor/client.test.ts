import t from 'tap'
import type {CgroupUsage} from '../../../src/cgroup/index.js'
import {flagNaming} from '../../../src/config/naming.js'
import type {Project} from '../../../src/config/project.js'
import {defaultSupervision} from '../../../src/config/supervision.js'
import {ContainError} from '../../../src/errors.js'
import type {RunOptions} from '../../../src/launch/options.js'
import type {AppStatus} from '../../../src/supervisor/app.js'
import {
  appLogFile,
  formatHostProjects,
  formatInspect,
  formatStatusTable,
  loggedFile,
  requireRunning,
  type ProjectHandle,
} from '../../../src/supervisor/client.js'
import type {ProjectState} from '../../../src/supervisor/state.js'
import {thrown} from '../helpers/errors.js'

const MiB = 2 ** 20
const NOW = Date.parse('2026-11-29T12:00:00.000Z')
const ago = (ms: number) => new Date(NOW - ms).toISOString()

function usage(overrides: Partial<CgroupUsage> = {}): CgroupUsage {
  return {cpuMicros: 0, periods: 0, throttledPeriods: 0, memoryBytes: 0, pids: 1, ...overrides}
}

function status(overrides: Partial<AppStatus> & Pick<AppStatus, 'name' | 'state'>): AppStatus {
  return {restarts: 0, health: 'none', lastLines: [], ...overrides}
}

/** The cells of a table row: columns are separated by 2+ spaces, cells hold single spaces only. */
const cells = (line: string) => line.split(/ {2,}/)
const starts = (line: string) => [0, ...[...line.matchAll(/ {2,}/g)].map(match => (match.index ?? 0) + match[0].length)]

t.test('formatStatusTable: header, then one aligned row per app', async t => {
  const text = formatStatusTable(
    [
      status({
        name: 'web',
        state: 'running',
        pid: 4242,
        startedAt: ago(75_000),
        restarts: 2,
        health: 'healthy',
        cpuPercent: 3.14159,
        usage: usage({memoryBytes: 64 * MiB, memoryLimitBytes: 512 * MiB}),
      }),
      status({
        name: 'worker',
        state: 'backoff',
        restarts: 7,
        health: 'none',
        usage: usage({memoryBytes: 0}),
        lastExit: {exitCode: 1, oomKilled: false, at: ago(100)},
      }),
    ],
    NOW,
  )
  const lines = text.split('\n')
  t.equal(lines.length, 3)
  t.strictSame(cells(lines[0]), ['NAME', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'CPU %', 'MEM / LIMIT', 'HEALTH', 'LAST EXIT'])
  t.strictSame(cells(lines[1]), ['web', 'running', '4242', '1m15s', '2', '3.1', '64 MiB / 512 MiB', 'healthy', '-'])
  t.strictSame(cells(lines[2]), ['worker', 'backoff', '-', '-', '7', '-', '0 B / none', 'none', 'exit 1'])
  for (const line of lines.slice(1)) t.strictSame(starts(line), starts(lines[0]), `aligned: ${cells(line)[0]}`)
  t.notOk(
    lines.some(line => line.endsWith(' ')),
    'no trailing spaces',
  )
})

t.test('formatStatusTable: uptime in s, m+s, h+m', async t => {
  const uptime = (ms: number) => cells(formatStatusTable([status({name: 'a', state: 'running', pid: 1, startedAt: ago(ms)})], NOW).split('\n')[1])[3]
  t.equal(uptime(0), '0s')
  t.equal(uptime(999), '0s')
  t.equal(uptime(59_999), '59s')
  t.equal(uptime(60_000), '1m0s')
  t.equal(uptime(3_599_000), '59m59s')
  t.equal(uptime(3_600_000), '1h0m')
  t.equal(uptime(26 * 3_600_000 + 5 * 60_000 + 59_000), '26h5m', 'days are hours')
})

t.test('formatStatusTable: why the app last ended', async t => {
  const lastExit = (exit: AppStatus['lastExit']) => cells(formatStatusTable([status({name: 'a', state: 'exited', lastExit: exit})], NOW).split('\n')[1]).at(-1)
  const at = ago(0)
  t.equal(lastExit({exitCode: 0, oomKilled: false, at}), 'exit 0')
  t.equal(lastExit({exitCode: 137, signal: 'SIGKILL', oomKilled: false, at}), 'SIGKILL')
  t.equal(lastExit({exitCode: 137, signal: 'SIGKILL', oomKilled: true, at}), 'OOM-killed', 'OOM beats the signal')
  t.equal(lastExit({exitCode: 127, oomKilled: false, error: 'nosuch: command not found', at}), 'nosuch: command not found', 'a start failure says why')
})

t.test('formatStatusTable: a stopped app without a cgroup', async t => {
  const [, row] = formatStatusTable([status({name: 'db', state: 'stopped'})], NOW).split('\n')
  t.strictSame(cells(row), ['db', 'stopped', '-', '-', '0', '-', '-', 'none', '-'])
})

t.test('formatInspect: state, pid and start time of a running app', async t => {
  const text = formatInspect(status({name: 'web', state: 'running', pid: 99, startedAt: ago(0), restarts: 1, health: 'starting'}))
  t.equal(text, ['name: web', 'state: running', 'health: starting', 'restarts: 1', 'pid: 99', `started: ${ago(0)}`].join('\n'))
})

t.test('formatInspect: the last exit with code, signal, OOM, time and error; then the last lines', async t => {
  const at = ago(0)
  const killed = formatInspect(
    status({name: 'web', state: 'backoff', lastExit: {exitCode: 137, signal: 'SIGKILL', oomKilled: true, at}, lastLines: ['allocating', 'Killed']}),
  )
  t.equal(
    killed,
    [
      'name: web',
      'state: backoff',
      'health: none',
      'restarts: 0',
      `last exit: code 137, signal SIGKILL, oomKilled true, at ${at}`,
      'last lines:',
      '  allocating',
      '  Killed',
    ].join('\n'),
  )
  const failed = formatInspect(status({name: 'web', state: 'failed', lastExit: {exitCode: 127, oomKilled: false, error: 'rails: command not found', at}}))
  t.match(failed, `last exit: code 127, oomKilled false, at ${at}, rails: command not found`)
  t.notMatch(failed, 'signal')
  t.notMatch(failed, 'last lines', 'no lines: no section')
})

t.test('formatInspect: with the plan, namespaces, cgroup writes and argv', async t => {
  const plan = {
    argv: ['/opt/contain/contain-init', '--', 'bundle', 'exec', 'rails', 's'],
    namespaces: ['pid', 'mount', 'uts', 'ipc'] as ('pid' | 'mount' | 'uts' | 'ipc')[],
    cgroup: {
      mode: 'v2' as const,
      parents: [],
      dirs: ['/sys/fs/cgroup/contain-web'],
      joined: [],
      writes: [
        {path: '/sys/fs/cgroup/contain-web/memory.max', value: '536870912'},
        {path: '/sys/fs/cgroup/contain-web/cpu.max', value: '50000 100000'},
      ],
      procsFiles: ['/sys/fs/cgroup/contain-web/cgroup.procs'],
      attachFiles: [],
      cloneInto: '/sys/fs/cgroup/contain-web',
      viewMounts: [],
    },
  }
  const text = formatInspect(status({name: 'web', state: 'stopped'}), plan)
  t.equal(
    text.split('\n').slice(4).join('\n'),
    [
      'namespaces: pid, mount, uts, ipc',
      'cgroup: /sys/fs/cgroup/contain-web',
      '  /sys/fs/cgroup/contain-web/memory.max = 536870912',
      '  /sys/fs/cgroup/contain-web/cpu.max = 50000 100000',
      'argv: /opt/contain/contain-init -- bundle exec rails s',
    ].join('\n'),
  )
})

t.test("formatInspect: on cgroup v2 the device allow-list is the device program's rules", async t => {
  const cgroup = {
    mode: 'v2' as const,
    parents: [],
    dirs: ['/sys/fs/cgroup/contain-web'],
    joined: [],
    writes: [],
    procsFiles: [],
    attachFiles: [],
    viewMounts: [],
    deviceProgram: {
      cgroup: '/sys/fs/cgroup/contain-web',
      rules: [
        {type: 'c' as const, major: 1, minor: 3, access: 'rwm'},
        {type: 'c' as const, major: 136, minor: '*' as const, access: 'rwm'},
      ],
    },
  }
  const text = formatInspect(status({name: 'web', state: 'stopped'}), {argv: ['x'], namespaces: ['pid'], cgroup})
  t.match(text, 'device program on /sys/fs/cgroup/contain-web: c 1:3 rwm, c 136:* rwm\nargv: x')
})

// ---------------------------------------------------------------------------------------------
// The handle helpers: pure over a ProjectHandle.

function handle(state?: ProjectState, staleSupervisor?: number): ProjectHandle {
  return {name: 'shop', file: '/srv/shop/contain.yml', stateDir: '/run/contain/shop-12345678', state, staleSupervisor}
}

function shop(): Project {
  const supervision = defaultSupervision()
  return {
    file: '/srv/shop/contain.yml',
    dir: '/srv/shop',
    name: 'shop',
    apps: [
      {
        name: 'web',
        command: ['rails', 's'],
        input: {name: 'web'},
        options: {} as RunOptions,
        naming: flagNaming,
        supervision,
        envFiles: [],
        location: {line: 2, column: 3},
      },
      {
        name: 'worker',
        command: ['sidekiq'],
        input: {name: 'worker'},
        options: {} as RunOptions,
        naming: flagNaming,
        supervision: {...supervision, logging: {maxSizeBytes: 1024, maxFiles: 2, dir: '/var/log/shop'}},
        envFiles: [],
        location: {line: 4, column: 3},
      },
    ],
  }
}

const running: ProjectState = {
  project: 'shop',
  file: '/srv/shop/contain.yml',
  supervisor: {pid: 1, startTime: '1'},
  socket: '/run/contain/shop-12345678/control.sock',
  logsDir: '/run/contain/shop-12345678/logs',
  startedAt: ago(0),
}

t.test('appLogFile: the state directory by default, logging.dir when set', async t => {
  t.strictSame(appLogFile(shop(), '/run/contain/shop-12345678', 'web'), {file: '/run/contain/shop-12345678/logs/web.log', maxFiles: 5})
  t.strictSame(appLogFile(shop(), '/run/contain/shop-12345678', 'worker'), {file: '/var/log/shop/worker.log', maxFiles: 2})
  const error = thrown(() => appLogFile(shop(), '/run/contain/shop-12345678', 'nope'))
  t.type(error, ContainError)
  t.match(error, {message: 'no app named "nope" in /srv/shop/contain.yml', fix: 'use one of: web, worker'})
})

t.test("loggedFile: a running project's log as its supervisor opened it, whatever contain.yml says today", async t => {
  const logs = {web: {file: '/var/log/then/web.log', maxFiles: 3}}
  t.strictSame(loggedFile(handle({...running, logs}), 'web'), {file: '/var/log/then/web.log', maxFiles: 3})
  t.equal(loggedFile(handle({...running, logs}), 'worker'), undefined, 'an app without a log yet: contain.yml decides')
  t.equal(loggedFile(handle({...running, logs}), 'constructor'), undefined, "only the state's own entries")
  t.equal(loggedFile(handle(running), 'web'), undefined, 'a state of an older supervisor')
  t.equal(loggedFile(handle(), 'web'), undefined, 'not running')
})

t.test('requireRunning: the state, or an error that says how to start it', async t => {
  t.equal(requireRunning(handle(running)), running)
  t.match(
    thrown(() => requireRunning(handle())),
    {message: 'shop is not running', fix: 'start it with contain up (or contain up -d)'},
  )
  t.match(
    thrown(() => requireRunning(handle(undefined, 4321))),
    {message: 'shop is not running (its supervisor, pid 4321, was killed; its apps died with it)'},
  )
})

t.test('formatHostProjects: per project its directory, supervisor and state directory, then its apps indented', async t => {
  const text = formatHostProjects(
    [
      {
        project: 'shop',
        dir: '/srv/shop',
        file: '/srv/shop/contain.yml',
        stateDir: '/run/contain/shop-0123abcd',
        supervisor: {pid: 42, startedAt: ago(0)},
        killed: false,
        apps: [status({name: 'web', state: 'running', pid: 43, startedAt: ago(5000)})],
      },
      {
        project: 'blog',
        dir: '/srv/blog',
        file: '/srv/blog/contain.yml',
        stateDir: '/run/contain/blog-89abcdef',
        supervisor: {pid: 50, startedAt: ago(0)},
        killed: true,
        apps: [],
      },
    ],
    NOW,
  )
  const lines = text.split('\n')
  t.equal(lines[0], 'shop  /srv/shop  supervisor 42  state /run/contain/shop-0123abcd')
  t.match(lines[1], /^ {2}NAME +STATE/)
  t.match(lines[2], /^ {2}web +running +43 +5s/)
  t.equal(lines[3], '')
  t.equal(lines[4], 'blog  /srv/blog  supervisor 50 (killed; its apps died with it)  state /run/contain/blog-89abcdef')
})

t.test('formatStatusTable: an app with replicas has a row per instance, a rolling restart says so in STATE', async t => {
  const text = formatStatusTable(
    [
      status({
        name: 'web',
        state: 'running',
        replicas: [
          status({name: 'web.1', state: 'running', pid: 11}),
          status({name: 'web.1', state: 'starting', pid: 12, next: true}),
          status({name: 'web.2', state: 'running', pid: 13}),
        ],
        rollout: {state: 'rolling', at: ago(100)},
      }),
      status({name: 'api', state: 'running', pid: 21, rollout: {state: 'failed', at: ago(100), reason: 'its health check failed 3 times in a row'}}),
    ],
    NOW,
  )
  const states = text
    .split('\n')
    .slice(1)
    .map(line => [line.split(/\s{2,}/)[0], line.split(/\s{2,}/)[1]])
  t.strictSame(states, [
    ['web.1', 'running (rolling)'],
    ['web.1', 'starting (new, on trial)'],
    ['web.2', 'running (rolling)'],
    ['api', 'running (rolling restart failed: old instance kept)'],
  ])
})
