import {createHash} from 'node:crypto'
import {mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

/** What a running supervisor leaves for the other commands to find it. */
export interface ProjectState {
  project: string
  file: string
  supervisor: {pid: number; startTime: string}
  socket: string
  logsDir: string
  startedAt: string
}

/** $CONTAIN_STATE_DIR, else /run/contain for root, else the user's runtime directory. */
export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CONTAIN_STATE_DIR) return env.CONTAIN_STATE_DIR
  if (process.getuid?.() === 0) return '/run/contain'
  return join(env.XDG_RUNTIME_DIR ?? `/tmp/contain-${process.getuid?.()}`, 'contain')
}

/** A project is its contain.yml's directory: its name plus a hash, so two "app" dirs never collide. */
export function projectDir(projectFile: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = dirname(projectFile)
  const name = basename(dir).replace(/[^a-zA-Z0-9_.-]/g, '-').replace(/^[.-]+/, '') || 'project'
  const hash = createHash('sha256').update(dir).digest('hex').slice(0, 8)
  return join(stateRoot(env), `${name}-${hash}`)
}

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/** A stored pid names our supervisor only if that process started when the state says. */
export function isSupervisorAlive(state: ProjectState): boolean {
  return processStartTime(state.supervisor.pid) === state.supervisor.startTime
}

export function stateFile(dir: string): string {
  return join(dir, 'state.json')
}

/** Written to a temporary file, then renamed: a reader sees the old state or the new one, never half. */
export function writeState(dir: string, state: ProjectState): void {
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const temporary = join(dir, `.state.${process.pid}.tmp`)
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, {mode: 0o600})
  renameSync(temporary, stateFile(dir))
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
  rmSync(join(dir, 'control.sock'), {force: true})
}

/** After contain down: the supervisor removes everything, then exits. */
export async function waitForSupervisorExit(state: ProjectState, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (isSupervisorAlive(state) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
}
