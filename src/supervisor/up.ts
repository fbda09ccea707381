/**
 * `contain up`: a project's apps started and supervised here (foreground, or as the detached
 * supervisor of up -d), or contain.yml applied to the project that runs; the control socket the
 * other commands talk to. Output sinks are output-sink.ts, progress progress.ts, up -d's handover detach.ts.
 */
import {mkdirSync} from 'node:fs'
import {basename, join} from 'node:path'
import type {Project} from '../config/project.js'
import {recordProject} from '../config/project-record.js'
import {AlreadyRunningError, ContainError, printable} from '../errors.js'
import type {AppSpec} from './app.js'
import {AppAction, formatOutcome, type AppOutcome, type RecreatePolicy} from './apply.js'
import {stateOnceStarted} from './client.js'
import {callControl, serveControl} from './control.js'
import {Deployer, parseApplyRequest, type ApplyResult} from './deploy.js'
import {acquireProjectLock, lockHolderAlive, readLockHolder} from './lock.js'
import {findProject, planApps} from './plan-apps.js'
import {acquireNameLock, checkNameFree} from './projects.js'
import {processStartTime} from '../process.js'
import {
  checkStateDirTrusted,
  isSupervisorAlive,
  projectDir,
  projectKey,
  readState,
  removeState,
  writeResolvedProject,
  writeState,
  type AppLogLocation,
  type ProjectState,
} from './state.js'
import {Supervisor} from './supervisor.js'
import {outputSink, type AppLineWriter} from './output-sink.js'
import {startWithProgress, withProgress} from './progress.js'
import {failureReport, handedProject, startDetached, tellStarter} from './detach.js'

export interface UpOptions {
  cwd: string
  file?: string
  apps: string[]
  detach: boolean
  /** The detached supervisor itself: no terminal; reports readiness on fd 3. */
  supervise: boolean
  /** Lines for the terminal; undefined when nobody watches. */
  print?: (text: string) => void
  color: boolean
  /** Show start-up progress (listr2): on a terminal. */
  progress: boolean
  /** For a project that runs: which changed apps to recreate (--no-recreate, --force-recreate). */
  recreate: RecreatePolicy
  /** Print what was done to each app as JSON. */
  json: boolean
  /** Only apply contain.yml to the project that runs, never start it (systemd's ExecReload). */
  reload: boolean
  /** The service manager contain runs under, if any (systemd: src/systemd/service-manager.ts). */
  serviceManager?: ServiceManager
}

/**
 * What the supervisor tells the service manager it runs under (systemd, for a unit of `contain
 * systemd`), given to it by the command so that the supervisor depends on no service manager.
 */
export interface ServiceManager {
  /** Follows the supervisor's apps (readiness, status, watchdog); undefined when nothing listens. */
  watch(supervisor: Supervisor, warn: (message: string) => void): ServiceNotifier | undefined
  /** Where the apps' lines go instead of stdout, when stdout is the manager's log (the journal). */
  journal(project: string, warn: (message: string) => void): AppLineWriter | undefined
}

export interface ServiceNotifier {
  /** contain is stopping. */
  stopping(): void
}

/** The project's scope in each hierarchy (`<own>/contain/<key>`), as its apps' plans place it. */
function scopeDirs(project: Project, specs: AppSpec[]): string[] {
  const key = projectKey(project)
  return [...new Set(specs.flatMap(spec => spec.plan.cgroup.parents.map(parent => parent.dir).filter(dir => basename(dir) === key)))]
}

/** Plans the apps (with progress on a terminal), then prints the warnings to stderr: the terminal, or the detached supervisor's log. */
async function planAndWarn(project: Project, options: UpOptions): Promise<AppSpec[]> {
  const plan = () => planApps(project, options.apps)
  const {specs, warnings} = await (options.progress ? withProgress(`validate ${project.file} and plan ${project.apps.length} app(s)`, plan) : plan())
  for (const warning of warnings) process.stderr.write(`contain: warning: ${warning}\n`)
  return specs
}

