/**
 * `contain up -d` and the supervisor it starts in the background: the resolved project goes to the
 * supervisor on a pipe (PROJECT_FD), never a path, and the supervisor's one report on how its start
 * went (every app's setup done, or why not) comes back on another (REPORT_FD).
 */
import {spawn} from 'node:child_process'
import {closeSync, mkdirSync, openSync, readFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import type {Duplex} from 'node:stream'
import type {Project} from '../config/project.js'
import {readProjectRecord, recordProject} from '../config/project-record.js'
import {AlreadyRunningError, ContainError, renderError} from '../errors.js'
import {AppAction, type AppOutcome} from './apply.js'
import {readLockHolder} from './lock.js'

/** What `contain up -d` prints, and for which apps. */
export interface DetachOptions {
  apps: string[]
  json: boolean
  print?: (text: string) => void
}

/** The detached supervisor reports how its start went on fd 3, and reads the project it runs on fd 4. */
const REPORT_FD = 3
const PROJECT_FD = 4

/**
 * The project `contain up -d` resolved, as the detached supervisor reads it from its fd 4: a pipe
 * from the up -d that started it, never a path (config/project-record.ts).
 */
export function handedProject(): Project {
  let text
  try {
    text = readFileSync(PROJECT_FD, 'utf8')
    // Read to its end: the supervisor, which runs for the apps' whole life, keeps nothing of it.
    closeSync(PROJECT_FD)
  } catch (error) {
    throw new ContainError(`--supervise reads the resolved project on fd ${PROJECT_FD}: ${(error as Error).message}`, {
      fix: 'start the supervisor with contain up -d, which hands it the project',
    })
  }
  return readProjectRecord(text, `the project on fd ${PROJECT_FD}`)
}

/**
 * `contain up -d`: starts the supervisor in the background with the project as resolved here (it
 * never reads contain.yml itself), and waits until it reports: every app's setup done or failed.
 */
export async function startDetached(project: Project, options: DetachOptions, stateDir: string): Promise<number> {
  const record = recordProject(project)
  mkdirSync(stateDir, {recursive: true, mode: 0o700})
  const log = openSync(join(stateDir, 'supervisor.log'), 'a', 0o600)
  // -f only names the project in the process list: the supervisor reads it from PROJECT_FD.
  const args = [process.argv[1], 'up', '--supervise', '-f', project.file, ...options.apps]
  const child = spawn(process.execPath, args, {cwd: project.dir, detached: true, stdio: ['ignore', log, log, 'pipe', 'pipe']})
  closeSync(log)
  const handOver = child.stdio[PROJECT_FD] as Duplex | null
  // A supervisor that died first closes the pipe: its report (or its absence) says why.
  handOver?.on('error', () => undefined)
  // Destroyed once written, or its open reading side would keep this process waiting for the supervisor.
  handOver?.end(record, () => handOver.destroy())
  let report = ''
  child.stdio[REPORT_FD]?.on('data', chunk => (report += chunk))
  await new Promise<void>(resolve => {
    child.stdio[REPORT_FD]?.once('close', resolve)
    child.once('exit', () => resolve())
  })
  child.unref()
  const result = JSON.parse(report || '{"error":{"message":"the supervisor exited before it started the apps","exitCode":125}}') as {
    ready?: string[]
    error?: {message: string; fix?: string; exitCode: number; alreadyRunning?: boolean}
  }
  if (result.error?.alreadyRunning) {
    // Another contain up won the lock first: the caller applies the file to its supervisor instead.
    const holder = readLockHolder(stateDir)
    throw new AlreadyRunningError(project.name, holder?.pid, holder?.since)
  }
  if (result.error)
    throw new ContainError(result.error.message.replace(/^contain: /, ''), {
      exitCode: result.error.exitCode,
      fix: result.error.fix ?? `see ${join(stateDir, 'supervisor.log')}`,
    })
  if (options.json) options.print?.(JSON.stringify((result.ready ?? []).map((name): AppOutcome => ({name, action: AppAction.started, changes: []}))))
  else
    options.print?.(
      `contain: started ${result.ready?.join(', ')} in the background (supervisor pid ${child.pid}); see contain ps, contain logs APP, contain down`,
    )
  return 0
}

/** The detached supervisor's one report to the `contain up -d` that started it (on REPORT_FD). */
export function tellStarter(value: unknown): void {
  try {
    writeSync(REPORT_FD, `${JSON.stringify(value)}\n`)
  } catch {
    // The `contain up -d` that waits for this was killed: the apps run on, as it asked.
  }
  closeSync(REPORT_FD)
}

export function failureReport(error: unknown): {error: {message: string; fix?: string; exitCode: number; alreadyRunning?: boolean}} {
  const {message, exitCode} = renderError(error)
  return {
    error:
      error instanceof ContainError
        ? {message: error.message, fix: error.fix, exitCode, alreadyRunning: error instanceof AlreadyRunningError}
        : {message, exitCode},
  }
}
