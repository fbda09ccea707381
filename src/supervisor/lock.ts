/**
 * One supervisor per project. The lock is flock(2) on `lock` in the project's state directory,
 * held through a descriptor of the supervisor process itself: the kernel drops it when that
 * process ends, however it ends (SIGKILL included). So a lock left by a killed supervisor is never
 * "stale" in a way contain has to judge: the next `contain up` simply gets it. No pid is trusted
 * to decide who holds the lock; the pid in the file only names the holder in messages.
 *
 * Node has no flock(2). util-linux flock(1) takes it on our descriptor and exits: a flock belongs
 * to the open file description, which the child shares, so the lock stays ours. Node opens files
 * with O_CLOEXEC, so no app started later inherits the descriptor (and could hold or drop it).
 */
import {spawnSync} from 'node:child_process'
import {closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {AlreadyRunningError, HostError} from '../errors.js'
import {isProcessAlive, processStartTime} from '../process.js'
import {securePrivateDir} from './state.js'

export interface LockHolder {
  pid: number
  startTime: string
  since: string
}

export interface ProjectLock {
  readonly file: string
  /** Removes the lock file, then lets go of the lock. Safe to call twice. */
  release(): void
}

export function lockFile(stateDir: string): string {
  return join(stateDir, 'lock')
}

/** Whether the kernel gave us the lock on `fd`. */
function tryFlock(fd: number): boolean {
  const result = spawnSync('flock', ['--nonblock', '--exclusive', '3'], {stdio: ['ignore', 'ignore', 'pipe', fd]})
  if (result.error) {
    throw new HostError(`cannot lock the project's state (flock: ${result.error.message})`, {
      fix: 'install util-linux (it provides flock, as it provides unshare)',
      cause: result.error,
    })
  }
  if (result.status === 0) return true
  if (result.status === 1) return false
  throw new HostError(`cannot lock the project's state: flock exited ${result.status ?? result.signal}: ${String(result.stderr).trim()}`, {
    fix: 'check that the state directory (CONTAIN_STATE_DIR) is on a filesystem with file locks',
  })
}

/** The holder written in a lock file, if the file has one (it is written right after locking). */
export function readLockHolder(stateDir: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(lockFile(stateDir), 'utf8')) as LockHolder
    return Number.isInteger(holder.pid) ? holder : undefined
  } catch {
    return undefined
  }
}

/** The holder named in the lock file is that very process, still running: a hint, not the lock. */
export function lockHolderAlive(holder: LockHolder | undefined): holder is LockHolder {
  return holder !== undefined && isProcessAlive(holder.pid, holder.startTime)
}

/**
 * Takes the project's lock for this process or throws AlreadyRunningError naming the holder.
 * The file is removed on release. Whoever locked a file that was removed meanwhile (its inode is
 * no longer the path's) holds nothing and tries again on the new file.
 */
export function acquireProjectLock(stateDir: string, project: string): ProjectLock {
  mkdirSync(stateDir, {recursive: true, mode: 0o700})
  securePrivateDir(stateDir)
  const file = lockFile(stateDir)
  // A lock held by no live supervisor passes within moments (see below); one that does not is reported as held.
  const deadline = Date.now() + 1000
  for (let attempt = 0; attempt < 100; attempt++) {
    const fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)
    let held = false
    try {
      if (!tryFlock(fd)) {
        const holder = liveHolder(stateDir)
        if (holder || Date.now() > deadline) throw new AlreadyRunningError(project, holder?.pid, holder?.since)
        // Held, but by no live supervisor: a `contain ps` taking it for an instant to remove a
        // dead supervisor's file. That passes.
        pause(10)
        continue
      }
      if (fstatSync(fd).ino !== statSync(file, {throwIfNoEntry: false})?.ino) continue
      const holder: LockHolder = {pid: process.pid, startTime: processStartTime(process.pid) ?? '', since: new Date().toISOString()}
      ftruncateSync(fd, 0)
      writeSync(fd, `${JSON.stringify(holder)}\n`, 0)
      held = true
      return heldLock(file, fd)
    } finally {
      if (!held) closeSync(fd)
    }
  }
  throw new HostError(`cannot lock ${file}: it keeps being replaced`, {fix: 'check that no other program removes files in the state directory'})
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/** The live holder named in the file; a holder writes its name right after it locks, so a contender may wait a moment for it. */
function liveHolder(stateDir: string): LockHolder | undefined {
  for (let wait = 0; wait < 10; wait++) {
    const holder = readLockHolder(stateDir)
    if (lockHolderAlive(holder)) return holder
    pause(10)
  }
  return undefined
}

function heldLock(file: string, fd: number): ProjectLock {
  let open = true
  return {
    file,
    release() {
      if (!open) return
      open = false
      // Unlinked while still locked, so nobody can lock this inode after we let go and believe it current.
      try {
        if (statSync(file).ino === fstatSync(fd).ino) unlinkSync(file)
      } catch {
        // Already gone.
      }
      closeSync(fd)
    },
  }
}

/**
 * Removes a lock file nobody holds (left by a supervisor or `contain up` that was SIGKILLed), so
 * nothing of a dead project stays in the state directory. A held lock is left alone.
 */
export function removeUnheldLock(stateDir: string): void {
  const file = lockFile(stateDir)
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch {
    return
  }
  try {
    if (tryFlock(fd) && statSync(file, {throwIfNoEntry: false})?.ino === fstatSync(fd).ino) unlinkSync(file)
  } finally {
    closeSync(fd)
  }
}