/** What the other commands (ps, stop, exec, down...) may ask a running supervisor. */
function controlHandlers(supervisor: Supervisor, deployer: Deployer, down: () => void, onApplied: () => void) {
  return {
    // contain up on the running project: the supervisor reads contain.yml itself.
    apply: async (params: Record<string, unknown>) => {
      try {
        return await deployer.apply(parseApplyRequest(params))
      } finally {
        onApplied()
      }
    },
    status: ({apps}: Record<string, unknown>) => supervisor.status(apps as string[] | undefined),
    stop: ({apps}: Record<string, unknown>) => supervisor.stop(apps as string[]),
    start: ({apps}: Record<string, unknown>) => supervisor.start(apps as string[]),
    restart: ({apps}: Record<string, unknown>) => supervisor.restart(apps as string[]),
    inspect: ({app}: Record<string, unknown>) => {
      const target = supervisor.select([String(app)])[0]
      // The running instance's plan: its cgroup is the one the kernel holds it in.
      const {argv, cgroup, namespaces} = target.currentPlan()
      return {status: target.status(), plan: {argv, cgroup, namespaces}}
    },
    // contain exec runs the command itself (its terminal, its exit code).
    exec: ({app}: Record<string, unknown>) => {
      const target = supervisor.select([String(app)])[0]
      const pid1 = target.pid1()
      if (pid1 === undefined)
        throw new ContainError(`${target.spec.name} is not running (${target.state})`, {fix: `start it: contain start ${target.spec.name}`})
      // Only the pid: the client plans the command itself and never runs what a socket said.
      return {pid1}
    },
    down: () => {
      setImmediate(down)
      return 'stopping'
    },
  }
}

/** The reply to `apply`, checked: a client believes a socket's answer only as far as it prints it. */
function checkApplyResult(value: unknown): ApplyResult {
  const result = value as ApplyResult
  const isOutcome = (outcome: AppOutcome) =>
    typeof outcome?.name === 'string' &&
    Object.values(AppAction).includes(outcome.action) &&
    Array.isArray(outcome.changes) &&
    outcome.changes.every(change => typeof change === 'string') &&
    (outcome.error === undefined || typeof outcome.error === 'string') &&
    (outcome.rolled === undefined || outcome.rolled === 'done' || outcome.rolled === 'failed')
  if (!Array.isArray(result?.outcomes) || !result.outcomes.every(isOutcome) || !Array.isArray(result.warnings))
    throw new ContainError('the supervisor answered apply with something that is not a list of app outcomes', {
      fix: 'restart the project with contain down and contain up: its supervisor may be of another contain version',
    })
  return result
}

/**
 * contain up of a project that runs: asks its supervisor to apply contain.yml and prints what it
 * did to each app. Undefined when no supervisor runs it after all (it ended meanwhile).
 */
async function applyToRunning(project: Project, options: UpOptions, stateDir: string): Promise<number | undefined> {
  // Before anything in it is believed, as for every client command.
  checkStateDirTrusted(stateDir)
  const live = (state: ProjectState | undefined) => (state && isSupervisorAlive(state) ? state : undefined)
  // A killed supervisor's state may still be there while its successor starts: wait for the successor's.
  const state = live(readState(stateDir)) ?? live(await stateOnceStarted(stateDir))
  if (!state) return undefined
  const reply = await callControl<unknown>(join(stateDir, 'control.sock'), 'apply', {apps: options.apps, recreate: options.recreate})
  const {outcomes, warnings} = checkApplyResult(reply)
  for (const warning of warnings) process.stderr.write(`contain: warning: ${printable(String(warning))}\n`)
  if (options.json) options.print?.(JSON.stringify(outcomes))
  else for (const outcome of outcomes) options.print?.(printable(formatOutcome(outcome)))
  const failed = outcomes.filter(outcome => outcome.error !== undefined)
  if (failed.length === 0) return 0
  const notStarted = failed.filter(outcome => outcome.rolled !== 'failed').map(outcome => outcome.name)
  const notRolled = failed.filter(outcome => outcome.rolled === 'failed').map(outcome => outcome.name)
  if (notStarted.length > 0) process.stderr.write(`contain: ${notStarted.join(', ')} could not be started\n`)
  if (notRolled.length > 0) process.stderr.write(`contain: the new version of ${notRolled.join(', ')} did not become ready; the old one keeps serving\n`)
  process.stderr.write('  fix: see contain ps and contain logs APP\n')
  return 125
}

