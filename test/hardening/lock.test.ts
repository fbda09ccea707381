/**
 * Part 5 of the hardening suite, the project lock: however many `contain up` of one project race,
 * exactly one supervisor runs and every other one applies the file to it (issue 12: `up` on a
 * running project applies contain.yml; unchanged, it leaves the app alone) or names it; a supervisor SIGKILLed with its lock
 * leaves nothing that blocks the next start, even when the next starts race too; and `down`
 * leaves no lock file.
 */
import {readFileSync, readdirSync, readlinkSync} from 'node:fs'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {appPid, appProcessDirs, cli, crashed, figure, requireRoot, settledLeftovers, startCli, token, until} from './helpers.js'

/** The state root's project directories: beside them, names/ holds one lock per project name. */
const projectEntries = (stateRoot: string) => readdirSync(stateRoot).filter(name => name !== 'names')

const mark = token('lk')
const RACERS = 8

/** Processes of contain up (foreground or the detached supervisor) running in the project directory. */
function supervisorsIn(cwd: string, withArg = 'up'): number[] {
  return readdirSync('/proc')
    .filter(name => /^\d+$/.test(name))
    .map(Number)
    .filter(pid => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
        return argv.includes('up') && argv.includes(withArg) && readlinkSync(`/proc/${pid}/cwd`) === cwd
      } catch {
        return false
      }
    })
}

/** App processes (comm sleep) in the app's cgroup (its instances'), counted once across hierarchies. */
function appProcesses(app: string): number {
  const pids = new Set<string>()
  for (const dir of appProcessDirs(app)) {
    try {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep') pids.add(pid)
      }
    } catch {
      // Not in this hierarchy.
    }
  }
  return pids.size
}

function lockHolder(stateRoot: string): number | undefined {
  try {
    const [project] = projectEntries(stateRoot)
    return JSON.parse(readFileSync(join(stateRoot, project, 'lock'), 'utf8')).pid
  } catch {
    return undefined
  }
}

/**
 * RACERS `contain up` at once, some detached and some in the foreground; returns once every loser
 * has exited: then exactly one supervisor must run, with one app, and every loser must have applied
 * the unchanged file to it (left its app alone) or named it.
 */
async function race(
  t: Test,
  cwd: string,
  env: Record<string, string>,
  app: string,
  stateRoot: string,
): Promise<{winners: number; applied: number; refused: number; foreground: ReturnType<typeof startCli>[]}> {
  const racers = Array.from({length: RACERS}, (_, index) => ({
    detached: index % 4 !== 3,
    run: startCli(index % 4 !== 3 ? ['up', '-d'] : ['up', '--no-color'], {cwd, env}),
  }))
  const detached = await Promise.all(racers.filter(racer => racer.detached).map(racer => racer.run))
  const foreground = racers.filter(racer => !racer.detached).map(racer => racer.run)
  // A foreground winner runs until down; foreground losers exit at once.
  const ended: Array<{code: number; stdout: string}> = []
  for (const run of foreground) void run.then(result => ended.push({code: result.exitCode ?? 137, stdout: String(result.stdout)}))
  await until(
    () => supervisorsIn(cwd).length <= 1 && appPid(app, 'sleep') !== undefined && ended.length >= foreground.length - 1,
    'the losers to give up and the winner to start its app',
    30_000,
  )
  const supervisors = supervisorsIn(cwd)
  const holder = lockHolder(stateRoot)
  t.equal(supervisors.length, 1, `one supervisor runs (${supervisors.join(', ')})`)
  t.equal(holder, supervisors[0], 'it holds the lock')
  t.equal(appProcesses(app), 1, 'one app process runs')
  const started = (result: {exitCode?: number; stdout?: unknown}) =>
    result.exitCode === 0 && /^contain: started .* in the background/.test(String(result.stdout))
  const losers = [
    ...detached
      .filter(result => !started(result))
      .map(result => ({code: result.exitCode ?? 137, stdout: String(result.stdout), stderr: String(result.stderr)})),
    ...ended.map(result => ({...result, stderr: ''})),
  ]
  let applied = 0
  let refused = 0
  for (const loser of losers) {
    if (loser.code === 0 && loser.stdout.trim() === `${app}: unchanged`) {
      applied++
      continue
    }
    const named = loser.code === 125 && loser.stderr.includes(`is already running (supervisor pid ${holder},`) && !crashed(loser.stderr)
    if (!named) t.fail(`a losing contain up: exit ${loser.code}: ${loser.stdout} ${loser.stderr}`)
    refused += Number(named)
  }
  const winners = detached.filter(started).length + (foreground.length - ended.length)
  return {winners, applied, refused, foreground}
}

