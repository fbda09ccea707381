/**
 * Part 1 of the hardening suite: launch/stop cycles of short apps with random faults — the app
 * SIGKILLed, `contain run` SIGKILLed mid-run, the detached supervisor SIGKILLed, the foreground
 * `contain up` SIGKILLed mid-run, the `contain up -d` CLI SIGKILLed while it starts, OOM kills, crash loops, `contain down` during start. After each cycle
 * the fault must have been reported truthfully (exit code, signal, oomKilled, ps), and at the end
 * nothing may be left: no cgroup, process, mount or state file.
 *
 * CI runs 200 cycles on the host; in the cgroup v2 guests, where every exec is about ten times
 * slower, scripts/test.js sets the count per guest (CONTAIN_SOAK_CYCLES: 15 nested, 8 plain).
 * CONTAIN_SOAK=1 runs 1,000. CONTAIN_SOAK_SEED and CONTAIN_SOAK_CYCLES override the seed and the
 * count; the seed is printed so that a failure reproduces.
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {
  appPid,
  cgroupsWith,
  cli,
  figure,
  hostMounts,
  inGuest,
  killContain,
  nested,
  newMounts,
  requireRoot,
  seededRandom,
  settledLeftovers,
  sleep,
  startCli,
  stateFiles,
  testdir,
  token,
  until,
} from './helpers.js'

const seed = Number(process.env.CONTAIN_SOAK_SEED ?? 20261129)
const cycles = Number(process.env.CONTAIN_SOAK_CYCLES ?? (process.env.CONTAIN_SOAK === '1' ? 1000 : inGuest ? 15 : 200))
/** Cycles run two at a time (each worker with its own names and projects); each cycle draws from its own seeded source. */
const WORKERS = 2
const mark = token('sk')

type Fault =
  | 'exit'
  | 'signal'
  | 'app-kill'
  | 'run-kill'
  | 'oom'
  | 'up-app-kill'
  | 'supervisor-kill'
  | 'cli-kill'
  | 'up-cli-kill'
  | 'up-oom'
  | 'crash-loop'
  | 'down-during-start'

/** Weights: contain run cycles are cheap, contain up cycles (three CLI calls each) dearer. */
const FAULTS: [Fault, number][] = [
  ['exit', 14],
  ['signal', 10],
  ['app-kill', 12],
  ['run-kill', 12],
  ['oom', 10],
  ['up-app-kill', 3],
  ['supervisor-kill', 3],
  ['cli-kill', 3],
  ['up-cli-kill', 3],
  ['up-oom', 2],
  ['crash-loop', 2],
  ['down-during-start', 3],
]

/** CONTAIN_SOAK_FAULTS=up-oom,crash-loop draws only those faults (to chase one kind). */
const only = process.env.CONTAIN_SOAK_FAULTS?.split(',').filter(Boolean)
/**
 * Nested in a delegated cgroup v2 unit, `contain up -d` cannot start its apps: the detached
 * supervisor shares the unit with the CLI that waits for it, and v2 delegation needs contain alone
 * in its cgroup. There the foreground `contain up` is the supervisor (what `contain systemd`
 * writes), so the faults that need `up -d` are left out.
 */
const DETACHED: Fault[] = ['up-app-kill', 'supervisor-kill', 'up-cli-kill', 'up-oom', 'crash-loop', 'down-during-start']
const drawn = FAULTS.filter(([fault]) => (!only || only.includes(fault)) && !(nested && DETACHED.includes(fault)))

function pick(random: () => number): Fault {
  const total = drawn.reduce((sum, [, weight]) => sum + weight, 0)
  let roll = random() * total
  for (const [fault, weight] of drawn) if ((roll -= weight) < 0) return fault
  return drawn[0][0]
}

const SIGNALS: [string, number][] = [
  ['TERM', 15],
  ['SEGV', 11],
  ['KILL', 9],
  ['INT', 2],
  ['USR1', 10],
  ['ABRT', 6],
]

/** The outcome `contain run --json` prints last. */
function outcomeOf(stdout: string): {exitCode?: number; signal?: string; oomKilled?: boolean} {
  try {
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}')
  } catch {
    return {}
  }
}

interface Soak {
  t: Test
  dir: string
  env: Record<string, string>
  stateRoot: string
  /** This cycle's random source (seed + cycle) and worker. */
  random: () => number
  worker: number
  problems: string[]
  faults: Record<string, number>
  /** Time spent per kind of fault, for the figure. */
  ms: Record<string, number>
}

