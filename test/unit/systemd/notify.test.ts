/**
 * The sd_notify bridge without systemd: which messages it sends, in which order, and when,
 * driven by a fake supervisor's events; and how it takes NOTIFY_SOCKET from the environment.
 */
import {EventEmitter} from 'node:events'
import t from 'tap'
import type {HealthcheckConfig} from '../../../src/config/supervision.js'
import type {LastExit} from '../../../src/supervisor/app.js'
import type {Supervisor} from '../../../src/supervisor/supervisor.js'
import {describeApp, statusLine, SystemdNotifier, takeNotifyTarget, type AppView} from '../../../src/systemd/notify.js'

const CHECK: HealthcheckConfig = {kind: 'http', target: 'http://127.0.0.1:3000/up', intervalMs: 1000, timeoutMs: 1000, retries: 3, startPeriodMs: 0}

/** A supervisor as the bridge sees it: apps that emit state, health and exit. */
function fakeSupervisor(apps: Record<string, {healthcheck?: HealthcheckConfig}>) {
  const map = new Map(Object.entries(apps).map(([name, spec]) => [name, Object.assign(new EventEmitter(), {state: 'stopped', spec})]))
  const set = (name: string, state: string) => {
    const app = map.get(name) as EventEmitter & {state: string}
    app.state = state
    app.emit('state', state)
  }
  // The supervisor itself emits app-added and app-removed when a changed contain.yml is applied.
  return {
    supervisor: Object.assign(new EventEmitter(), {apps: map}) as unknown as Supervisor,
    set,
    emit: (name: string, event: string, value: unknown) => map.get(name)?.emit(event, value),
  }
}

/** A send that records each message; `hold` keeps the next sends pending until `release`. */
function recorder() {
  const sent: string[] = []
  let gate: Promise<void> | undefined
  let open = () => {}
  return {
    sent,
    send: async (message: string) => {
      await gate
      sent.push(message)
    },
    hold: () => (gate = new Promise<void>(resolve => (open = resolve))),
    release: () => {
      gate = undefined
      open()
    },
  }
}

const settle = () => new Promise(resolve => setTimeout(resolve, 10))