if (requireRoot(t)) {
  t.test(`${RACERS} concurrent contain up of one project: one supervisor; a SIGKILLed one's lock is recovered; down leaves no lock`, async t => {
    const app = `a${mark}`
    const dir = t.testdir({[`proj-${mark}`]: {'contain.yml': `apps:\n  ${app}:\n    command: sleep 60\n    stop_grace_period: 1s\n`}})
    const cwd = join(dir, `proj-${mark}`)
    const stateRoot = join(dir, 'state')
    const env = {CONTAIN_STATE_DIR: stateRoot}
    const tally = {races: 0, racers: 0, winners: 0, applied: 0, refused: 0}
    const foreground: ReturnType<typeof startCli>[] = []
    try {
      const first = await race(t, cwd, env, app, stateRoot)
      foreground.push(...first.foreground)
      Object.assign(tally, {races: 1, racers: RACERS, winners: first.winners, applied: first.applied, refused: first.refused})
      t.equal(first.winners, 1, 'one contain up won')

      // SIGKILL the supervisor: its lock file stays, the kernel has dropped its lock.
      const holder = lockHolder(stateRoot) as number
      const app0 = appPid(app, 'sleep')
      process.kill(holder, 'SIGKILL')
      await until(() => app0 === undefined || appPid(app, 'sleep') !== app0, 'the app to die with its supervisor')
      t.ok(readdirSync(join(stateRoot, projectEntries(stateRoot)[0])).includes('lock'), 'the killed supervisor left its lock file')
      // No contain ps in between: the racers find the stale lock and state themselves.
      const second = await race(t, cwd, env, app, stateRoot)
      foreground.push(...second.foreground)
      tally.races++
      tally.racers += RACERS
      tally.winners += second.winners
      tally.applied += second.applied
      tally.refused += second.refused
      t.equal(second.winners, 1, 'after a SIGKILLed supervisor, again exactly one contain up won')
      t.not(lockHolder(stateRoot), holder, 'the lock has a new holder')
    } finally {
      const down = await cli(['down'], {cwd, env})
      t.equal(down.exitCode, 0, `down: ${down.stderr}`)
      await Promise.all(foreground)
    }
    const [project] = projectEntries(stateRoot)
    t.notOk(readdirSync(join(stateRoot, project)).includes('lock'), 'down removed the lock file')
    t.same(await settledLeftovers(mark, stateRoot), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
    t.same(supervisorsIn(cwd), [], 'no supervisor left')
    figure(
      t,
      `lock: ${tally.races} races of ${RACERS} contain up (${(RACERS * 3) / 4} -d, ${RACERS / 4} foreground), ${tally.winners} winners (1 per race), ${tally.applied} applied the unchanged file to the winner, ${tally.refused} refused naming the supervisor pid, ${tally.racers - tally.winners - tally.applied - tally.refused} otherwise`,
    )
  })

  t.test('contain up -d SIGKILLed while it starts: the project either runs (one supervisor) or can be started; nothing left', async t => {
    const app = `k${mark}`
    const dir = t.testdir({[`kill-${mark}`]: {'contain.yml': `apps:\n  ${app}:\n    command: sleep 60\n    stop_grace_period: 1s\n`}})
    const cwd = join(dir, `kill-${mark}`)
    const stateRoot = join(dir, 'state')
    const env = {CONTAIN_STATE_DIR: stateRoot}
    const outcomes: string[] = []
    try {
      // Moments of the CLI's start, from before it has done anything to after its supervisor holds the lock.
      const moments: Array<[string, () => Promise<unknown>]> = [
        ['at once', async () => undefined],
        ['after 300 ms', () => new Promise(resolve => setTimeout(resolve, 300))],
        ['once its supervisor exists', () => until(() => supervisorsIn(cwd, '--supervise').length > 0, 'the supervisor process', 20_000, 5)],
        ['once its supervisor holds the lock', () => until(() => lockHolder(stateRoot) !== undefined, 'the lock', 20_000, 5)],
      ]
      for (const [moment, wait] of moments) {
        const up = startCli(['up', '-d'], {cwd, env})
        await wait()
        up.kill('SIGKILL')
        await up
        const again = await cli(['up', '-d'], {cwd, env})
        t.ok(
          again.exitCode === 0 || (again.exitCode === 125 && /is already running \(supervisor pid \d+/.test(again.stderr)),
          `after an up -d SIGKILLed ${moment}: ${again.exitCode} ${again.stderr.split('\n')[0]}`,
        )
        outcomes.push(again.exitCode === 0 ? 'started by the next up' : 'kept running')
        await until(async () => JSON.parse((await cli(['ps', '--json'], {cwd, env})).stdout || '[]')[0]?.state === 'running', 'the project to run', 20_000, 200)
        t.equal(supervisorsIn(cwd).length, 1, 'one supervisor')
        const down = await cli(['down'], {cwd, env})
        t.equal(down.exitCode, 0, `down: ${down.stderr}`)
      }
    } finally {
      await cli(['down'], {cwd, env})
    }
    t.same(await settledLeftovers(mark, stateRoot), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
    figure(
      t,
      `lock: up -d SIGKILLed mid-start ${outcomes.length} times: ${outcomes.filter(outcome => outcome === 'kept running').length} supervisors kept running, ${outcomes.filter(outcome => outcome !== 'kept running').length} started by the next up; 0 doubles`,
    )
  })
}
