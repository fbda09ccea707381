/**
 * Shared by the hardening suite (test/hardening): the real CLI as a user runs it (bin/run.js by
 * its shebang), a seeded random source, and the host traces a test must leave as it found them.
 * Every trace is looked up by a token the test put in its names, so other engineers' apps and
 * cgroups on the same host never count as ours.
 */
import {execa} from 'execa'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync} from 'node:fs'
import {join} from 'node:path'
import type {Test} from 'tap'
import {detectLayout} from '../../src/cgroup/layout.js'
import {containBin, initBin, OTHER_TOOLS_MOUNTS, requireRoot, root, skipFile} from '../integration/helpers.js'

export {containBin, initBin, requireRoot, root, skipFile}

/** True inside the cgroup v2 guest (test/vm/run-in-cgroupv2-vm.sh). */
export const inGuest = process.env.RUNVM_GUEST === '1'

/** A short token unique to this test process: every name a test makes holds it. */
export function token(prefix: string): string {
  return `${prefix}${process.pid.toString(36)}${randomBytes(2).toString('hex')}`
}

/** Prints a figure as a tap comment ("# bad input: 137 tried, ..."), visible in every reporter. */
export function figure(t: Test, text: string): void {
  t.comment(text)
}

/** mulberry32: small, fast and the same on every machine, so a printed seed reproduces a run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let value = state
    value = Math.imul(value ^ (value >>> 15), value | 1)
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61)
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296
  }
}

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
  /** How long the command took, in ms. */
  ms: number
}

export interface CliOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  timeoutMs?: number
  /** A command that execs contain with its arguments appended (e.g. a shell that opens a descriptor first). */
  wrap?: string[]
}

/**
 * In the nested cgroup v2 guest (test/vm/integration.sh -g) the test runner acts as the service
 * manager: every contain runs alone in a unit cgroup of its own, as under systemd with
 * Delegate=yes, and when a unit's processes are all gone the runner removes what is left in it,
 * as systemd does when a unit stops. Left by a contain that ended normally, that is a leak;
 * left by one that was SIGKILLed, it is the service manager's to remove.
 */
const unitParent = process.env.CONTAIN_TEST_UNIT_PARENT
export const nested = unitParent !== undefined
interface Unit {
  dir: string
  /** Its contain was SIGKILLed: what it left is not contain's leak. */
  killed: boolean
}
const units: Unit[] = []
const unitLeaks: string[] = []
let unitCount = 0

/**
 * t.testdir(), in a directory of its own in the nested guest: both guests share the worktree (and
 * its .tap/fixtures) and run the same files side by side.
 */
export function testdir(t: Test, files: Parameters<Test['testdir']>[0] = {}): string {
  if (nested) t.testdirName = `${t.testdirName}-nested`
  return t.testdir(files)
}

/** Starts `contain ARGS` as a user would (bin/run.js through its shebang), without waiting. */
export function startCli(args: string[], options: CliOptions = {}) {
  const settings = {reject: false, stdin: 'ignore', cwd: options.cwd, env: options.env, timeout: options.timeoutMs ?? 60_000, killSignal: 'SIGKILL'} as const
  const wrap = options.wrap ?? []
  if (!unitParent) return wrap.length > 0 ? execa(wrap[0], [...wrap.slice(1), containBin, ...args], settings) : execa(containBin, args, settings)
  const unit: Unit = {dir: join(unitParent, `u-${process.pid}-${unitCount++}`), killed: false}
  mkdirSync(unit.dir)
  units.push(unit)
  const child = execa(initBin, ['enter', join(unit.dir, 'cgroup.procs'), '--', ...wrap, process.execPath, containBin, ...args], settings)
  void child.then(result => void (unit.killed ||= result.signal === 'SIGKILL'))
  return child
}

/** SIGKILLs a contain process (a supervisor); in nested mode its unit is marked as killed first. */
export function killContain(pid: number): void {
  try {
    const own = readFileSync(`/proc/${pid}/cgroup`, 'utf8').match(/^0::(.*)$/m)?.[1]
    for (const unit of units) if (own && `/sys/fs/cgroup${own}/`.startsWith(`${unit.dir}/`)) unit.killed = true
  } catch {
    // Already gone.
  }
  process.kill(pid, 'SIGKILL')
}

/** Removes the units whose processes are all gone (as systemd would), noting contain's leftovers in those it ended normally. */
function endUnits(): void {
  for (const unit of [...units]) {
    let populated: boolean
    try {
      populated = /^populated 1$/m.test(readFileSync(join(unit.dir, 'cgroup.events'), 'utf8'))
    } catch {
      // Gone already.
      populated = false
    }
    if (populated) continue
    units.splice(units.indexOf(unit), 1)
    const left = existsSync(unit.dir) ? readdirSync(unit.dir, {withFileTypes: true, recursive: true}).filter(entry => entry.isDirectory()) : []
    if (!unit.killed && left.length > 0) unitLeaks.push(...left.map(entry => join(entry.parentPath, entry.name)))
    const trim = (dir: string) => {
      for (const entry of readdirSync(dir, {withFileTypes: true})) if (entry.isDirectory()) trim(join(dir, entry.name))
      rmdirSync(dir)
    }
    try {
      if (existsSync(unit.dir)) trim(unit.dir)
    } catch (error) {
      unitLeaks.push(`${unit.dir}: ${(error as Error).message}`)
    }
  }
}

/** Runs `contain ARGS` to the end. */
export async function cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const started = Date.now()
  const result = await startCli(args, options)
  return {exitCode: result.exitCode ?? 128 + 9, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), ms: Date.now() - started}
}

