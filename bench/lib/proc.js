// Process helpers: run setup commands (execa), find binaries, and end processes by PID only.
import {execa} from 'execa'
import {accessSync, constants, readdirSync, readFileSync, readlinkSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

/** Run a setup command; never throws on a non-zero exit. Returns {ok, exitCode, stdout, stderr, all, command}. */
export async function run(file, args = [], options = {}) {
  const result = await execa(file, args, {reject: false, all: true, stdin: 'ignore', timeout: 10 * 60_000, ...options})
  return {
    ok: result.exitCode === 0 && !result.failed,
    exitCode: result.exitCode,
    stdout: typeof result.stdout === 'string' ? result.stdout.trim() : '',
    stderr: typeof result.stderr === 'string' ? result.stderr.trim() : '',
    all: typeof result.all === 'string' ? result.all.trim() : '',
    command: [file, ...args].join(' '),
    error: result.failed && result.exitCode === undefined ? result.shortMessage : undefined,
  }
}

/** Like run() but throws with the command's own message when it fails. */
export async function mustRun(file, args = [], options = {}) {
  const result = await run(file, args, options)
  if (!result.ok) throw new Error(`${result.command} failed (exit ${result.exitCode ?? 'n/a'}): ${tail(result.all || result.error || '', 600)}`)
  return result
}

export function tail(text, max = 400) {
  text = String(text ?? '').trim()
  return text.length > max ? `…${text.slice(-max)}` : text
}

export function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** First executable named `name` in `dirs` (default: PATH). */
export function which(name, dirs = (process.env.PATH ?? '').split(':')) {
  for (const dir of dirs) {
    if (!dir) continue
    const candidate = join(dir, name)
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

/** Debian puts its binaries in /usr/sbin, /usr/bin, /sbin, /bin: prefer those over /usr/local. */
export const systemDirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin']
export const systemPath = [...systemDirs, ...(process.env.PATH ?? '').split(':').filter(d => d && !systemDirs.includes(d))].join(':')

export function pidAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

export function killPid(pid, signal = 'SIGTERM') {
  try {
    process.kill(pid, signal)
    return true
  } catch {
    return false
  }
}

export async function waitPidGone(pid, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true
    await sleep(50)
  }
  return !pidAlive(pid)
}

/** SIGTERM a PID we started, then SIGKILL it if it is still there after graceMs. */
export async function stopPid(pid, graceMs = 15_000) {
  if (!pid || !pidAlive(pid)) return 'not running'
  killPid(pid, 'SIGTERM')
  if (await waitPidGone(pid, graceMs)) return 'stopped (SIGTERM)'
  killPid(pid, 'SIGKILL')
  return (await waitPidGone(pid, 5_000)) ? 'killed (SIGKILL)' : 'still running after SIGKILL'
}

/** Every live process: {pid, ppid, comm, cmdline, exe}. */
export function processes() {
  const list = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const comm = stat.slice(stat.indexOf('(') + 1, close)
      const [state, ppid] = stat.slice(close + 2).split(' ')
      if (state === 'Z') continue
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ')
      let exe = ''
      try {
        exe = readlinkSync(`/proc/${entry}/exe`)
      } catch {}
      list.push({pid: Number(entry), ppid: Number(ppid), comm, cmdline, exe})
    } catch {}
  }
  return list
}

/** PIDs of all descendants of pid (children first). */
export function descendants(pid, all = processes()) {
  const result = []
  const queue = [pid]
  while (queue.length) {
    const parent = queue.shift()
    for (const p of all) {
      if (p.ppid === parent) {
        result.push(p)
        queue.push(p.pid)
      }
    }
  }
  return result
}
