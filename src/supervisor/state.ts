import {createHash} from 'node:crypto'
import {chmodSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import {ContainError} from '../errors.js'
import {stateRoot} from '../paths.js'
import {isProcessAlive} from '../process.js'

/** What a running supervisor leaves for the other commands to find it. */
export interface ProjectState {
  project: string
  file: string
  supervisor: {pid: number; startTime: string}
  socket: string
  logsDir: string
  startedAt: string
  /**
   * The project's cgroup scope, one directory per hierarchy (`<own>/contain/<key>`) as the
   * supervisor placed it: a client in another cgroup finds what a killed supervisor left there.
   */
  cgroups?: string[]
  /**
   * Each app's log as the supervisor opened it (its logging.dir and max_file then): `contain logs`
   * reads these, not what contain.yml says today.
   */
  logs?: Record<string, AppLogLocation>
}

export interface AppLogLocation {
  file: string
  maxFiles: number
}

/** A project is its contain.yml's directory: its name plus a hash, so two "app" dirs never collide. */
export function projectDir(projectFile: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = realDir(dirname(resolve(projectFile)))
  const name =
    basename(dir)
      .replace(/[^a-zA-Z0-9_.-]/g, '-')
      .replace(/^[.-]+/, '') || 'project'
  return join(stateRoot(env), `${name}-${directoryHash(projectFile)}`)
}

/** The same project through a symlink (a `current` release link) is the same project. */
function directoryHash(projectFile: string): string {
  return createHash('sha256')
    .update(realDir(dirname(resolve(projectFile))))
    .digest('hex')
    .slice(0, 8)
}

/**
 * The project's key on this host: its name (what ps shows) and its directory's hash, so the
 * cgroups of two directories never meet even while one of them is being refused (see
 * acquireNameLock). Always `-` and 8 hex digits at the end, which no other scope has.
 */
export function projectKey(project: {name: string; file: string}): string {
  return `${project.name}-${directoryHash(project.file)}`
}

/** State directories are `<dir name>-<8 hex>`; anything else in the state root is not one. */
export const STATE_DIR_PATTERN = /-[0-9a-f]{8}$/

/**
 * The project's state directory holds the control socket: only its user may reach it. It is made
 * 0700 when it is this user's; every directory above it must belong to this user or root and be
 * writable by nobody else unless sticky (/tmp), or another user could swap it (as ssh's StrictModes).
 */
export function securePrivateDir(dir: string, uid = process.getuid?.() ?? 0): void {
  checkPrivateDir(dir, uid, {repair: true})
}

/**
 * What a client command (ps, logs, stop, exec, ...) checks before it believes anything in a
 * state directory: the same rules, but nothing is repaired. A directory another user could have
 * written (a non-root user's /tmp fallback prepared by someone else) is refused, not used.
 */
export function checkStateDirTrusted(dir: string, uid = process.getuid?.() ?? 0): void {
  checkPrivateDir(dir, uid, {repair: false})
  const trusted = (path: string, kind: 'file' | 'socket') => {
    const stat = lstatSync(path, {throwIfNoEntry: false})
    if (!stat) return
    const problem = kind === 'file' ? !stat.isFile() : !stat.isSocket()
    if (problem || (stat.uid !== uid && stat.uid !== 0) || (kind === 'file' && (stat.mode & 0o022) !== 0)) {
      throw new ContainError(
        `state directory ${dir}: ${path} is not a ${kind} that contain (uid ${uid} or root) made${stat.uid !== uid && stat.uid !== 0 ? `: it belongs to uid ${stat.uid}` : ''}`,
        {fix: `remove ${dir} (contain recreates it), or set CONTAIN_STATE_DIR to a directory of your own`},
      )
    }
  }
  trusted(stateFile(dir), 'file')
  trusted(resolvedProjectFile(dir), 'file')
  trusted(join(dir, 'control.sock'), 'socket')
}

function checkPrivateDir(dir: string, uid: number, {repair}: {repair: boolean}): void {
  const refuse = (path: string, problem: string, fix: string) => {
    throw new ContainError(`state directory ${path}: ${problem}, so another user could reach the control socket`, {
      fix: `${fix}, or set CONTAIN_STATE_DIR to a directory of your own`,
    })
  }
  const own = lstatSync(dir, {throwIfNoEntry: false})
  // Not made yet: binding the socket reports that, with the path.
  if (!own) return
  if (!own.isDirectory() || own.uid !== uid)
    refuse(dir, own.isDirectory() ? `belongs to uid ${own.uid}, not to uid ${uid}` : 'is not a directory', `remove ${dir} (contain recreates it)`)
  if ((own.mode & 0o077) !== 0) {
    if (repair) chmodSync(dir, 0o700)
    else if ((own.mode & 0o022) !== 0) refuse(dir, 'is writable by other users', `make it private (chmod 700 ${dir})`)
  }
  // The real path: a symlink's own mode says nothing (/var/run -> /run).
  for (let path = dirname(realpathSync(dir)); ; path = dirname(path)) {
    const stat = lstatSync(path)
    if (stat.uid !== uid && stat.uid !== 0)
      refuse(path, `holds it and belongs to uid ${stat.uid}`, `use a directory that belongs to you or root instead of ${path}`)
    if ((stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0)
      refuse(path, 'holds it and is writable by other users', `make it writable only by its owner (chmod go-w ${path})`)
    if (path === dirname(path)) return
  }
}

function realDir(dir: string): string {
  try {
    return realpathSync(dir)
  } catch {
    return dir
  }
}

export function isSupervisorAlive(state: ProjectState): boolean {
  return isProcessAlive(state.supervisor.pid, state.supervisor.startTime)
}

export function stateFile(dir: string): string {
  return join(dir, 'state.json')
}

/** Written to a temporary file, then renamed: a reader sees the old file or the new one, never half. */
function replaceFile(dir: string, file: string, text: string): void {
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const temporary = join(dir, `.${basename(file)}.${process.pid}.tmp`)
  writeFileSync(temporary, text, {mode: 0o600})
  renameSync(temporary, file)
}

export function writeState(dir: string, state: ProjectState): void {
  replaceFile(dir, stateFile(dir), `${JSON.stringify(state, null, 2)}\n`)
}

/**
 * The resolved project the supervisor runs (config/project-record.ts), each app as it was last
 * started: `contain exec` plans from it, never from today's contain.yml.
 */
export function resolvedProjectFile(dir: string): string {
  return join(dir, 'project.json')
}

export function writeResolvedProject(dir: string, record: string): void {
  replaceFile(dir, resolvedProjectFile(dir), `${record}\n`)
}

/** The record's text; undefined when no supervisor left one. Believe it only after checkStateDirTrusted. */
export function readResolvedProject(dir: string): string | undefined {
  try {
    return readFileSync(resolvedProjectFile(dir), 'utf8')
  } catch {
    return undefined
  }
}

export function readState(dir: string): ProjectState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(dir), 'utf8')) as ProjectState
  } catch {
    return undefined
  }
}

/** Removes the state and socket of a supervisor that has ended; logs stay. */
export function removeState(dir: string): void {
  rmSync(stateFile(dir), {force: true})
  rmSync(resolvedProjectFile(dir), {force: true})
  rmSync(join(dir, 'control.sock'), {force: true})
}

/** After contain down: the supervisor removes everything, then exits. */
export async function waitForSupervisorExit(state: ProjectState, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (isSupervisorAlive(state) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
}
