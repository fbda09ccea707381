import {existsSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {parse as parseYaml} from 'yaml'
import {findProjectFile, MAX_CONFIG_BYTES, PROJECT_FILES, projectNameOf, type Project} from '../config/project.js'
import {readProjectRecord} from '../config/project-record.js'
import {readFileUpTo} from '../trusted-file.js'
import {formatBytes} from '../format-bytes.js'
import {formatTable} from '../format-table.js'
import {formatRule} from '../devices/rules.js'
import {ContainError} from '../errors.js'
import type {LaunchPlan} from '../launch/plan.js'
import type {AppStatus} from './app.js'
import {callControl} from './control.js'
import {lockHolderAlive, readLockHolder, removeUnheldLock} from './lock.js'
import {cleanUpAfterKilledSupervisor, nameLockDir, type HostProject} from './projects.js'
import {
  checkStateDirTrusted,
  isSupervisorAlive,
  projectDir,
  readResolvedProject,
  readState,
  resolvedProjectFile,
  stateFile,
  type AppLogLocation,
  type ProjectState,
} from './state.js'

/**
 * A project as the client commands (ps, logs, stop, down, exec, ...) know it: its state directory
 * and what the supervisor wrote there. contain.yml is not read, let alone checked against the
 * host: a project whose env file was deleted after `up` still stops.
 */
export interface ProjectHandle {
  /** The running project's name (its state's); when none runs, the name contain.yml gives, or the directory's. */
  name: string
  file: string
  stateDir: string
  /** Undefined when no supervisor runs the project. */
  state?: ProjectState
  /** A supervisor that was SIGKILLed left its state: its apps died with it (PR_SET_PDEATHSIG). */
  staleSupervisor?: number
}

/**
 * The project file of this directory (or -f FILE) by name only: its state directory is its
 * directory's (projectDir), so a deleted contain.yml still finds the project it started.
 */
function projectFileIn(cwd: string, file?: string): string {
  if (file !== undefined) return resolve(cwd, file)
  const found = findProjectFile(cwd)
  if (found) return found
  // None here any more: the project that ran here, if one does.
  const here = join(cwd, PROJECT_FILES[0])
  if (existsSync(stateFile(projectDir(here)))) return here
  throw new ContainError(`no contain.yml, contain.yaml or Procfile in ${cwd}`, {
    fix: 'run contain init to write a contain.yml, or run contain up in the directory of your project',
  })
}

/**
 * The name of a project that does not run, for messages: its `name:` if the file says one plainly,
 * else the directory's. Nothing else in the file is read or checked.
 */
function quietProjectName(file: string): string {
  try {
    const top: unknown = parseYaml(readFileUpTo(file, MAX_CONFIG_BYTES).toString('utf8'))
    const name = (top as {name?: unknown} | null)?.name
    if (typeof name === 'string' && name !== '') return name
  } catch {
    // Unreadable or not YAML (a Procfile): the directory's name.
  }
  return projectNameOf(dirname(file))
}

/** The project of this directory (or -f FILE) and its running supervisor, if any. */
export async function openProject(cwd: string, file?: string, {waitForStart = false} = {}): Promise<ProjectHandle> {
  const projectFile = projectFileIn(cwd, file)
  const stateDir = projectDir(projectFile)
  // Before anything in it is believed: the state names the pid to enter and the socket to ask.
  checkStateDirTrusted(stateDir)
  const state = readState(stateDir) ?? (waitForStart ? await stateOnceStarted(stateDir) : undefined)
  if (state && !isSupervisorAlive(state)) {
    cleanUpAfterKilledSupervisor(stateDir, state)
    return {name: state.project, file: state.file, stateDir, staleSupervisor: state.supervisor.pid}
  }
  if (state) return {name: state.project, file: state.file, stateDir, state}
  // A lock file without state is a supervisor starting (its lock is held) or one killed first.
  const name = quietProjectName(projectFile)
  removeUnheldLock(stateDir)
  removeUnheldLock(nameLockDir(name))
  return {name, file: projectFile, stateDir}
}

/**
 * A supervisor holds the lock but has not written its state yet: its state, once it has, or
 * undefined if it dies first. A killed supervisor's state is not it: the new one replaces it.
 */
export async function stateOnceStarted(stateDir: string, timeoutMs = 30_000): Promise<ProjectState | undefined> {
  const deadline = Date.now() + timeoutMs
  while (lockHolderAlive(readLockHolder(stateDir)) && Date.now() < deadline) {
    const state = readState(stateDir)
    if (state && isSupervisorAlive(state)) return state
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return readState(stateDir)
}

/** Where a running project's supervisor writes an app's log, as its state says; undefined if it has not opened one. */
export function loggedFile(handle: ProjectHandle, app: string): AppLogLocation | undefined {
  return Object.hasOwn(handle.state?.logs ?? {}, app) ? handle.state?.logs?.[app] : undefined
}

/** Where an app's log is by contain.yml (for a project that is not running): its logging.dir, else the state directory's logs/. */
export function appLogFile(project: Pick<Project, 'apps' | 'file'>, stateDir: string, app: string): AppLogLocation {
  const config = project.apps.find(candidate => candidate.name === app)
  if (!config)
    throw new ContainError(`no app named ${JSON.stringify(app)} in ${project.file}`, {
      fix: `use one of: ${project.apps.map(candidate => candidate.name).join(', ')}`,
    })
  return {file: join(config.supervision.logging.dir ?? join(stateDir, 'logs'), `${app}.log`), maxFiles: config.supervision.logging.maxFiles}
}

export function requireRunning(handle: ProjectHandle): ProjectState {
  if (handle.state) return handle.state
  const gone = handle.staleSupervisor === undefined ? '' : ` (its supervisor, pid ${handle.staleSupervisor}, was killed; its apps died with it)`
  throw new ContainError(`${handle.name} is not running${gone}`, {fix: 'start it with contain up (or contain up -d)'})
}

/**
 * The project as its running supervisor resolved it and runs it (its state's project.json), for
 * contain exec: contain.yml is not read, so a file changed or removed since up still execs.
 */
export function runningProject(handle: ProjectHandle): Project {
  const state = requireRunning(handle)
  const text = readResolvedProject(handle.stateDir)
  const fix = 'restart the project with contain down and contain up -d: it was started by another version of contain'
  if (text === undefined) throw new ContainError(`${handle.name}'s supervisor left no resolved project in ${handle.stateDir}`, {fix})
  const project = readProjectRecord(text, resolvedProjectFile(handle.stateDir))
  if (project.file !== state.file) throw new ContainError(`${resolvedProjectFile(handle.stateDir)} is not the project of ${state.file}`, {fix})
  return project
}

export function callSupervisor<T>(handle: ProjectHandle, method: string, params: Record<string, unknown> = {}): Promise<T> {
  requireRunning(handle)
  // The socket in the checked state directory, never a path the state file names.
  return callControl<T>(join(handle.stateDir, 'control.sock'), method, params)
}

export async function projectStatus(handle: ProjectHandle, apps?: string[]): Promise<AppStatus[]> {
  if (!handle.state) return []
  return callSupervisor<AppStatus[]>(handle, 'status', {apps})
}

function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`
}

/**
 * The state column: a rolling restart under way or failed is said there (the old instance keeps
 * serving). Only what the supervisor reported, and only the two states it has.
 */
function stateCell(app: AppStatus): string {
  if (app.next) return `${app.state} (new, on trial)`
  if (app.rollout?.state === 'rolling') return `${app.state} (rolling)`
  if (app.rollout?.state === 'failed') return `${app.state} (rolling restart failed: old instance kept)`
  return app.state
}

/** `contain ps`: one row per app; an app with more than one instance gets a row per instance (web.1, web.2), as compose does. */
export function formatStatusTable(statuses: AppStatus[], now = Date.now()): string {
  const rows = [['NAME', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'CPU %', 'MEM / LIMIT', 'HEALTH', 'LAST EXIT']]
  const each = statuses.flatMap(app => (app.replicas && app.replicas.length > 0 ? app.replicas.map(replica => ({...replica, rollout: app.rollout})) : [app]))
  for (const app of each) {
    const usage = app.usage
    const uptime = app.startedAt ? formatDuration(now - Date.parse(app.startedAt)) : '-'
    const cpu = app.cpuPercent === undefined ? '-' : app.cpuPercent.toFixed(1)
    const memory = usage ? `${formatBytes(usage.memoryBytes)} / ${usage.memoryLimitBytes === undefined ? 'none' : formatBytes(usage.memoryLimitBytes)}` : '-'
    const exit = app.lastExit ? (app.lastExit.error ?? (app.lastExit.oomKilled ? 'OOM-killed' : (app.lastExit.signal ?? `exit ${app.lastExit.exitCode}`))) : '-'
    rows.push([app.name, stateCell(app), app.pid === undefined ? '-' : String(app.pid), uptime, String(app.restarts), cpu, memory, app.health, exit])
  }
  return formatTable(rows)
}

/** `contain ps --all`: per project a line with where it runs from, then its apps' table, indented. */
export function formatHostProjects(projects: HostProject[], now = Date.now()): string {
  return projects
    .map(project => {
      const head = `${project.project}  ${project.dir}  supervisor ${project.supervisor.pid}${project.killed ? ' (killed; its apps died with it)' : ''}  state ${project.stateDir}`
      const table =
        project.apps.length === 0
          ? ''
          : `\n${formatStatusTable(project.apps, now)
              .split('\n')
              .map(line => `  ${line}`)
              .join('\n')}`
      return `${head}${table}`
    })
    .join('\n\n')
}

/** `contain inspect`: what the app was configured with and how it is doing. */
export function formatInspect(status: AppStatus, plan?: Pick<LaunchPlan, 'argv' | 'cgroup' | 'namespaces'>): string {
  const lines = [`name: ${status.name}`, `state: ${status.state}`, `health: ${status.health}`, `restarts: ${status.restarts}`]
  if (status.pid !== undefined) lines.push(`pid: ${status.pid}`, `started: ${status.startedAt}`)
  if (status.lastExit) {
    const exit = status.lastExit
    lines.push(
      `last exit: code ${exit.exitCode}${exit.signal ? `, signal ${exit.signal}` : ''}, oomKilled ${exit.oomKilled}, at ${exit.at}${exit.error ? `, ${exit.error}` : ''}`,
    )
  }
  if (status.rollout) lines.push(`rolling restart: ${status.rollout.state} at ${status.rollout.at}${status.rollout.reason ? `: ${status.rollout.reason}` : ''}`)
  for (const replica of status.replicas ?? [])
    lines.push(
      `instance ${replica.name}${replica.next ? ' (new, on trial)' : ''}: ${replica.state}, pid ${replica.pid ?? '-'}, health ${replica.health}, restarts ${replica.restarts}`,
    )
  if (plan) {
    lines.push(
      `namespaces: ${plan.namespaces.join(', ')}`,
      `cgroup: ${plan.cgroup.dirs.join(' ')}`,
      ...plan.cgroup.writes.map(write => `  ${write.path} = ${write.value}`),
    )
    // cgroup v2 has no devices files: its allow-list is the device program's rules.
    const devices = plan.cgroup.deviceProgram
    if (devices) lines.push(`device program on ${devices.cgroup}: ${devices.rules.map(formatRule).join(', ')}`)
    lines.push(`argv: ${plan.argv.join(' ')}`)
  }
  if (status.lastLines.length > 0) lines.push('last lines:', ...status.lastLines.map(line => `  ${line}`))
  return lines.join('\n')
}
