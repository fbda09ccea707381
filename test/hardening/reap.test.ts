/**
 * Nothing left behind however contain dies (issue 12, item 3): `contain run` SIGKILLed at random
 * moments (while it plans, while the app starts, while it runs, while it exits), several at once,
 * then a count of the directories left below contain's cgroups and of the processes left (both
 * must be 0 once the apps are gone), with no later run of the same name to clean up: contain-init's
 * reaper (`enter --reap`) removes them. Then the cases one by one: a SIGKILLed supervisor, a
 * cgroup the app's cgroup holds (made by root from outside, with a process in it), and a
 * supervisor's restarts, which keep one reaper per app.
 *
 * CONTAIN_REAP_CYCLES sets the count (else CONTAIN_SOAK_CYCLES; by default 200 on the host and 20
 * in the cgroup v2 guest, where every exec is about ten times slower), CONTAIN_REAP_SEED the seed,
 * printed so that a run reproduces. Nested in a delegated unit (test/vm/integration.sh -g) contain
 * starts no reaper, by design, and only the killed runs are checked: what a killed unit leaves is
 * the service manager's to remove, as systemd does.
 */
import {spawn} from 'node:child_process'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {
  appCgroupDirs,
  cgroupParents,
  cli,
  figure,
  inGuest,
  killContain,
  nested,
  processesWith,
  requireRoot,
  seededRandom,
  settledLeftovers,
  sleep,
  startCli,
  testdir,
  token,
  until,
} from './helpers.js'

const seed = Number(process.env.CONTAIN_REAP_SEED ?? 20261207)
const cycles = Number(process.env.CONTAIN_REAP_CYCLES ?? process.env.CONTAIN_SOAK_CYCLES ?? (inGuest ? 20 : 200))
/** contain runs killed side by side. */
const WORKERS = inGuest ? 2 : 4
const mark = token('rp')

/** The apps: one that ends at once, one that ends soon, one that runs until it is killed. */
const APPS: string[][] = [['true'], ['sleep', '0.05'], ['sleep', '30']]

/** The app cgroups of `name`, in every hierarchy (contain/<scope>/<name>). */
function appCgroups(name: string): string[] {
  return appCgroupDirs(name)
}

/** Where a SIGKILL found `contain run`: before its app cgroup existed, with the cgroup made but no process in it yet (or none left), with the app in it, or after contain had ended by itself. */
type Moment = 'planning' | 'cgroup empty' | 'app in it' | 'ended'

function momentOf(name: string): Moment {
  const dirs = appCgroups(name)
  if (dirs.length === 0) return 'planning'
  try {
    return readFileSync(join(dirs[0], 'cgroup.procs'), 'utf8').trim() === '' ? 'cgroup empty' : 'app in it'
  } catch {
    return 'cgroup empty'
  }
}