function expect(soak: Soak, cycle: number, fault: Fault, ok: boolean, what: string): void {
  if (!ok) soak.problems.push(`cycle ${cycle} (${fault}): ${what}`)
}

/** `contain run` cycles: a --name from a small pool, so a later cycle reuses what a killed one left. */
async function runCycle(soak: Soak, cycle: number, fault: Fault): Promise<void> {
  const name = `r${soak.worker}${Math.floor(soak.random() * 3)}${mark}`
  const check = (ok: boolean, what: string) => expect(soak, cycle, fault, ok, what)
  if (fault === 'exit') {
    const code = Math.floor(soak.random() * 120)
    const result = await cli(['run', '--name', name, '--json', '--', 'sh', '-c', `exit ${code}`])
    const outcome = outcomeOf(result.stdout)
    check(
      result.exitCode === code && outcome.exitCode === code && outcome.oomKilled === false,
      `exit ${code}: contain exited ${result.exitCode}, reported ${JSON.stringify(outcome)} ${result.stderr}`,
    )
  } else if (fault === 'signal') {
    const [signal, number] = SIGNALS[Math.floor(soak.random() * SIGNALS.length)]
    const result = await cli(['run', '--name', name, '--json', '--', 'sh', '-c', `kill -${signal} $$`])
    const outcome = outcomeOf(result.stdout)
    check(
      result.exitCode === 128 + number && outcome.signal === `SIG${signal}` && outcome.oomKilled === false,
      `SIG${signal}: contain exited ${result.exitCode}, reported ${JSON.stringify(outcome)}`,
    )
  } else if (fault === 'app-kill' || fault === 'run-kill') {
    const running = startCli(['run', '--name', name, '--json', '--', 'sleep', '30'])
    let app: number | undefined
    await until(() => (app = appPid(name, 'sleep')) !== undefined, `the app of ${name}`, 15_000)
    if (fault === 'app-kill') {
      process.kill(app as number, 'SIGKILL')
      const result = await running
      const outcome = outcomeOf(String(result.stdout))
      check(
        result.exitCode === 137 && outcome.signal === 'SIGKILL' && outcome.oomKilled === false,
        `app SIGKILLed: contain exited ${result.exitCode}, reported ${JSON.stringify(outcome)}`,
      )
    } else {
      running.kill('SIGKILL')
      await running
      // The app dies with contain (PR_SET_PDEATHSIG), and the reaper removes its cgroup (nested in a
      // delegated unit there is none: the service manager removes what the unit leaves).
      await until(() => !processAlive(app as number), `the app of a SIGKILLed contain run to die`, 5000).catch(() =>
        check(false, `the app (pid ${app}) outlived its contain run`),
      )
      if (!nested)
        await until(() => cgroupsWith(name).length === 0, 'the reaper to remove the cgroup', 5000).catch(() =>
          check(false, `the cgroup of a SIGKILLed contain run was left: ${cgroupsWith(name).join(', ')}`),
        )
      const recovery = await cli(['run', '--name', name, '--', 'true'])
      check(recovery.exitCode === 0, `the next run with the same name: exit ${recovery.exitCode} ${recovery.stderr}`)
    }
  } else if (fault === 'oom') {
    const result = await cli(['run', '--name', name, '--json', '--memory', '8m', '--memory-swap', '8m', '--', 'tail', '/dev/zero'])
    const outcome = outcomeOf(result.stdout)
    check(
      result.exitCode === 137 && outcome.oomKilled === true && /OOM-killed by its memory limit/.test(result.stderr),
      `OOM: contain exited ${result.exitCode}, reported ${JSON.stringify(outcome)} ${result.stderr}`,
    )
  }
}

function processAlive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')
  } catch {
    return false
  }
}

/** A project of one app, in its own directory (the project is the directory). */
function projectFor(soak: Soak, cycle: number, body: string): {cwd: string; app: string} {
  const app = `u${soak.worker}${cycle % 2}${mark}`
  const cwd = join(soak.dir, projectName(soak.worker, cycle))
  mkdirSync(cwd, {recursive: true})
  writeFileSync(join(cwd, 'contain.yml'), `apps:\n  ${app}:\n${body}`)
  return {cwd, app}
}