/** contain up --reload of a project that does not run. */
function notRunning(project: Project): ContainError {
  return new ContainError(`${project.name} is not running: --reload only applies ${project.file} to a project that runs`, {
    fix: 'start it with contain up (or contain up -d, or systemctl start)',
  })
}

/**
 * `contain up`: supervises the project's apps until they all end, contain down, or a signal.
 * The first Ctrl-C (or SIGTERM) stops every app gracefully; a second one kills them.
 */
export async function up(options: UpOptions): Promise<number> {
  if (options.supervise) {
    let handed: Project
    try {
      handed = handedProject()
    } catch (error) {
      tellStarter(failureReport(error))
      throw error
    }
    return superviseHere(handed, projectDir(handed.file), options)
  }
  // A broken file fails here, with its line and column, before any supervisor is asked anything.
  const project = await findProject(options.cwd, options.file)
  const stateDir = projectDir(project.file)
  // A project that runs gets the file applied by its supervisor. Of many concurrent contain up only
  // one supervisor ever runs (it takes the lock itself): a loser applies the file to the winner.
  for (let attempt = 0; ; attempt++) {
    if (options.reload || lockHolderAlive(readLockHolder(stateDir))) {
      const applied = await applyToRunning(project, options, stateDir)
      if (applied !== undefined) return applied
      if (options.reload) throw notRunning(project)
    }
    if (options.json && !options.detach)
      throw new ContainError("--json needs -d or a project that runs: a foreground contain up prints its apps' output", {fix: 'contain up -d --json'})
    try {
      if (!options.detach) return await superviseHere(project, stateDir, options)
      checkNameFree(project)
      await planAndWarn(project, options)
      return await startDetached(project, options, stateDir)
    } catch (error) {
      if (!(error instanceof AlreadyRunningError) || attempt >= 2) throw error
    }
  }
}

/** Takes the project's lock and supervises its apps in this process (the foreground, or the detached supervisor). */
async function superviseHere(project: Project, stateDir: string, options: UpOptions): Promise<number> {
  // The detached supervisor tells the `contain up -d` that started it how the start went, on REPORT_FD.
  let reported = false
  const report = (value: unknown) => {
    if (!options.supervise || reported) return
    reported = true
    tellStarter(value)
  }
  try {
    const lock = acquireProjectLock(stateDir, project.name)
    try {
      // After the project's own lock: a second up of this directory is "already running", not a name clash.
      const nameLock = acquireNameLock(project)
      try {
        // Whatever state is there belongs to a supervisor that has died: a live one would hold the lock.
        removeState(stateDir)
        return await supervise(project, stateDir, options, report)
      } finally {
        nameLock.release()
      }
    } finally {
      lock.release()
    }
  } catch (error) {
    report(failureReport(error))
    throw error
  }
}