if (requireRoot(t)) {
  // Nested in a delegated unit contain sits in a delegation leaf and starts no reaper: the service
  // manager (here the test runner, as systemd) removes what a killed contain's unit leaves. The
  // killed runs must still leave nothing of contain's; the cases of the reaper itself need it.
  if (nested) t.comment("reap: nested in a delegated unit: no reaper by design (the service manager removes a killed unit's cgroups); the killed runs only")
  t.test(`${cycles} contain runs SIGKILLed at random moments leave no cgroup and no process (seed ${seed})`, async t => {
    figure(t, `reap: seed ${seed}, ${cycles} cycles, ${WORKERS} at once (CONTAIN_REAP_SEED=${seed} CONTAIN_REAP_CYCLES=${cycles} reproduces it)`)
    const dir = testdir(t)
    const moments: Record<Moment, number> = {planning: 0, 'cgroup empty': 0, 'app in it': 0, ended: 0}
    // How long a whole `contain run true` takes here with as many side by side: the kills are drawn
    // from 0 to 1.5 times that, so they fall before, during and after the app's start and end
    // (at most 2 s, which keeps a loaded host's run short; the other two kinds of kill wait for
    // the moments themselves).
    const calibration = await Promise.all(
      Array.from({length: WORKERS}, async (_, worker) => (await cli(['run', '--name', `k${worker}${mark}`, '--', 'true'], {cwd: dir})).ms),
    )
    const span = Math.min(2000, Math.round(1.5 * calibration.sort((a, b) => a - b)[Math.floor(WORKERS / 2)]))
    const subtreeControl = () =>
      cgroupParents().map(parent => {
        try {
          return `${parent}: ${readFileSync(join(parent, 'cgroup.subtree_control'), 'utf8').trim()}`
        } catch {
          return `${parent}: (v1)`
        }
      })
    const controlBefore = subtreeControl()
    const started = Date.now()
    let next = 0
    await Promise.all(
      Array.from({length: WORKERS}, async () => {
        while (next < cycles) {
          const cycle = next++
          const random = seededRandom(seed * 7919 + cycle)
          const name = `c${cycle}${mark}`
          // A third of the kills at a random moment of the whole run; a third just as the app's
          // cgroup appears (the app starting); a third just as the app has left it (the app exiting).
          const when = (['random', 'starting', 'exiting'] as const)[Math.floor(random() * 3)]
          const app = when === 'exiting' ? ['sleep', '0.1'] : APPS[Math.floor(random() * APPS.length)]
          const delay = Math.floor(random() * (when === 'random' ? span : 5))
          // A pids limit: on a cgroup v2 root (the guest) contain enables the controller for its apps
          // (a delegation), which the reaper undoes when contain did not.
          const running = startCli(['run', '--name', name, '--pids-limit', '100', '--', ...app], {cwd: dir})
          let ended = false
          void running.then(() => (ended = true))
          if (when === 'starting') await until(() => ended || momentOf(name) !== 'planning', 'the app cgroup', 15_000, 1).catch(() => undefined)
          if (when === 'exiting') {
            await until(() => ended || momentOf(name) === 'app in it', 'the app in its cgroup', 15_000, 1).catch(() => undefined)
            await until(() => ended || momentOf(name) !== 'app in it', 'the app to leave its cgroup', 15_000, 1).catch(() => undefined)
          }
          await sleep(delay)
          const moment: Moment = ended ? 'ended' : momentOf(name)
          try {
            if (!ended && running.pid !== undefined) killContain(running.pid)
          } catch {
            // It ended in the meantime, and removed its cgroup itself.
          }
          await running
          moments[moment]++
        }
      }),
    )
    // The reapers see contain's end at once; killing, emptying and removing takes a few ms each.
    const left = await settledLeftovers(mark, undefined, 10_000)
    t.same(left.cgroups, [], "no cgroup directory left below contain's cgroups")
    t.same(left.processes, [], 'no process left: no app, no contain-init, no reaper')
    if (!nested) t.same(subtreeControl(), controlBefore, 'the controllers enabled for the apps are disabled again (cgroup.subtree_control as before)')
    figure(
      t,
      `reap: ${cycles} contain runs in ${((Date.now() - started) / 1000).toFixed(1)} s, kills drawn from 0 to ${span} ms: ${moments.planning} before the app's cgroup was made, ${moments['cgroup empty']} with it made and empty (the app starting or gone), ${moments['app in it']} with the app in it, ${moments.ended} after contain had ended; ${left.cgroups.length} directories and ${left.processes.length} processes left`,
    )
  })

  if (!nested)
    t.test('a SIGKILLed supervisor leaves no cgroup, without a contain ps', async t => {
      const dir = testdir(t)
      const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
      const app = `s${mark}`
      writeFileSync(join(dir, 'contain.yml'), `apps:\n  ${app}:\n    command: sleep 30\n`)
      const up = await cli(['up', '-d'], {cwd: dir, env})
      t.equal(up.exitCode, 0, `up -d: ${up.stderr}`)
      await until(() => appCgroups(app).length > 0, "the app's cgroup")
      const stateFile = readdirSync(env.CONTAIN_STATE_DIR, {recursive: true})
        .map(String)
        .find(file => file.endsWith('state.json'))
      const supervisor = JSON.parse(readFileSync(join(env.CONTAIN_STATE_DIR, stateFile ?? ''), 'utf8')).supervisor.pid as number
      killContain(supervisor)
      const left = await settledLeftovers(mark, undefined, 10_000)
      t.same(left, {cgroups: [], processes: [], stateFiles: []}, 'its apps, their reapers and their cgroups are gone')
    })

  if (!nested)
    t.test("a cgroup below the app's, with a process in it, is killed and removed deepest first", async t => {
      const dir = testdir(t)
      const name = `n${mark}`
      const running = startCli(['run', '--name', name, '--', 'sleep', '30'], {cwd: dir})
      await until(() => appCgroups(name).length > 0 && readFileSync(join(appCgroups(name)[0], 'cgroup.procs'), 'utf8').trim() !== '', 'the app in its cgroup')
      // Made from outside as root: the app itself sees cgroupfs read-only, but a privileged one could nest.
      const nestedDirs = appCgroups(name).map(appDir => join(appDir, 'inner', 'deeper'))
      for (const inner of nestedDirs) mkdirSync(inner, {recursive: true})
      // The first hierarchy's deepest cgroup takes a process that is not the app's (cgroup.procs is writable on v1 and v2).
      // A shell waiting on its own builtin read: one process, the mark in its argv.
      const sleeper = spawn('sh', ['-c', 'read line', mark], {stdio: ['pipe', 'ignore', 'ignore']})
      const killedBy = new Promise(resolve => sleeper.once('exit', (code, signal) => resolve(signal ?? code)))
      writeFileSync(join(nestedDirs[0], 'cgroup.procs'), String(sleeper.pid))
      if (running.pid !== undefined) killContain(running.pid)
      await running
      const left = await settledLeftovers(mark, undefined, 10_000)
      t.same(left.cgroups, [], "the app's cgroups and those below them are gone")
      t.same(left.processes, [], 'the process in the inner cgroup was killed')
      t.equal(await killedBy, 'SIGKILL', 'killed by the reaper')
    })

  if (!nested)
    t.test("a supervisor's restarts keep one reaper at a time per app", async t => {
      const dir = testdir(t)
      const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
      const app = `l${mark}`
      writeFileSync(
        join(dir, 'contain.yml'),
        `apps:\n  ${app}:\n    command: sleep 0.2\n    restart: always\n    backoff: {initial: 50ms, max: 50ms, jitter: 0}\n`,
      )
      const up = await cli(['up', '-d'], {cwd: dir, env})
      t.equal(up.exitCode, 0, `up -d: ${up.stderr}`)
      const stateFile = readdirSync(env.CONTAIN_STATE_DIR, {recursive: true})
        .map(String)
        .find(file => file.endsWith('state.json'))
      const supervisor = JSON.parse(readFileSync(join(env.CONTAIN_STATE_DIR, stateFile ?? ''), 'utf8')).supervisor.pid as number
      // Whatever fails below, the supervisor does not outlive the test.
      t.teardown(() => {
        try {
          process.kill(supervisor, 'SIGKILL')
        } catch {
          // Ended by down.
        }
      })
      // Each run is an instance with a cgroup of its own below the app's, and its contain-init enter
      // forks a reaper for it (which keeps enter's argv, --reap included); that reaper ends once the
      // instance's cgroup is removed, before the next run starts. (Premise changed with instances:
      // it was one reaper for the app's whole life.)
      // Told apart by the name the reaper gives itself: for a moment at each start, the enter that
      // forked it still has the same command line.
      const isReaper = (line: string) => {
        try {
          return readFileSync(`/proc/${line.split(' ')[0]}/comm`, 'utf8').trim() === 'contain-reaper'
        } catch {
          return false
        }
      }
      const reapers = () => processesWith(mark).filter(line => line.includes(' enter ') && line.includes('--reap') && isReaper(line))
      const restarts = async () => JSON.parse((await cli(['ps', '--json'], {cwd: dir, env})).stdout || '[]')[0]?.restarts ?? 0
      // In the guest every exec is about ten times slower: two restarts are enough there.
      const wanted = inGuest ? 2 : 3
      await until(async () => (await restarts()) >= wanted, `${wanted} restarts`, 120_000, 200).catch(() => undefined)
      t.ok((await restarts()) >= wanted, `the app restarted at least ${wanted} times`)
      // Sampled for a second: a run lasts 0.2 s and the next starts 50 ms after, so between two runs
      // there is no reaper at all (the old one ended with its cgroup); there is never a second one.
      const counts: number[] = []
      for (const started = Date.now(); Date.now() - started < 1000; await new Promise(resolve => setTimeout(resolve, 20))) counts.push(reapers().length)
      t.equal(Math.max(...counts), 1, `one reaper at a time watches the running instance's cgroup (counts seen: ${[...new Set(counts)].join(', ')})`)
      const down = await cli(['down'], {cwd: dir, env, timeoutMs: 180_000})
      t.ok(down.exitCode === 0 && !/is not running/.test(down.stdout), `down: ${down.exitCode} ${down.stdout} ${down.stderr}`)
      const left = await settledLeftovers(mark, env.CONTAIN_STATE_DIR, 10_000)
      t.same(left, {cgroups: [], processes: [], stateFiles: []}, 'down leaves nothing, the reaper included')
    })
}
