/**
 * Every project on the host, as the state root knows them: for `contain ps --all`, for the rule
 * that two directories never run under one project name, and for cleaning up after a supervisor
 * that was killed. Only checked state directories are believed (checkStateDirTrusted).
 */
import {lstatSync, readdirSync} from 'node:fs'
import {basename, dirname, isAbsolute, join, normalize} from 'node:path'
import {CONTAIN_CGROUP, detectLayout, removeStaleScope, scopeCgroupPath} from '../cgroup/index.js'
import {AlreadyRunningError, ProjectNameTakenError} from '../errors.js'
import type {AppStatus} from './app.js'
import {callControl} from './control.js'
import {acquireProjectLock, lockHolderAlive, readLockHolder, removeUnheldLock, type ProjectLock} from './lock.js'
import {stateRoot} from '../paths.js'
import {checkStateDirTrusted, isSupervisorAlive, projectKey, readState, removeState, STATE_DIR_PATTERN, type ProjectState} from './state.js'

/** One lock per project name below the state root (`names/<name>/lock`), held by the supervisor running it. */
const NAMES_DIR = 'names'

export interface ProjectIdentity {
  name: string
  /** The project's directory and file, absolute. */
  dir: string
  file: string
}

/** A project whose supervisor runs (or was killed: `killed`, and no apps). */
export interface HostProject {
  project: string
  dir: string
  file: string
  stateDir: string
  supervisor: {pid: number; startedAt: string}
  killed: boolean
  apps: AppStatus[]
}

export function nameLockDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(stateRoot(env), NAMES_DIR, name)
}

/** The state directories below the state root: `<dir name>-<hash>` directories, never a link. */
export function projectStateDirs(root = stateRoot()): string[] {
  let names: string[]
  try {
    names = readdirSync(root)
  } catch {
    return []
  }
  return names
    .filter(name => STATE_DIR_PATTERN.test(name) && lstatSync(join(root, name), {throwIfNoEntry: false})?.isDirectory())
    .sort()
    .map(name => join(root, name))
}

/** The live supervisor's state of a project named `name` from another directory than `dir`, if one runs. */
function otherHolderOf(name: string, dir: string, root: string): ProjectState | undefined {
  for (const stateDir of projectStateDirs(root)) {
    try {
      checkStateDirTrusted(stateDir)
    } catch {
      continue
    }
    const state = readState(stateDir)
    if (state?.project === name && dirname(state.file) !== dir && isSupervisorAlive(state)) return state
  }
  return undefined
}

/**
 * Takes the project's name for this supervisor, or refuses (exit 125) naming the directory that
 * holds it. A flock, as the project's own lock: of two directories started at once under one
 * name exactly one runs, and a killed holder lets go.
 */
export function acquireNameLock(project: ProjectIdentity, env: NodeJS.ProcessEnv = process.env): ProjectLock {
  try {
    return acquireProjectLock(nameLockDir(project.name, env), project.name)
  } catch (error) {
    if (!(error instanceof AlreadyRunningError)) throw error
    const other = otherHolderOf(project.name, project.dir, stateRoot(env))
    throw new ProjectNameTakenError(project.name, project.dir, project.file, other && dirname(other.file), other?.supervisor.pid ?? error.supervisorPid)
  }
}

/** `contain up -d` fails fast, before it starts a supervisor, when the name is taken. */
export function checkNameFree(project: ProjectIdentity, env: NodeJS.ProcessEnv = process.env): void {
  const holder = readLockHolder(nameLockDir(project.name, env))
  if (!lockHolderAlive(holder)) return
  const other = otherHolderOf(project.name, project.dir, stateRoot(env))
  throw new ProjectNameTakenError(project.name, project.dir, project.file, other && dirname(other.file), other?.supervisor.pid ?? holder.pid)
}

/**
 * The scope directories a state names, kept only where they are what contain makes: absolute,
 * `<mounted cgroup hierarchy>/.../contain/<this project's key>`. Anything else is not touched.
 */
function scopeDirsOf(state: ProjectState): string[] {
  const key = projectKey({name: state.project, file: state.file})
  const mounts = detectLayout().hierarchies.map(hierarchy => hierarchy.mountPoint)
  const named = (state.cgroups ?? []).filter(
    dir =>
      typeof dir === 'string' &&
      isAbsolute(dir) &&
      normalize(dir) === dir &&
      basename(dir) === key &&
      basename(dirname(dir)) === CONTAIN_CGROUP &&
      mounts.some(mount => dir.startsWith(`${mount}/`)),
  )
  // A state written before supervisors recorded their scope: where this command's cgroup would put it.
  const ours = detectLayout().hierarchies.map(hierarchy => scopeCgroupPath(hierarchy.ownDir, key))
  return [...new Set([...named, ...ours])]
}

/**
 * A supervisor that was SIGKILLed left its state; its apps died with it (PR_SET_PDEATHSIG), and
 * what it could not remove were their empty cgroups, its state and its locks. While an app is
 * still dying its cgroup is busy: the state stays, so the next ps finishes the job.
 */
export function cleanUpAfterKilledSupervisor(stateDir: string, state: ProjectState, env: NodeJS.ProcessEnv = process.env): void {
  const scopes = scopeDirsOf(state)
  // PR_SET_PDEATHSIG kills them at once, but the kernel takes a moment to empty their cgroups.
  let removed = removeStaleScope(scopes)
  for (let wait = 0; !removed && wait < 50; wait++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20)
    removed = removeStaleScope(scopes)
  }
  if (!removed) return
  removeState(stateDir)
  removeUnheldLock(stateDir)
  removeUnheldLock(nameLockDir(state.project, env))
}

/**
 * Every project with a state on the host, with its apps as its supervisor reports them. A state
 * directory that fails the checks is named in `warnings` and left out.
 */
export async function listProjects(root = stateRoot()): Promise<{projects: HostProject[]; warnings: string[]}> {
  const projects: HostProject[] = []
  const warnings: string[] = []
  for (const stateDir of projectStateDirs(root)) {
    try {
      checkStateDirTrusted(stateDir)
    } catch (error) {
      warnings.push(`${(error as Error).message}: left out`)
      continue
    }
    const state = readState(stateDir)
    if (!state) continue
    const entry: HostProject = {
      project: state.project,
      dir: dirname(state.file),
      file: state.file,
      stateDir,
      supervisor: {pid: state.supervisor.pid, startedAt: state.startedAt},
      killed: false,
      apps: [],
    }
    if (!isSupervisorAlive(state)) {
      cleanUpAfterKilledSupervisor(stateDir, state)
      projects.push({...entry, killed: true})
      continue
    }
    try {
      // The socket in the checked state directory, never a path the state file names.
      entry.apps = await callControl<AppStatus[]>(join(stateDir, 'control.sock'), 'status', {})
    } catch (error) {
      // Between our reading its state and asking it, the supervisor may have ended.
      if (isSupervisorAlive(state)) warnings.push(`${state.project} (${stateDir}): ${(error as Error).message}`)
      continue
    }
    projects.push(entry)
  }
  return {projects, warnings}
}
