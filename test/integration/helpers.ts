import {execa, type ResultPromise} from 'execa'
import {existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmdirSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import type {Test} from 'tap'
import {detectLayout} from '../../src/cgroup/layout.js'

export const root = fileURLToPath(new URL('../..', import.meta.url))
export const containBin = join(root, 'bin/run.js')
export const initBin = join(root, 'native/build/contain-init')

/**
 * In the cgroup v2 guest's nested mode (test/vm/integration.sh) every contain runs alone in a
 * fresh cgroup below this one, as a systemd unit with Delegate=yes would start it.
 */
const unitParent = process.env.CONTAIN_TEST_UNIT_PARENT
let unitCount = 0

/**
 * Skips the whole file where the real kernel cannot be used (or, after tests that need no root,
 * the `part` of it that does): a tap skip (`1..0 # reason`), counted as skipped, never as passed,
 * so `npm test` can tell a run that did nothing from one that held.
 */
export function requireRoot(t: Test, part?: string): boolean {
  if (process.getuid?.() !== 0) {
    const reason = 'not root: these tests create cgroups and namespaces'
    // After tests that need no root (`part` names the rest), one skipped subtest stands for the rest.
    if (part) t.test(part, {skip: reason}, () => {})
    else skipFile(t, reason)
    return false
  }
  if (!existsSync(initBin) || !existsSync(join(root, 'dist/cli.js'))) {
    t.fail('contain is not built: run npm run build')
    return false
  }
  return true
}

/**
 * A case that a v2 guest may leave to the host: the guests boot one CPU at a tenth of the host's
 * speed, so for a file whose cases mostly test what does not depend on the cgroup version, the
 * guest runs only the cases named in CONTAIN_GUEST_CASES (scripts/test.js sets it) and says so.
 */
export function guestCase(id: string): {skip?: string} {
  const chosen = process.env.CONTAIN_GUEST_CASES?.split(',')
  if (chosen === undefined || chosen.includes(id)) return {}
  return {skip: `run on the host only; this v2 guest runs the cases ${chosen.join(', ')}`}
}

/** Skips the whole file (tap counts it as one skip, with the reason). Only before any test of the file started. */
export function skipFile(t: Test, reason: string): void {
  t.plan(0, reason)
}

export interface Contain {
  process: ResultPromise<{reject: false; all: true; stdin: 'ignore'}>
  unit?: string
}

/** Starts `contain ARGS` (the real bin/run.js) without waiting for it. */
export function startContain(args: string[], options: {env?: Record<string, string>} = {}): Contain {
  let argv = ['node', containBin, ...args]
  let unit: string | undefined
  if (unitParent) {
    unit = join(unitParent, `unit-${process.pid}-${unitCount++}`)
    mkdirSync(unit)
    argv = [initBin, 'enter', join(unit, 'cgroup.procs'), '--', ...argv]
  }
  const child = execa(argv[0], argv.slice(1), {reject: false, all: true, env: options.env, stdin: 'ignore'})
  return {process: child, unit}
}

export interface ContainResult {
  exitCode: number
  stdout: string
  stderr: string
}

/**
 * tap loads its process-info hook into every node it starts, contain included, and that hook puts
 * itself (--import .../node_modules/@tapjs/...) into the NODE_OPTIONS of every child: a node app
 * inside contain needs that directory in its view.
 */
export const tapLoader = ['-v', `${realpathSync(join(root, 'node_modules'))}:${realpathSync(join(root, 'node_modules'))}:ro`]

/** Runs `contain ARGS` to the end. */
export async function contain(args: string[], options: {env?: Record<string, string>} = {}): Promise<ContainResult> {
  const started = startContain(args, options)
  const result = await started.process
  if (started.unit) rmdirSync(started.unit)
  return {exitCode: result.exitCode ?? 128 + 9, stdout: result.stdout, stderr: result.stderr}
}

/** The directories below which contain creates app cgroups, one per hierarchy. */
function ownCgroupDirs(): string[] {
  return [...new Set(detectLayout().hierarchies.map(hierarchy => hierarchy.ownDir)), ...(unitParent ? [unitParent] : [])]
}

/** Every directory below `dir`, at any depth (a cgroup's child cgroups). */
function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, {withFileTypes: true, recursive: true})
      .filter(entry => entry.isDirectory())
      .map(entry => join(entry.parentPath, entry.name))
  } catch {
    return []
  }
}

