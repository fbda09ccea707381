import {spawn} from 'node:child_process'
import {constants} from 'node:os'
import {ExitCode, LaunchError} from '../errors.js'
import {namespaceFlag} from '../namespaces.js'
import {findOnPath} from '../paths.js'
import {isTerminal, terminalEnvironment} from './environment.js'
import {SECCOMP_FD, STATUS_FD, cloneIntoArguments, type Executables, type LaunchPlan} from './plan.js'
import {parseInitReport} from './status.js'

/**
 * A command inside a running app, as the app itself runs: its cgroup first, then its namespaces
 * (nsenter forks into its pid namespace), then its identity, capabilities and seccomp filter.
 */
export function planExec(app: LaunchPlan, pid1: number, command: string[], executables: Pick<Executables, 'init'> & {nsenter: string}): string[] {
  const namespaces = app.namespaces.map(namespaceFlag)
  if (app.namespaces.includes('user')) namespaces.push('--preserve-credentials')
  return [
    executables.init, 'enter', '--status-fd', String(STATUS_FD), ...cloneIntoArguments(app.cgroup), ...app.cgroup.attachFiles, '--',
    executables.nsenter, '--target', String(pid1), ...namespaces, '--',
    executables.init, 'exec', '--status-fd', String(STATUS_FD), ...app.appArguments, '--',
    ...command,
  ]
}

export interface ExecResult {
  exitCode: number
  stdout?: string
}

/** Runs a command in the app and returns its exit status (128+N for signal N). */
export function execInApp(app: LaunchPlan, pid1: number, command: string[], options: {capture?: boolean; timeoutMs?: number; init: string}): Promise<ExecResult> {
  const argv = planExec(app, pid1, command, {init: options.init, nsenter: findOnPath('nsenter') ?? 'nsenter'})
  // The app's own environment (planned with it), plus TERM when `contain exec` runs on a terminal:
  // a health check's captured output has none.
  const env = options.capture ? app.env : {...app.env, ...terminalEnvironment(process.env, isTerminal(0) || isTerminal(1))}
  const child = spawn(argv[0], argv.slice(1), {env, stdio: [options.capture ? 'ignore' : 'inherit', options.capture ? 'pipe' : 'inherit', options.capture ? 'pipe' : 'inherit', 'pipe', app.seccompFilter ? 'pipe' : 'ignore'], timeout: options.timeoutMs, killSignal: 'SIGKILL'})
  if (app.seccompFilter) {
    const filterPipe = child.stdio[SECCOMP_FD] as NodeJS.WritableStream
    filterPipe.on('error', () => undefined)
    filterPipe.end(app.seccompFilter)
  }
  let status = ''
  let stdout = ''
  child.stdio[STATUS_FD]?.on('data', chunk => (status += chunk))
  child.stdout?.on('data', chunk => (stdout += chunk))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => {
      const error = parseInitReport(status).error
      if (error?.stage === 'exec') {
        const notFound = error.errno === constants.errno.ENOENT
        return reject(new LaunchError(command, notFound ? 'command not found in the app' : `cannot execute: ${error.message}`, {exitCode: notFound ? ExitCode.commandNotFound : ExitCode.cannotExecute}))
      }
      if (error) return reject(new LaunchError(command, `cannot enter the app at ${error.stage}: ${error.message}`, {fix: 'check that the app is running: contain ps'}))
      const exitCode = code ?? 128 + (signal ? constants.signals[signal] : 9)
      resolve({exitCode, stdout: options.capture ? stdout : undefined})
    })
  })
}