/** Waits until `check` holds, polling; throws naming `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}

export const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** The directories below which contain creates app cgroups, one per hierarchy (and per unit, nested). */
export function cgroupParents(): string[] {
  return [...new Set([...detectLayout().hierarchies.map(hierarchy => hierarchy.ownDir), ...units.map(unit => unit.dir)])]
}

/** Child cgroups of `dir`, by name; none when it is not there. */
function childCgroups(dir: string): string[] {
  try {
    return readdirSync(dir, {withFileTypes: true})
      .filter(entry => entry.isDirectory())
      .map(entry => entry.name)
  } catch {
    return []
  }
}

/**
 * Cgroups of contain whose path holds `mark`, in every hierarchy: app cgroups and project scopes
 * (`contain/<scope>/<app>`), and a test's own `contain-<mark>...` directories beside them.
 */
export function cgroupsWith(mark: string): string[] {
  return cgroupParents().flatMap(dir => {
    const own = childCgroups(dir)
      .filter(name => name.startsWith('contain-') && name.includes(mark))
      .map(name => join(dir, name))
    const nested = childCgroups(join(dir, 'contain'))
      .flatMap(scope => {
        const apps = childCgroups(join(dir, 'contain', scope)).map(app => join(dir, 'contain', scope, app))
        return [join(dir, 'contain', scope), ...apps]
      })
      .filter(path => path.slice(dir.length).includes(mark))
    return [...own, ...nested]
  })
}

/** The directories of an app's cgroup, one per hierarchy (and unit), in any project. */
export function appCgroupDirs(appName: string): string[] {
  return cgroupParents()
    .flatMap(dir => childCgroups(join(dir, 'contain')).map(scope => join(dir, 'contain', scope, appName)))
    .filter(dir => existsSync(dir))
}

/**
 * Where an app's processes are: its cgroup directories (a contain run's processes) and the
 * instance cgroups below them (a supervised app's, <app>/i<n>).
 */
export function appProcessDirs(appName: string): string[] {
  return appCgroupDirs(appName).flatMap(dir => [dir, ...childCgroups(dir).map(child => join(dir, child))])
}

/** Processes whose command line holds `mark` (apps, contain-init, supervisors), as "pid argv". */
export function processesWith(mark: string): string[] {
  return readdirSync('/proc')
    .filter(name => /^\d+$/.test(name) && Number(name) !== process.pid)
    .flatMap(pid => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        // A zombie has an empty command line and is already gone as far as leaks go.
        return argv.includes(mark) ? [`${pid} ${argv.split('\0').join(' ').trim().slice(0, 160)}`] : []
      } catch {
        return []
      }
    })
}

/** The host's mount points, as "mountpoint fstype" lines (mountinfo fields 5 and the type). */
export function hostMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .trim()
    .split('\n')
    .map(line => {
      const [before, after = ''] = line.split(' - ')
      return `${before.split(' ')[4]} ${after.split(' ')[0]}`
    })
    .sort()
}

/** Mount points added since `before`, leaving out those below `ignoreBelow` (a test's own tmpfs) and other tools'. */
export function newMounts(before: string[], ignoreBelow: string[] = []): string[] {
  const left = [...before]
  return hostMounts().filter(mount => {
    const index = left.indexOf(mount)
    if (index !== -1) {
      left.splice(index, 1)
      return false
    }
    return !ignoreBelow.some(dir => mount.startsWith(`${dir}/`) || mount.startsWith(`${dir} `)) && !OTHER_TOOLS_MOUNTS.some(pattern => pattern.test(mount))
  })
}

/** Files a supervisor leaves while it runs (state.json, control.sock, temporary state), logs aside. */
export function stateFiles(stateRoot: string): string[] {
  if (!existsSync(stateRoot)) return []
  return readdirSync(stateRoot, {recursive: true, withFileTypes: true})
    .filter(entry => !entry.isDirectory() && !/\.log(\.\d+)?$/.test(entry.name))
    .map(entry => join(entry.parentPath ?? (entry as unknown as {path: string}).path, entry.name))
}

/** Everything of `mark` on the host, for one leak assertion that names what it found. */
export function leftovers(mark: string, stateRoot?: string): {cgroups: string[]; processes: string[]; stateFiles: string[]} {
  endUnits()
  return {cgroups: [...cgroupsWith(mark), ...unitLeaks], processes: processesWith(mark), stateFiles: stateRoot ? stateFiles(stateRoot) : []}
}

/** Waits briefly for the kernel to reap and remove, then returns what is still there. */
export async function settledLeftovers(mark: string, stateRoot?: string, timeoutMs = 3000): Promise<ReturnType<typeof leftovers>> {
  const deadline = Date.now() + timeoutMs
  let found = leftovers(mark, stateRoot)
  while (Date.now() < deadline && (found.cgroups.length > 0 || found.processes.length > 0 || found.stateFiles.length > 0)) {
    await sleep(50)
    found = leftovers(mark, stateRoot)
  }
  return found
}

/** The pid of the app process itself in an app's cgroup: the one whose comm is `comm`. */
export function appPid(appName: string, comm: string): number | undefined {
  for (const dir of appProcessDirs(appName)) {
    try {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean)) {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) return Number(pid)
      }
    } catch {
      // Not in this hierarchy, or gone.
    }
  }
  return undefined
}

/** A stack trace or an internal error: never acceptable in what contain prints. */
export function crashed(output: string): boolean {
  return /^\s+at .+[(:]\d+|internal error|\n\s{4}at |TypeError|ReferenceError|RangeError|SyntaxError: |Unhandled|std::|Aborted/m.test(output)
}