/**
 * The host's directories of an app's cgroup, one per hierarchy (below a unit in the nested
 * guest): `<parent>/contain/<scope>/<app>`, scope `run` for contain run, any project's by default.
 */
export function appCgroupDirs(app: string, scope?: string): string[] {
  const parents = ownCgroupDirs().flatMap(dir => [
    dir,
    ...(dir === unitParent
      ? readdirSync(dir, {withFileTypes: true})
          .filter(entry => entry.isDirectory())
          .map(entry => join(dir, entry.name))
      : []),
  ])
  return [...new Set(parents)].flatMap(parent => {
    const scopes = join(parent, 'contain')
    if (!existsSync(scopes)) return []
    const names =
      scope === undefined
        ? readdirSync(scopes, {withFileTypes: true})
            .filter(entry => entry.isDirectory())
            .map(entry => entry.name)
        : [scope]
    return names.map(name => join(scopes, name, app)).filter(dir => existsSync(dir))
  })
}

/** Everything contain may leave on the host: app cgroups, contain-init processes, mounts. */
export function hostTraces(): {cgroups: string[]; processes: string[]; mounts: string[]} {
  const cgroups = ownCgroupDirs()
    .flatMap(dir =>
      readdirSync(dir, {withFileTypes: true})
        .filter(entry => entry.isDirectory() && /^(contain$|contain\.|unit-)/.test(entry.name))
        // Every app cgroup is below contain (contain.supervisor: the v2 delegation leaf); the contain-NAME
        // directories of older builds are not contain's any more. Each project and app is a trace of its own.
        .flatMap(entry => [join(dir, entry.name), ...(entry.name === 'contain' ? subdirectories(join(dir, entry.name)) : [])]),
    )
    .sort()
  const processes = readdirSync('/proc')
    .filter(name => /^\d+$/.test(name))
    .flatMap(pid => {
      try {
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
        return command[0] === initBin ? [`${pid} ${command.join(' ').trim()}`] : []
      } catch {
        return []
      }
    })
  return {cgroups, processes, mounts: hostMountPoints()}
}

/**
 * Where other programs on a shared host mount while a test runs (the benchmark's peers: dockerd,
 * podman, runc). contain mounts only inside its apps' mount namespaces, so a leak of its own would
 * show at the paths it mounts there (/proc, /sys, tmpfs paths, the hidden state directories), never here.
 */
export const OTHER_TOOLS_MOUNTS = [/\/bench\/work\//, /^\/var\/lib\/(docker|containers)\//, /^\/run\/(docker|containers|netns|runc|crun|user)\//]

/** The host's mount points, other tools' left out (see OTHER_TOOLS_MOUNTS). */
function hostMountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .trim()
    .split('\n')
    .map(line => line.split(' ')[4])
    .filter(mount => !OTHER_TOOLS_MOUNTS.some(pattern => pattern.test(mount)))
    .sort()
}

/** Asserts, after each test of the file, that contain left nothing behind. */
export function assertNothingLeftBehind(t: Test): void {
  const before = hostTraces()
  t.afterEach(async () => {
    // Killed launchers are reaped asynchronously, and a reaper ends when it sees its cgroup removed
    // (an inotify wakeup): on a loaded two-CPU runner that can take a while; give them up to 3 s.
    let after = hostTraces()
    for (let tries = 0; tries < 150 && (after.cgroups.length > 0 || after.processes.length > 0); tries++) {
      await new Promise(resolve => setTimeout(resolve, 20))
      after = hostTraces()
    }
    t.same(after.cgroups, before.cgroups, 'no cgroup left behind')
    t.same(after.processes, before.processes, 'no contain-init process left behind')
    t.same(after.mounts, before.mounts, 'no mount left behind on the host')
  })
}

/** Reads a namespace's identity, for comparing the app's with the host's. */
export function hostNamespace(kind: string): string {
  return readlinkSync(`/proc/self/ns/${kind}`)
}

/** A port nothing listens on now (the kernel picks it). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  await new Promise(resolve => server.close(resolve))
  return port
}