async function supervise(project: Project, stateDir: string, options: UpOptions, report: (value: unknown) => void): Promise<number> {
  const specs = await planAndWarn(project, options)
  // While the progress display draws, app output waits, so the two never interleave.
  const held: string[] | undefined = options.progress ? [] : undefined
  const print = options.print && ((text: string) => (held && !startedUp ? held.push(text) : options.print?.(text)))
  let startedUp = false
  const current = {project}
  const warn = (message: string) => void process.stderr.write(`${message}\n`)
  // Only in the foreground: a detached supervisor's stdout is its own log file, never the journal.
  const journal = print ? options.serviceManager?.journal(project.name, warn) : undefined
  // Where each app's log is, as opened: in the state, for contain logs (contain.yml may have changed since).
  const logs: Record<string, AppLogLocation> = {}
  let state: ProjectState | undefined
  const onLogOpened = (app: string, location: AppLogLocation) => {
    logs[app] = location
    if (state) writeState(stateDir, (state = {...state, logs}))
  }
  const {sink, closeLogs, releaseLog} = outputSink(current, join(stateDir, 'logs'), print, options.color, warn, journal, onLogOpened)
  const supervisor = new Supervisor(specs, sink)
  // Applies of a changed contain.yml wait until the first start is done.
  let firstStartDone = () => {}
  const started = new Promise<void>(resolve => (firstStartDone = resolve))
  const deployer = new Deployer(
    supervisor,
    project.file,
    project.apps.filter(app => specs.some(spec => spec.name === app.name)),
    started,
    {
      projectRead: read => (current.project = read),
      releaseLog,
      say: line => process.stderr.write(`${line}\n`),
    },
  )
  const systemd = options.serviceManager?.watch(supervisor, warn)
  let exitCode = 0
  let stopRequested = () => {}
  // In the foreground up ends once every app has ended, as compose's does; a detached
  // supervisor stays until contain down, so that contain start still finds it.
  const finished = new Promise<'ended' | 'stopped'>(resolve => {
    if (!options.supervise) supervisor.once('all-ended', () => resolve('ended'))
    stopRequested = () => resolve('stopped')
  })
  let stopping: Promise<void> | undefined
  const shutdown = () => {
    systemd?.stopping()
    stopRequested()
    // An apply under way finishes first, so that down stops every app it may have started.
    return (stopping ??= deployer.close().then(() => supervisor.down()))
  }

  // What runs, as resolved, for contain exec: it never reads contain.yml, which may have changed since.
  const keepResolved = () => {
    if (state) writeResolvedProject(stateDir, recordProject({...project, apps: deployer.deployed()}))
  }

  mkdirSync(stateDir, {recursive: true, mode: 0o700})
  const socket = join(stateDir, 'control.sock')
  const server = await serveControl(
    socket,
    controlHandlers(
      supervisor,
      deployer,
      () => void shutdown(),
      () => keepResolved(),
    ),
  )
  let interrupts = 0
  const onSignal = () => {
    interrupts++
    if (interrupts === 1) {
      print?.('contain: stopping (press Ctrl-C again to kill)')
      void shutdown()
    } else {
      for (const app of supervisor.apps.values()) app.kill()
    }
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    state = {
      project: project.name,
      file: project.file,
      supervisor: {pid: process.pid, startTime: processStartTime(process.pid) ?? ''},
      socket,
      logsDir: join(stateDir, 'logs'),
      startedAt: new Date().toISOString(),
      cgroups: scopeDirs(project, specs),
      logs,
    }
    // Before the state: a client that finds the state finds the project too.
    keepResolved()
    writeState(stateDir, state)
    if (options.progress) await startWithProgress(supervisor, specs)
    else await supervisor.start()
    startedUp = true
    firstStartDone()
    for (const line of held?.splice(0) ?? []) options.print?.(line)
    // Like compose, up -d fails when any app could not be started, and says which others run on.
    const notStarted = supervisor.status().filter(app => app.state === 'failed' || app.lastExit?.error !== undefined)
    const running = specs.map(spec => spec.name).filter(name => !notStarted.some(app => app.name === name))
    const failures = notStarted.map(app => `${app.name}: ${app.lastExit?.error ?? `exit ${app.lastExit?.exitCode}`}`).join('; ')
    // Nothing started: a detached supervisor of no app is nothing to leave behind. It removes what
    // it made and then reports (superviseHere), so up -d returns with the host as it was.
    if (options.supervise && running.length === 0 && notStarted.length > 0)
      throw new ContainError(failures, {fix: `correct what the reason names and run contain up -d again`, exitCode: 125})
    report(
      notStarted.length > 0
        ? {
            error: {
              message: failures + (running.length > 0 ? ` (${running.join(', ')} started)` : ''),
              fix: `see contain ps and contain logs APP; contain down stops the project`,
              exitCode: 125,
            },
          }
        : {ready: running},
    )
    // Like compose: up ends when every app has ended on its own (0 if all exited 0), or when stopped.
    if ((await finished) === 'ended') exitCode = supervisor.status().every(app => app.state !== 'failed' && (app.lastExit?.exitCode ?? 0) === 0) ? 0 : 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    firstStartDone()
    await shutdown().catch(() => undefined)
    await closeLogs()
    server.close()
    state = undefined // no log opened from here on brings the state back
    removeState(stateDir)
  }
  return exitCode
}
