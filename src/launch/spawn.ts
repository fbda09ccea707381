import type {StdioOptions} from 'node:child_process'
import {mkdirSync} from 'node:fs'
import {constants} from 'node:os'
import type {Readable} from 'node:stream'
import {AppCgroup, type CgroupOutcome} from '../cgroup/index.js'
import {ExitCode, HostError, LaunchError} from '../errors.js'
import {startHelper} from './helper-process.js'
import {encodeEnvironment, type LaunchPlan} from './plan.js'
import {setupFailure} from './setup-failure.js'
import {parseInitReport} from './status.js'

/** How one app run ended, in the terms contain reports it. */
export interface LaunchOutcome {
  name: string
  /** What contain exits with: the app's code, 128+N for signal N (Docker's convention). */
  exitCode: number
  signal?: NodeJS.Signals
  oomKilled: boolean
  cgroup: CgroupOutcome
}

/** One started run of an app. */
export interface RunningApp {
  /** The launcher's pid (contain-init's monitor): signals sent to it reach the app. */
  pid: number
  /** Host pid of the app's PID 1, once contain-init has reported it: the process `contain exec` enters. */
  pid1(): number | undefined
  /** The app's output when stdio is 'pipe'. */
  stdout: Readable | null
  stderr: Readable | null
  /** Settles when the app and its PID 1 have ended; rejects with a ContainError on setup failure. */
  exited: Promise<LaunchOutcome>
  /** Resolves once the app's cgroup is made (at once when it was), or the launch has failed (see `exited`). */
  cgroupMade: Promise<void>
  /** Resolves once the app's setup is done and its command executed; never when the setup fails (see `exited`). */
  setupDone: Promise<void>
  signal(signal: NodeJS.Signals): void
}

/** Every catchable signal a user or a service manager sends; each is passed on to the app. */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGALRM']

function signalName(signal: number): NodeJS.Signals | undefined {
  return (Object.entries(constants.signals) as [NodeJS.Signals, number][]).find(([, number]) => number === signal)?.[0]
}

function spawnFailure(plan: LaunchPlan, error: NodeJS.ErrnoException): Error {
  if (error.code === 'ENOENT') {
    return new HostError(`contain's native helper is missing: ${plan.argv[0]}`, {fix: 'build it with: npm run build (needs a C compiler: apt-get install gcc)'})
  }
  return new LaunchError(plan.argv, `cannot start the launcher: ${error.message}`, {cause: error})
}

/**
 * Starts one run of the app in its cgroup. The cgroup outlives the run, so a supervisor restarts
 * an app without recreating it; OOM kills are counted per run. The first run into a cgroup starts
 * the reaper (contain-init enter --reap) before the cgroup is made, then makes it and sends the
 * go: whenever contain is killed, the reaper is there to remove what was made. A cgroup that
 * cannot be made rejects `exited` with the reason.
 */
