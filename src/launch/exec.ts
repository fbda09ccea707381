import {readFileSync} from 'node:fs'
import {constants} from 'node:os'
import {LaunchError} from '../errors.js'
import {isTerminal, terminalEnvironment} from './environment.js'
import type {Namespace} from '../namespaces.js'
import {isProcessAlive, processStartTime} from '../process.js'
import {startHelper} from './helper-process.js'
import {STATUS_FD, encodeEnvironment, enterArguments, type Executables, type LaunchPlan} from './plan.js'
import {commandFailure} from './setup-failure.js'
import {parseInitReport} from './status.js'

/**
 * The app's namespaces as /proc/PID/ns names, in the order contain-init joins them: the user
 * namespace first (it owns the others), the mount namespace last (after it, the host's /proc
 * is out of sight), the pid namespace before the fork that enters it.
 */
const JOIN_ORDER: [Namespace, string][] = [
  ['user', 'user'],
  ['cgroup', 'cgroup'],
  ['ipc', 'ipc'],
  ['uts', 'uts'],
  ['net', 'net'],
  ['pid', 'pid'],
  ['mount', 'mnt'],
]

/** The app's PID 1 as contain validated it: contain-init refuses it if its start time changed since. */
export interface ExecTarget {
  pid1: number
  startTime: string
}

/**
 * A command inside a running app, as the app itself runs: its cgroup first, then its namespaces,
 * joined by contain-init itself (loaded from the host, never from the app's view), then its
 * identity, capabilities, seccomp filter and environment.
 */
export function planExec(
  app: Pick<LaunchPlan, 'namespaces' | 'cgroup' | 'appArguments'>,
  target: ExecTarget,
  command: string[],
  executables: Pick<Executables, 'init'>,
): string[] {
  const join = JOIN_ORDER.filter(([namespace]) => app.namespaces.includes(namespace)).map(([, name]) => name)
  return [
    executables.init,
    ...enterArguments(app.cgroup),
    '--',
    executables.init,
    'exec',
    '--status-fd',
    String(STATUS_FD),
    '--target',
    String(target.pid1),
    '--target-start',
    target.startTime,
    '--join',
    join.join(','),
    ...app.appArguments,
    '--',
    ...command,
  ]
}

/**
 * The pid to enter must be a live process in the app's own cgroup (the kernel's word, not a
 * stored one): its start time pins it until contain-init has opened its namespaces.
 */
export function validateTarget(app: Pick<LaunchPlan, 'cgroup' | 'name'>, pid1: number): ExecTarget {
  const notRunning = (why: string) => new LaunchError([String(pid1)], `${app.name} is not running (${why})`, {fix: 'check it with contain ps'})
  if (!Number.isSafeInteger(pid1) || pid1 <= 1) throw notRunning(`pid ${pid1} is not an app's`)
  const startTime = processStartTime(pid1)
  if (startTime === undefined || !isProcessAlive(pid1, startTime)) throw notRunning(`pid ${pid1} has ended`)
  const members = app.cgroup.procsFiles.map(file => {
    try {
      return readFileSync(file, 'utf8').split('\n').includes(String(pid1))
    } catch {
      return false
    }
  })
  if (members.length > 0 && !members.some(Boolean)) throw notRunning(`pid ${pid1} is not in its cgroup`)
  return {pid1, startTime}
}

export interface ExecResult {
  exitCode: number
  stdout?: string
}

export interface ExecOptions {
  capture?: boolean
  timeoutMs?: number
  init: string
}

/** What a captured command may print that contain keeps; the rest is read and dropped, so memory stays bounded. */
export const MAX_CAPTURED_BYTES = 64 * 1024
/** After the timeout's SIGKILL, how long contain waits for the chain before it gives up on it. */
const KILL_MARGIN_MS = 2000

/** Runs a command in the app and returns its exit status (128+N for signal N). */
// async: a plan that fails (a bad target, a bad command) rejects the promise rather than throwing.
export async function execInApp(app: LaunchPlan, pid1: number, command: string[], options: ExecOptions): Promise<ExecResult> {
  const argv = planExec(app, validateTarget(app, pid1), command, {init: options.init})
  // The app's own environment (planned with it), plus TERM when `contain exec` runs on a terminal:
  // a health check's captured output has none.
  const environment = encodeEnvironment(options.capture ? app.env : {...app.env, ...terminalEnvironment(process.env, isTerminal(0) || isTerminal(1))})
  const captured = options.capture ? 'pipe' : 'inherit'
  const helper = startHelper(argv, {
    stdio: [options.capture ? 'ignore' : 'inherit', captured, captured],
    seccompFilter: app.seccompFilter,
    environment,
    timeoutMs: options.timeoutMs,
  })
  const child = helper.child
  const kept: Buffer[] = []
  let keptBytes = 0
  child.stdout?.on('data', (chunk: Buffer) => {
    if (keptBytes >= MAX_CAPTURED_BYTES) return
    kept.push(chunk.subarray(0, MAX_CAPTURED_BYTES - keptBytes))
    keptBytes += Math.min(chunk.length, MAX_CAPTURED_BYTES - keptBytes)
  })
  // Read and dropped: an unread pipe would block a check that writes to stderr.
  child.stderr?.resume()
  return new Promise((resolve, reject) => {
    let settled = false
    const timers: NodeJS.Timeout[] = []
    const settle = (finish: () => void) => {
      if (settled) return
      settled = true
      for (const timer of timers) clearTimeout(timer)
      finish()
    }
    // A check that leaves a process holding its output open would keep 'close' from ever coming,
    // and one that ignores signals could outlive its own timeout: past timeout plus a margin it
    // is given up on, whatever it does.
    const abandon = () => {
      child.kill('SIGKILL')
      for (const stream of child.stdio) stream?.destroy()
      settle(() => resolve({exitCode: 128 + constants.signals.SIGKILL, stdout: options.capture ? Buffer.concat(kept).toString() : undefined}))
    }
    if (options.timeoutMs !== undefined) timers.push(setTimeout(abandon, options.timeoutMs + KILL_MARGIN_MS))
    child.once('exit', () => timers.push(setTimeout(abandon, KILL_MARGIN_MS)))
    child.once('error', error => settle(() => reject(error)))
    child.once('close', (code, signal) => {
      const error = parseInitReport(helper.status()).error
      if (error?.stage === 'exec') return settle(() => reject(commandFailure(app, command, error)))
      if (error)
        return settle(() =>
          reject(new LaunchError(command, `cannot enter the app at ${error.stage}: ${error.message}`, {fix: 'check that the app is running: contain ps'})),
        )
      const exitCode = code ?? 128 + (signal ? constants.signals[signal] : 9)
      settle(() => resolve({exitCode, stdout: options.capture ? Buffer.concat(kept).toString() : undefined}))
    })
  })
}