t.test('takeNotifyTarget takes the variables out, so that apps do not inherit them', async t => {
  const env: NodeJS.ProcessEnv = {NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42', PATH: '/usr/bin'}
  t.same(takeNotifyTarget(env, 42), {socket: '/run/systemd/notify', watchdogIntervalMs: 15_000})
  t.same(env, {PATH: '/usr/bin'})
  t.same(
    takeNotifyTarget({NOTIFY_SOCKET: '@abstract', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7'}, 42),
    {socket: '@abstract', watchdogIntervalMs: undefined},
    'a watchdog meant for another process is not ours',
  )
  t.same(takeNotifyTarget({NOTIFY_SOCKET: '/s', WATCHDOG_USEC: 'soon'}, 42), {socket: '/s', watchdogIntervalMs: undefined})
  const none: NodeJS.ProcessEnv = {WATCHDOG_USEC: '1000000'}
  t.equal(takeNotifyTarget(none), undefined, 'not under systemd')
  t.same(none, {}, 'a stray watchdog variable is taken out too')
})

t.test('the STATUS line says how each app is', async t => {
  const view = (fields: Partial<AppView>): AppView => ({
    name: 'web',
    state: 'running',
    healthcheck: true,
    health: 'starting',
    restarts: 0,
    wasUp: false,
    ...fields,
  })
  const oom: LastExit = {exitCode: 137, signal: 'SIGKILL', oomKilled: true, at: ''}
  t.equal(describeApp(view({})), 'web running, waiting for its health check')
  t.equal(describeApp(view({health: 'healthy'})), 'web healthy')
  t.equal(describeApp(view({healthcheck: false, health: 'none'})), 'web running')
  t.equal(describeApp(view({state: 'backoff', lastExit: oom, restarts: 2})), 'web restarting after OOM-killed (exit 137) (2 restarts)')
  t.equal(
    describeApp(view({state: 'failed', lastExit: {exitCode: 127, oomKilled: false, error: 'bundle: command not found', at: ''}})),
    'web failed (bundle: command not found)',
  )
  t.equal(describeApp(view({state: 'exited', lastExit: {exitCode: 0, oomKilled: false, at: ''}, restarts: 1})), 'web exited (exit 0) (1 restart)')
  t.equal(statusLine([view({health: 'healthy'}), view({name: 'worker', healthcheck: false})], true), 'stopping: web healthy, worker running')
  t.equal(
    statusLine([view({state: 'failed', lastExit: {exitCode: 1, oomKilled: false, error: 'line one\nline two', at: ''}})]),
    'web failed (line one line two)',
    'one line',
  )
})

t.test('READY=1 once every app is up: after the first passing check, or once running without one', async t => {
  const {supervisor, set, emit} = fakeSupervisor({web: {healthcheck: CHECK}, worker: {}})
  const {sent, send} = recorder()
  const notifier = new SystemdNotifier(send).watch(supervisor)
  set('web', 'starting')
  set('web', 'running')
  set('worker', 'starting')
  set('worker', 'running')
  await notifier.flushed()
  t.notOk(
    sent.some(message => message.includes('READY=1')),
    'not while web waits for its check',
  )
  t.equal(sent.at(-1), 'STATUS=web running, waiting for its health check, worker running')

  emit('web', 'health', 'healthy')
  await notifier.flushed()
  t.equal(sent.at(-1), 'READY=1\nSTATUS=web healthy, worker running')

  // A restart after an OOM kill: STATUS follows, READY=1 is not sent again.
  emit('web', 'exit', {exitCode: 137, signal: 'SIGKILL', oomKilled: true, at: ''})
  set('web', 'backoff')
  await notifier.flushed()
  t.equal(sent.at(-1), 'STATUS=web restarting after OOM-killed (exit 137), worker running')
  set('web', 'starting')
  set('web', 'running')
  emit('web', 'health', 'healthy')
  await notifier.flushed()
  t.equal(sent.at(-1), 'STATUS=web healthy (1 restart), worker running')
  t.equal(sent.filter(message => message.startsWith('READY=1')).length, 1, 'READY=1 once')

  notifier.stopping()
  notifier.stopping()
  await notifier.flushed()
  t.equal(sent.at(-1), 'STOPPING=1\nSTATUS=stopping: web healthy (1 restart), worker running')
  set('web', 'stopping')
  await notifier.flushed()
  t.equal(sent.at(-1), 'STATUS=stopping: web stopping (1 restart), worker running')
  t.equal(sent.filter(message => message.startsWith('STOPPING=1')).length, 1, 'STOPPING=1 once')
})

t.test('a changed contain.yml applied: STATUS follows apps added, replaced and removed', async t => {
  const {supervisor, set} = fakeSupervisor({web: {}, old: {}})
  const {sent, send} = recorder()
  const notifier = new SystemdNotifier(send).watch(supervisor)
  set('web', 'running')
  set('old', 'running')
  await notifier.flushed()
  t.equal(sent.at(-1), 'READY=1\nSTATUS=web running, old running')
  supervisor.emit('app-removed', 'old')
  await notifier.flushed()
  t.equal(sent.at(-1), 'STATUS=web running', 'a removed app leaves the status')
  // web recreated: its old version removed, its new one added and started.
  supervisor.emit('app-removed', 'web')
  const web = Object.assign(new EventEmitter(), {state: 'stopped', spec: {}})
  supervisor.emit('app-added', 'web', web)
  const cron = Object.assign(new EventEmitter(), {state: 'stopped', spec: {}})
  supervisor.emit('app-added', 'cron', cron)
  web.emit('state', 'running')
  cron.emit('state', 'running')
  await notifier.flushed()
  t.equal(sent.at(-1), 'STATUS=web running, cron running', 'new versions and new apps are followed')
  t.equal(sent.filter(message => message.startsWith('READY=1')).length, 1, 'READY=1 once')
  notifier.stopping()
  await notifier.flushed()
})

t.test('an app that ends before it was up keeps READY=1 back; stopping before ready sends none', async t => {
  const {supervisor, set, emit} = fakeSupervisor({web: {healthcheck: CHECK}})
  const {sent, send} = recorder()
  const notifier = new SystemdNotifier(send).watch(supervisor)
  set('web', 'starting')
  set('web', 'running')
  emit('web', 'exit', {exitCode: 1, oomKilled: false, at: ''})
  set('web', 'exited')
  notifier.stopping()
  emit('web', 'health', 'healthy')
  await notifier.flushed()
  t.notOk(sent.some(message => message.includes('READY=1')))
  t.ok(sent.includes('STOPPING=1\nSTATUS=stopping: web exited (exit 1)'))
})

t.test('messages go out one at a time, in order; a waiting STATUS is replaced by a newer one', async t => {
  const {supervisor, set} = fakeSupervisor({worker: {}})
  const {sent, send, hold, release} = recorder()
  const notifier = new SystemdNotifier(send).watch(supervisor)
  hold()
  set('worker', 'starting') // in flight, held
  set('worker', 'running') // READY=1: never replaced
  set('worker', 'stopping')
  set('worker', 'stopped') // replaces the STATUS of 'stopping'
  release()
  await notifier.flushed()
  t.same(sent, ['STATUS=worker starting', 'READY=1\nSTATUS=worker running', 'STATUS=worker stopped'])
})

t.test('WATCHDOG=1 every interval until stopping; a failed send is said once', async t => {
  const {supervisor} = fakeSupervisor({worker: {}})
  const sent: string[] = []
  const warnings: string[] = []
  const notifier = new SystemdNotifier(
    async message => {
      sent.push(message)
      throw new Error('No such file or directory')
    },
    {watchdogIntervalMs: 20, warn: message => warnings.push(message)},
  ).watch(supervisor)
  await new Promise(resolve => setTimeout(resolve, 110))
  notifier.stopping()
  const count = sent.filter(message => message === 'WATCHDOG=1').length
  t.ok(count >= 3, `${count} WATCHDOG=1 in 110 ms at 20 ms`)
  await new Promise(resolve => setTimeout(resolve, 60))
  await notifier.flushed()
  t.equal(sent.filter(message => message === 'WATCHDOG=1').length, count, 'none after STOPPING=1')
  t.same(warnings, ['contain: cannot notify systemd (WATCHDOG=1): No such file or directory'])
  await settle()
})