export function startApp(plan: LaunchPlan, cgroup: AppCgroup, stdio: StdioOptions = 'inherit', listenFds: number[] = []): RunningApp {
  if (listenFds.length !== plan.listen.length) throw new LaunchError(plan.argv, `${plan.listen.length} listen sockets planned, ${listenFds.length} bound`)
  const withReaper = !cgroup.made && plan.restartArgv !== undefined
  if (!cgroup.made && !withReaper) cgroup.make()
  const argv = withReaper || plan.restartArgv === undefined ? plan.argv : plan.restartArgv
  const oomKillsBefore = cgroup.made ? cgroup.outcome().oomKills : 0
  // contain-init mounts over the hidden paths, and cannot create them under --read-only.
  for (const dir of plan.hiddenPaths ?? []) {
    try {
      mkdirSync(dir, {recursive: true, mode: 0o700})
    } catch {
      // contain-init reports the mount failure with the path.
    }
  }
  const streams = Array.isArray(stdio) ? stdio.slice(0, 3) : [stdio, stdio, stdio]
  // detached: the launcher gets its own session, so a terminal's Ctrl-C reaches only contain,
  // which forwards it exactly once.
  const helper = startHelper(argv, {
    stdio: [streams[0], streams[1], streams[2]],
    seccompFilter: plan.seccompFilter,
    environment: encodeEnvironment(plan.env),
    deviceProgram: plan.deviceProgram,
    reapGo: withReaper,
    listenFds,
    detached: true,
  })
  const child = helper.child
  let makeError: Error | undefined
  let sentGo = !withReaper
  let settleMade = () => {}
  const cgroupMade = withReaper ? new Promise<void>(resolve => (settleMade = resolve)) : Promise.resolve()
  /** The reaper is there: make the cgroup, then let the launcher join it (or, failing, end it). */
  const go = () => {
    sentGo = true
    try {
      cgroup.make()
    } catch (error) {
      // "n": the reaper has nothing to remove; contain undid what it made and reports why.
      makeError = error instanceof Error ? error : new Error(String(error))
      helper.sendReapGo('n')
      return
    } finally {
      settleMade()
    }
    helper.sendReapGo('g')
  }
  let settleSetup = () => {}
  const setupDone = new Promise<void>(resolve => (settleSetup = resolve))
  helper.onStatus(statusText => {
    const report = parseInitReport(statusText)
    if (report.reaper !== undefined && !sentGo) {
      if (report.reaper > 0) cgroup.reaper = report.reaper
      go()
    }
    if (report.started) settleSetup()
  })

  const exited = new Promise<LaunchOutcome>((resolve, reject) => {
    child.once('error', error => {
      settleMade()
      reject(spawnFailure(plan, error))
    })
    child.once('close', code => {
      settleMade()
      const report = parseInitReport(helper.status())
      if (makeError !== undefined) return reject(makeError)
      const outcome = cgroup.outcome()
      if (report.error) return reject(setupFailure(plan, report.error))
      if (report.pid1 === undefined) {
        // Nothing from contain-init: unshare itself failed, and said why on stderr.
        return reject(
          new LaunchError(plan.argv, `unshare failed (exit ${code})`, {fix: 'see the message above; contain doctor shows which namespaces this host allows'}),
        )
      }
      // The app's own status, from PID 1. Without it PID 1 itself was killed (SIGKILL from the
      // OOM group kill or from outside), and so was the app.
      const signal = report.signal ?? (report.exitCode === undefined ? constants.signals.SIGKILL : undefined)
      const oomKilled = signal === constants.signals.SIGKILL && outcome.oomKills > oomKillsBefore
      resolve({
        name: plan.name,
        exitCode: signal === undefined ? (report.exitCode ?? ExitCode.containFailed) : 128 + signal,
        signal: signal === undefined ? undefined : signalName(signal),
        oomKilled,
        cgroup: outcome,
      })
    })
  })
  return {
    pid: child.pid ?? -1,
    pid1: () => parseInitReport(helper.status()).pid1,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    cgroupMade,
    setupDone,
    signal: signal => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
  }
}

/**
 * `contain run`: binds its --listen sockets, creates the cgroup, runs the app once in the foreground with signals forwarded,
 * and removes the cgroup at the end whatever happened. As the ExecStart= of a unit with a .socket
 * unit, the sockets systemd passed to contain (LISTEN_FDS, LISTEN_PID) serve the --listen addresses
 * they are bound to, and are passed on instead of bound again (launch/inherited-sockets.ts).
 */
export async function launch(plan: LaunchPlan, stdio: StdioOptions = 'inherit'): Promise<LaunchOutcome> {
  // Bound first, as root: a port in use fails before anything is created.
  const sockets = plan.listen.length > 0 ? await (await import('./sockets.js')).holdSockets(plan.listen, '--listen') : undefined
  try {
    return await launchWith(plan, stdio, sockets?.fds ?? [])
  } finally {
    sockets?.close()
  }
}

async function launchWith(plan: LaunchPlan, stdio: StdioOptions, listenFds: number[]): Promise<LaunchOutcome> {
  const cgroup = AppCgroup.prepare(plan.cgroup)
  try {
    const app = startApp(plan, cgroup, stdio, listenFds)
    const forward = (signal: NodeJS.Signals) => app.signal(signal)
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward)
    try {
      return await app.exited
    } finally {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward)
    }
  } finally {
    await cgroup.remove()
  }
}
