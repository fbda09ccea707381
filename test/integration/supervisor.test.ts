import {once} from 'node:events'
import {mkdirSync, readFileSync, rmdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Readable} from 'node:stream'
import t, {type Test} from 'tap'
import type {RawRunFlags} from '../../src/config/schema.js'
import {resolveRunOptions} from '../../src/config/resolve.js'
import {hostFacts, planRun} from '../../src/launch/run.js'
import {AppState, type AppSpec, type LastExit, type OutputSink} from '../../src/supervisor/app.js'
import type {RestartConfig as RestartPolicy} from '../../src/config/supervision.js'
import {Supervisor} from '../../src/supervisor/supervisor.js'
import {assertNothingLeftBehind, requireRoot} from './helpers.js'

/** Collects each app's output lines. */
function collectingSink(lines: string[]): OutputSink {
  return {
    attach(_app: string, stream: Readable, _name: 'out' | 'err', onLine: (line: string) => void) {
      let partial = ''
      stream.on('data', chunk => {
        const parts = (partial + chunk).split('\n')
        partial = parts.pop() ?? ''
        for (const line of parts) {
          lines.push(line)
          onLine(line)
        }
      })
    },
  }
}

async function spec(name: string, command: string[], restart: RestartPolicy, flags: RawRunFlags = {}): Promise<AppSpec> {
  const {plan} = await planRun(await resolveRunOptions({name, ...flags}, command, hostFacts()))
  return {name, plan, restart, backoff: {initialMs: 50, maxMs: 1000, factor: 2, jitter: 0, resetAfterMs: 10_000}, stopSignal: 'SIGTERM', stopGraceMs: 2000}
}

/** Resolves with the state once the app reaches it. */
function reach(supervisor: Supervisor, name: string, state: AppState): Promise<void> {
  if (supervisor.apps.get(name)?.state === state) return Promise.resolve()
  return new Promise(resolve => {
    const listener = (app: string, reached: AppState) => {
      if (app !== name || reached !== state) return
      supervisor.off('state', listener)
      resolve()
    }
    supervisor.on('state', listener)
  })
}

/**
 * This file supervises from inside the test process. In the nested cgroup v2 guest
 * (test/vm/integration.sh -g) that process shares its cgroup with the test runner, and cgroup v2
 * rightly refuses to delegate from there; so it first does what a unit with Delegate=yes gives
 * contain: it moves alone into a unit cgroup of its own, and back out when the file ends.
 */
function intoOwnUnit(t: Test): void {
  const parent = process.env.CONTAIN_TEST_UNIT_PARENT
  if (!parent) return
  const home = readFileSync('/proc/self/cgroup', 'utf8').match(/^0::(.*)$/m)?.[1] ?? '/'
  const unit = join(parent, `unit-supervisor-${process.pid}`)
  mkdirSync(unit)
  writeFileSync(join(unit, 'cgroup.procs'), String(process.pid))
  t.teardown(() => {
    writeFileSync(join('/sys/fs/cgroup', home, 'cgroup.procs'), String(process.pid))
    rmdirSync(unit)
  })
}

