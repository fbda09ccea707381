/**
 * The one seam through which contain starts contain-init, for `contain run`, the supervisor's apps,
 * `contain exec` and health checks: the fixed helper environment, what contain-init reads on its
 * descriptors (the seccomp filter on SECCOMP_FD, the app's environment on ENV_FD, the device
 * program on DEVICES_FD, the reaper's go on REAP_GO_FD, listen sockets from FIRST_LISTEN_FD),
 * and its report on STATUS_FD.
 */
import {spawn, type ChildProcess, type IOType, type StdioNull, type StdioPipe} from 'node:child_process'
import {closeSync} from 'node:fs'
import type {Stream} from 'node:stream'
import {initDataFile} from './init-data.js'
import {DEVICES_FD, ENV_FD, FIRST_LISTEN_FD, HELPER_ENV, REAP_GO_FD, SECCOMP_FD, STATUS_FD} from './plan.js'

type StdioEntry = IOType | StdioNull | StdioPipe | 'ipc' | Stream | number | null | undefined

export interface HelperInputs {
  /** The app's fds 0, 1 and 2. */
  stdio: [StdioEntry, StdioEntry, StdioEntry]
  /** struct sock_filter[]; undefined when the app runs unconfined. */
  seccompFilter?: Buffer
  /** encodeEnvironment() of the app's environment. */
  environment: Buffer
  /** The cgroup v2 device program (struct bpf_insn[]), for a launch. */
  deviceProgram?: Buffer
  /** Keep REAP_GO_FD open as a pipe: contain-init enter --reap waits on it (sendReapGo). */
  reapGo?: boolean
  /** Bound sockets, in order, at FIRST_LISTEN_FD and up. */
  listenFds?: number[]
  /** Spawn options of the caller: its own session (a launch), or a time limit (a health check). */
  detached?: boolean
  timeoutMs?: number
}

/** contain-init started: its process, and what it has reported so far. */
export interface HelperProcess {
  child: ChildProcess
  /** Everything contain-init has written on STATUS_FD so far (parseInitReport reads it). */
  status(): string
  /** Called with each chunk of the report as it comes. */
  onStatus(listener: (status: string) => void): void
  /** For reapGo: one byte to contain-init enter --reap ('g': the cgroup is made, 'n': it is not). */
  sendReapGo(byte: 'g' | 'n'): void
}

/** What contain-init keeps of a report; its lines are a few dozen bytes, so more is not a report. */
const MAX_STATUS_CHARS = 64 * 1024

/** Writes what contain-init reads on one of its descriptors, then closes it. */
export function sendToInit(stream: unknown, data: Buffer | undefined): void {
  if (!data || !stream) return
  const pipe = stream as NodeJS.WritableStream
  pipe.on('error', () => undefined)
  pipe.end(data)
}

export function startHelper(argv: readonly string[], inputs: HelperInputs): HelperProcess {
  // contain-init reads the device program, the filter and the environment whole before it goes on:
  // each an unnamed file written now (init-data.ts), or a pipe written after the spawn where the
  // host lacks them.
  const data = new Map<number, Buffer | undefined>([
    [SECCOMP_FD, inputs.seccompFilter],
    [ENV_FD, inputs.environment],
    [DEVICES_FD, inputs.deviceProgram],
  ])
  const files = new Map<number, number>()
  for (const [fd, bytes] of data) {
    const file = bytes && initDataFile(bytes)
    if (file !== undefined) files.set(fd, file)
  }
  const fds: StdioEntry[] = [...inputs.stdio]
  fds[STATUS_FD] = 'pipe'
  for (const [fd, bytes] of data) fds[fd] = files.get(fd) ?? (bytes ? 'pipe' : 'ignore')
  fds[REAP_GO_FD] = inputs.reapGo ? 'pipe' : 'ignore'
  for (const [index, fd] of (inputs.listenFds ?? []).entries()) fds[FIRST_LISTEN_FD + index] = fd
  let child: ChildProcess
  try {
    child = spawn(argv[0], argv.slice(1), {
      env: HELPER_ENV,
      stdio: fds as never,
      detached: inputs.detached,
      timeout: inputs.timeoutMs,
      killSignal: inputs.timeoutMs === undefined ? undefined : 'SIGKILL',
    })
  } finally {
    for (const file of files.values()) closeSync(file)
  }
  const pipes = child.stdio as unknown[]
  // A launcher that died early closes the pipes.
  for (const [fd, bytes] of data) if (!files.has(fd)) sendToInit(pipes[fd], bytes)
  let status = ''
  const listeners: Array<(status: string) => void> = []
  child.stdio[STATUS_FD]?.on('data', chunk => {
    if (status.length >= MAX_STATUS_CHARS) return
    status += chunk
    for (const listener of listeners) listener(status)
  })
  return {
    child,
    status: () => status,
    onStatus: listener => void listeners.push(listener),
    sendReapGo: byte => sendToInit(pipes[REAP_GO_FD], Buffer.from(byte)),
  }
}