const tracing = process.env.CONTAIN_SOAK_TRACE === '1'
let traceStart = Date.now()
function trace(what: string): void {
  if (tracing) console.error(`# ${Date.now() - traceStart} ms ${what}`)
}

async function status(
  soak: Soak,
  cwd: string,
): Promise<Array<{name: string; state: string; pid?: number; restarts: number; lastExit?: {exitCode: number; signal?: string; oomKilled: boolean}}>> {
  const result = await cli(['ps', '--json'], {cwd, env: soak.env})
  trace(`ps ${result.ms} ms`)
  try {
    return JSON.parse(result.stdout || '[]')
  } catch {
    return []
  }
}

function projectName(worker: number, cycle: number): string {
  return `p${worker}${cycle % 2}`
}

async function upCycle(soak: Soak, cycle: number, fault: Fault): Promise<void> {
  const check = (ok: boolean, what: string) => expect(soak, cycle, fault, ok, what)
  const {env} = soak
  const fast = '    backoff: {initial: 10ms, max: 50ms, jitter: 0}\n    stop_grace_period: 2s\n'
  try {
    if (fault === 'up-app-kill') {
      const {cwd, app} = projectFor(soak, cycle, `    command: sleep 30\n    restart: always\n${fast}`)
      const up = await cli(['up', '-d'], {cwd, env})
      check(up.exitCode === 0, `up -d: ${up.exitCode} ${up.stderr}`)
      let pid: number | undefined
      await until(() => (pid = appPid(app, 'sleep')) !== undefined, 'the app', 15_000)
      process.kill(pid as number, 'SIGKILL')
      // The restart shows as a new app process in the cgroup: no CLI call needed to wait for it.
      await until(() => (appPid(app, 'sleep') ?? pid) !== pid, 'a restart after the SIGKILL', 15_000).catch(() => undefined)
      const [app0] = await status(soak, cwd)
      check(
        app0?.restarts >= 1 && app0?.lastExit?.exitCode === 137 && app0.lastExit.signal === 'SIGKILL' && app0.lastExit.oomKilled === false,
        `ps after SIGKILL: ${JSON.stringify(app0)}`,
      )
      await down(soak, cwd, check)
    } else if (fault === 'supervisor-kill' || fault === 'cli-kill') {
      const {cwd, app} = projectFor(soak, cycle, `    command: sleep 30\n`)
      if (fault === 'supervisor-kill') {
        const up = await cli(['up', '-d'], {cwd, env})
        check(up.exitCode === 0, `up -d: ${up.exitCode} ${up.stderr}`)
        const state = JSON.parse(
          readFileSync(
            stateFiles(soak.stateRoot).find(file => file.endsWith('state.json') && file.includes(`/${projectName(soak.worker, cycle)}-`)) ?? '',
            'utf8',
          ),
        )
        let pid: number | undefined
        await until(() => (pid = appPid(app, 'sleep')) !== undefined, 'the app', 15_000)
        killContain(state.supervisor.pid)
        await until(() => !processAlive(pid as number), 'the app to die with its supervisor', 5000).catch(() =>
          check(false, `the app (pid ${pid}) outlived its supervisor`),
        )
      } else {
        // The foreground `contain up` is the supervisor: SIGKILLed mid-run, after a random moment.
        const up = startCli(['up', '--no-color'], {cwd, env})
        await until(() => appPid(app, 'sleep') !== undefined, 'the app', 15_000).catch(() => undefined)
        await sleep(Math.floor(soak.random() * 200))
        const pid = appPid(app, 'sleep')
        up.kill('SIGKILL')
        await up
        if (pid)
          await until(() => !processAlive(pid), 'the app to die with contain up', 5000).catch(() => check(false, `the app (pid ${pid}) outlived contain up`))
        // Killed before it started the app (and wrote its state): then "not running" is the truth.
        if (!pid) {
          const ps = await cli(['ps'], {cwd, env})
          check(/is not running/.test(ps.stdout), `ps after contain up was killed before its app started: ${ps.stdout} ${ps.stderr}`)
          return
        }
      }
      const ps = await cli(['ps'], {cwd, env})
      check(
        /was killed; its apps died with it/.test(ps.stderr) && /is not running/.test(ps.stdout),
        `ps after the supervisor was killed: ${ps.stdout} ${ps.stderr}`,
      )
    } else if (fault === 'up-cli-kill') {
      // The `contain up -d` CLI SIGKILLed at a random moment of its start. The supervisor it may
      // have started is detached and runs on; the truth is one supervisor or none, never two.
      const {cwd, app} = projectFor(soak, cycle, `    command: sleep 30\n`)
      const up = startCli(['up', '-d'], {cwd, env})
      await sleep(Math.floor(soak.random() * 1500))
      up.kill('SIGKILL')
      await up
      const again = await cli(['up', '-d'], {cwd, env})
      const survived = again.exitCode === 125 && /is already running \(supervisor pid \d+/.test(again.stderr)
      check(again.exitCode === 0 || survived, `up -d after an up -d was SIGKILLed: ${again.exitCode} ${again.stderr}`)
      await until(async () => (await status(soak, cwd))[0]?.state === 'running', 'the project to run', 15_000, 200).catch(() => undefined)
      const [app0] = await status(soak, cwd)
      check(
        app0?.state === 'running' && app0.pid !== undefined && appPid(app, 'sleep') !== undefined,
        `ps after an up -d was SIGKILLed (${survived ? 'its supervisor survived' : 'started again'}): ${JSON.stringify(app0)}`,
      )
      await down(soak, cwd, check)
    } else if (fault === 'up-oom') {
      const {cwd, app} = projectFor(soak, cycle, `    command: tail /dev/zero\n    mem_limit: 8m\n    memswap_limit: 8m\n`)
      traceStart = Date.now()
      const up = await cli(['up', '-d'], {cwd, env})
      trace(`up -d ${up.ms} ms`)
      check(up.exitCode === 0, `up -d: ${up.exitCode} ${up.stderr}`)
      // The kernel's side first (no CLI call): the app is gone from its cgroup; then ps, usually once.
      await until(() => appPid(app, 'tail') === undefined, 'the OOM kill', 15_000).catch(() => undefined)
      await until(async () => (await status(soak, cwd))[0]?.state === 'exited', 'the OOM kill', 15_000, 200).catch(() => undefined)
      const [app0] = await status(soak, cwd)
      check(app0?.state === 'exited' && app0.lastExit?.oomKilled === true && app0.lastExit.exitCode === 137, `ps after the OOM kill: ${JSON.stringify(app0)}`)
      const inspect = await cli(['inspect', app0?.name ?? '', '--json'], {cwd, env})
      check(/"oomKilled": true/.test(inspect.stdout), `inspect after the OOM kill: ${inspect.stdout.slice(0, 200)} ${inspect.stderr}`)
      await down(soak, cwd, check)
    } else if (fault === 'crash-loop') {
      const code = 1 + Math.floor(soak.random() * 100)
      const {cwd} = projectFor(soak, cycle, `    command: sh -c 'exit ${code}'\n    restart: on-failure:2\n${fast}`)
      const up = await cli(['up', '-d'], {cwd, env})
      // A crashing app is the app's failure, not contain's: up -d starts it and exits 0 (125 would
      // mean contain itself failed, which this case exists to catch).
      check(up.exitCode === 0, `up -d: ${up.exitCode} ${up.stderr}`)
      await until(async () => (await status(soak, cwd))[0]?.state === 'failed', 'the crash loop to give up', 15_000, 400).catch(() => undefined)
      const [app0] = await status(soak, cwd)
      check(
        app0?.state === 'failed' && app0.restarts === 2 && app0.lastExit?.exitCode === code,
        `ps after on-failure:2 of exit ${code}: ${JSON.stringify(app0)}`,
      )
      await down(soak, cwd, check)
    } else if (fault === 'down-during-start') {
      const {cwd} = projectFor(soak, cycle, `    command: sleep 30\n`)
      const up = startCli(['up', '-d'], {cwd, env})
      await sleep(Math.floor(soak.random() * 600))
      const early = await cli(['down'], {cwd, env})
      const started = await up
      // Either down found it (and it stops), or it was not running yet and said so; then up may still have started it.
      check(
        early.exitCode === 0 && (early.stdout === '' || /is not running/.test(early.stdout)),
        `down during start: ${early.exitCode} ${early.stdout} ${early.stderr}`,
      )
      check(started.exitCode === 0 || started.exitCode === 125, `up -d when down came during its start: ${started.exitCode} ${started.stderr}`)
      await down(soak, cwd, check)
    }
  } finally {
    // Whatever happened, the project is brought down before the next cycle.
    const project = projectName(soak.worker, cycle)
    if (stateFiles(soak.stateRoot).some(file => file.includes(`/${project}-`) && file.endsWith('state.json')))
      await cli(['down'], {cwd: join(soak.dir, project), env})
  }
}

async function down(soak: Soak, cwd: string, check: (ok: boolean, what: string) => void): Promise<void> {
  const result = await cli(['down'], {cwd, env: soak.env})
  trace(`down ${result.ms} ms`)
  check(result.exitCode === 0, `down: ${result.exitCode} ${result.stderr}`)
  const project = `/${cwd.split('/').at(-1)}-`
  check(
    !stateFiles(soak.stateRoot).some(file => file.includes(project)),
    `state left after down: ${stateFiles(soak.stateRoot)
      .filter(file => file.includes(project))
      .join(', ')}`,
  )
}

if (requireRoot(t)) {
  t.test(`soak: ${cycles} launch/stop cycles with random faults (seed ${seed})`, async t => {
    if (nested)
      t.comment(`soak: nested in a delegated unit: contain run faults and the foreground contain up SIGKILLed; not ${DETACHED.join(', ')} (they need up -d)`)
    figure(t, `soak: seed ${seed}, ${cycles} cycles (CONTAIN_SOAK_SEED=${seed} CONTAIN_SOAK_CYCLES=${cycles} reproduces it)`)
    const dir = testdir(t)
    const stateRoot = join(dir, 'state')
    const shared = {
      t,
      dir,
      env: {CONTAIN_STATE_DIR: stateRoot},
      stateRoot,
      problems: [] as string[],
      faults: {} as Record<string, number>,
      ms: {} as Record<string, number>,
    }
    // The plan is drawn up front from the seed, so the order in which workers take cycles changes nothing.
    const plan = Array.from({length: cycles}, (_, cycle) => pick(seededRandom(seed * 7919 + cycle)))
    const mountsBefore = hostMounts()
    const started = Date.now()
    let next = 0
    try {
      await Promise.all(
        Array.from({length: WORKERS}, async (_, worker) => {
          while (next < cycles) {
            const cycle = next++
            const fault = plan[cycle]
            const soak: Soak = {...shared, random: seededRandom(seed + cycle), worker}
            shared.faults[fault] = (shared.faults[fault] ?? 0) + 1
            const cycleStart = Date.now()
            try {
              if (['exit', 'signal', 'app-kill', 'run-kill', 'oom'].includes(fault)) await runCycle(soak, cycle, fault)
              else await upCycle(soak, cycle, fault)
            } catch (error) {
              shared.problems.push(`cycle ${cycle} (${fault}): ${(error as Error).message}`)
            }
            shared.ms[fault] = (shared.ms[fault] ?? 0) + Date.now() - cycleStart
          }
        }),
      )
    } finally {
      // The documented recovery for a SIGKILLed contain run: the next run with the same name.
      for (let worker = 0; worker < WORKERS; worker++)
        for (let index = 0; index < 3; index++) await cli(['run', '--name', `r${worker}${index}${mark}`, '--', 'true'])
    }
    const soak = shared
    const left = await settledLeftovers(mark, stateRoot)
    const mounts = newMounts(mountsBefore, [dir])
    const faults = Object.entries(soak.faults)
      .map(([fault, count]) => `${fault} ${count}`)
      .join(', ')
    t.comment(
      `soak: mean ms per cycle: ${Object.entries(soak.ms)
        .map(([fault, ms]) => `${fault} ${Math.round(ms / soak.faults[fault])}`)
        .join(', ')}`,
    )
    t.same(soak.problems, [], 'every fault was reported truthfully')
    t.same(left, {cgroups: [], processes: [], stateFiles: []}, 'no cgroup, process or state file left')
    t.same(mounts, [], 'no mount left on the host')
    const leaks = left.cgroups.length + left.processes.length + left.stateFiles.length + mounts.length
    figure(
      t,
      `soak: ${cycles} cycles in ${Math.round((Date.now() - started) / 1000)} s, ${cycles - (soak.faults.exit ?? 0)} faults (${faults}), ${soak.problems.length} misreported, ${leaks} leaks`,
    )
  })
}