if (requireRoot(t)) {
  intoOwnUnit(t)
  assertNothingLeftBehind(t)

  t.test('a crash is restarted with growing delays; on-failure:3 gives up after 3 restarts', async t => {
    const supervisor = new Supervisor([await spec('crash', ['sh', '-c', 'echo run; exit 3'], {policy: 'on-failure', maxRetries: 3})], collectingSink([]))
    t.teardown(() => supervisor.down())
    const exits: number[] = []
    supervisor.on('exit', () => exits.push(Date.now()))
    const failed = reach(supervisor, 'crash', AppState.failed)
    await supervisor.start()
    await failed
    const [status] = supervisor.status()
    t.equal(status.restarts, 3)
    t.equal(status.lastExit?.exitCode, 3)
    t.same(status.lastLines, ['run', 'run', 'run', 'run'])
    const gaps = exits.slice(1).map((at, index) => at - exits[index])
    t.equal(gaps.length, 3)
    t.ok(gaps[0] >= 45 && gaps[1] >= 95 && gaps[2] >= 195, `delays grow: ${gaps.join(', ')} ms`)
  })

  t.test('always restarts after exit 0; unless-stopped stays stopped after stop', async t => {
    const supervisor = new Supervisor(
      [await spec('always', ['sh', '-c', 'echo tick'], {policy: 'always'}), await spec('daemon', ['sleep', '60'], {policy: 'unless-stopped'})],
      collectingSink([]),
    )
    t.teardown(() => supervisor.down())
    await supervisor.start()
    while ((supervisor.apps.get('always')?.status().restarts ?? 0) < 2) await once(supervisor, 'exit')
    t.ok(true, 'always restarted after two clean exits')
    await supervisor.stop(['daemon'])
    t.equal(supervisor.apps.get('daemon')?.state, AppState.stopped)
    await new Promise(resolve => setTimeout(resolve, 300))
    t.equal(supervisor.apps.get('daemon')?.state, AppState.stopped, 'still stopped')
    t.match(supervisor.apps.get('daemon')?.status().lastExit, {exitCode: 143, signal: 'SIGTERM'})
  })

  t.test('a SIGKILLed app is restarted with a new pid', async t => {
    const supervisor = new Supervisor([await spec('victim', ['sh', '-c', 'echo up; exec sleep 60'], {policy: 'always'})], collectingSink([]))
    t.teardown(() => supervisor.down())
    await supervisor.start()
    const app = supervisor.apps.get('victim')
    const firstPid = app?.status().pid
    // The app itself: the cgroup's process that is neither contain-init nor unshare.
    const procs = app?.currentPlan().cgroup.procsFiles[0] ?? '' // the running instance's cgroup, below the app's
    // Polled, not a fixed wait: in the cgroup v2 guest every exec is about ten times slower.
    const sleeper = () =>
      readFileSync(procs, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map(Number)
        .find(pid => {
          try {
            return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep'
          } catch {
            return false
          }
        })
    const deadline = Date.now() + 20_000
    while (sleeper() === undefined && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 25))
    const appPid = sleeper()
    // Never kill(0, ...): that would be this test's whole process group.
    if (!appPid) return t.fail('found the app process')
    t.pass(`found the app process (pid ${appPid})`)
    const exited = once(supervisor, 'exit')
    process.kill(appPid, 'SIGKILL')
    const [, exit] = (await exited) as [string, LastExit]
    t.match(exit, {exitCode: 137, signal: 'SIGKILL', oomKilled: false})
    await reach(supervisor, 'victim', AppState.running)
    t.not(app?.status().pid, firstPid, 'a new launcher pid')
    t.equal(app?.status().restarts, 1)
  })

  t.test('stop escalates to SIGKILL after the grace period', async t => {
    const stubborn = await spec('stubborn', ['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'], {policy: 'no'})
    const lines: string[] = []
    const supervisor = new Supervisor([{...stubborn, stopGraceMs: 300}], collectingSink(lines))
    t.teardown(() => supervisor.down())
    await supervisor.start()
    // Stopped before its trap is set, the app would die of the SIGTERM: wait for it to say so (a
    // fixed 200 ms was too short in the cgroup v2 guest, where every exec is ten times slower).
    for (const deadline = Date.now() + 30_000; !lines.includes('ready') && Date.now() < deadline;) await new Promise(resolve => setTimeout(resolve, 20))
    const started = Date.now()
    await supervisor.stop()
    t.ok(Date.now() - started >= 290, 'waited the grace period')
    t.match(supervisor.apps.get('stubborn')?.status().lastExit, {signal: 'SIGKILL'})
  })

  t.test('a command that does not exist fails without a restart loop', async t => {
    const supervisor = new Supervisor([await spec('typo', ['no-such-command-here'], {policy: 'always'})], collectingSink([]))
    t.teardown(() => supervisor.down())
    await supervisor.start()
    await reach(supervisor, 'typo', AppState.failed)
    t.match(supervisor.status()[0].lastExit, {exitCode: 127, error: /command not found/})
    t.equal(supervisor.status()[0].restarts, 0)
  })
}
