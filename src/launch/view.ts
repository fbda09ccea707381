/**
 * The app's view of the filesystem, built rather than inherited (as bubblewrap and runc do): a
 * fresh root on a tmpfs holding the host's system directories read-only, the directories of the
 * command and its interpreter, the app's own directory, the volumes it was given, a private /tmp,
 * /run and /dev, and nothing else of the host. Every decision is made here, at plan time, as an
 * ordered list of steps; contain-init (--new-root, --view-*) only executes them.
 */
import {closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, realpathSync} from 'node:fs'
import {basename, dirname, isAbsolute, join, posix, resolve} from 'node:path'
import type {RunOptions} from './options.js'
import {packageRoot} from '../paths.js'
import {SYSTEM_DIRS, isUnder} from './view-paths.js'

/** One step of the view, in the order contain-init makes it. */
export type ViewStep =
  /** Binds a host path (`source`) at `target`; `source` '.' binds the target onto itself, so it stays writable below a read-only parent. */
  | {
      kind: 'bind'
      source: string
      target: string
      readOnly: boolean
      recursive?: boolean
      devices?: boolean
      suid?: boolean
      ownedByApp?: boolean
      appDir?: boolean
    }
  /** A fresh filesystem, always nosuid and nodev. */
  | {
      kind: 'fs'
      fsType: 'tmpfs' | 'devpts' | 'mqueue' | 'proc' | 'sysfs'
      target: string
      data: string
      noexec: boolean
      readOnly?: boolean
      ownedByApp?: boolean
    }
  | {kind: 'symlink'; target: string; to: string}

/** A host device node shown inside the app's /dev (the device allow-list is enforced elsewhere). */
export interface DeviceBind {
  host: string
  container: string
}

/** Docker's device set, bound from the host's nodes into a fresh /dev. */
export const DEFAULT_DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty']

/** Host secrets inside /etc that no app needs: an empty /dev/null in their place. */
const MASKED_FILES = ['/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-']

/** What the view needs to know about the host; injectable for tests. */
export interface ViewHost {
  /** 'dir', 'file', 'symlink' (with its target) or undefined when absent; never follows a link. */
  entry(path: string): {type: 'dir' | 'file' | 'symlink' | 'other'; link?: string} | undefined
  /** The path with every symlink resolved, or undefined when it does not exist. */
  realpath(path: string): string | undefined
  /** The first bytes of a file (for its #! line), '' when unreadable. */
  head(path: string): string
  /** The names in a directory, [] when unreadable. */
  list(path: string): string[]
  /** The names of the symbolic links in a directory (one readdir, no lstat each). */
  links(path: string): string[]
  /** The terminal on stdin (/dev/pts/N), bound as /dev/console; undefined without one. */
  terminal?: string
  /** Where contain's own code lives when root runs it: an app must not be able to change it. */
  rootsCode?: string
}

export const hostView = (): ViewHost => ({
  rootsCode: process.getuid?.() === 0 ? packageRoot() : undefined,
  entry(path) {
    const stat = lstatSync(path, {throwIfNoEntry: false})
    if (!stat) return undefined
    if (stat.isSymbolicLink()) return {type: 'symlink', link: readlinkSync(path)}
    return {type: stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : 'other'}
  },
  realpath(path) {
    try {
      return realpathSync(path)
    } catch {
      return undefined
    }
  },
  head(path) {
    let fd: number | undefined
    try {
      fd = openSync(path, 'r')
      const buffer = Buffer.alloc(256)
      return buffer.toString('latin1', 0, readSync(fd, buffer, 0, 256, 0))
    } catch {
      return ''
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
  },
  list(path) {
    try {
      return readdirSync(path)
    } catch {
      return []
    }
  },
  links(path) {
    try {
      return readdirSync(path, {withFileTypes: true})
        .filter(entry => entry.isSymbolicLink())
        .map(entry => entry.name)
    } catch {
      return []
    }
  },
  // Not process.stdin.isTTY: that getter builds a stream (and loads its modules) at every launch.
  terminal: terminalOfStdin(),
})

function terminalOfStdin(): string | undefined {
  try {
    const path = readlinkSync('/proc/self/fd/0')
    return /^\/dev\/(pts\/\d+|tty\w*)$/.test(path) ? path : undefined
  } catch {
    return undefined
  }
}

/** Path components: parents are mounted before what is below them (Docker sorts mounts the same way). */
const depth = (path: string) => path.split('/').filter(Boolean).length

/**
 * Parents before children (a working directory below a tmpfs stays visible), in plan order
 * otherwise: the steps grouped by depth, which is a stable sort without a comparator. A
 * comparator sort of some forty steps cost a launch a millisecond in code that runs cold.
 */
function parentsFirst(steps: ViewStep[]): ViewStep[] {
  const byDepth: ViewStep[][] = []
  for (const step of steps) (byDepth[depth(step.target)] ??= []).push(step)
  const ordered: ViewStep[] = []
  for (const group of byDepth) if (group) ordered.push(...group)
  return ordered
}

/** Where a program lives: the prefix above its bin/ (an rbenv or asdf Ruby needs its lib/ too), else its directory. */
function programDir(file: string): string {
  const dir = dirname(file)
  const parent = dirname(dir)
  const isHome = parent === '/root' || (dirname(parent) === '/home' && depth(parent) === 2)
  return (basename(dir) === 'bin' || basename(dir) === 'sbin') && parent !== '/' && !isHome ? parent : dir
}

/** A program as execvp finds it: a path (from the working directory), or the first match on PATH. */
function locate(program: string, pathVariable: string, workdir: string, host: ViewHost): string | undefined {
  if (program.includes('/')) return host.realpath(resolve(workdir, program))
  for (const dir of pathVariable.split(':')) {
    if (!dir) continue
    // lstat first: realpath of a missing file throws, and exceptions cost at every launch.
    const candidate = join(resolve(workdir, dir), program)
    if (!host.entry(candidate)) continue
    const found = host.realpath(candidate)
    if (found && host.entry(found)?.type === 'file') return found
  }
  return undefined
}

/**
 * The command's file and its interpreters, resolved (`#!/usr/bin/env ruby` through PATH), at
 * most three levels deep: the directories that must be in the view for the command to start.
 */
export function commandFiles(options: Pick<RunOptions, 'command' | 'env' | 'workdir'>, host: ViewHost): string[] {
  const pathVariable = options.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'
  const files: string[] = []
  let next: string | undefined = locate(options.command[0], pathVariable, options.workdir, host)
  for (let level = 0; next && level < 3 && !files.includes(next); level++) {
    files.push(next)
    const shebang = /^#!\s*(\S+)(?:[ \t]+(\S+))?(?:[ \t]+(\S+))?/.exec(host.head(next).split('\n')[0])
    if (!shebang) break
    const [, interpreter, first, second] = shebang
    const viaEnv = basename(interpreter) === 'env'
    if (viaEnv) files.push(...[host.realpath(interpreter)].filter((file): file is string => file !== undefined))
    const program = viaEnv ? (first === '-S' ? second : first) : interpreter
    next = program ? locate(program, pathVariable, options.workdir, host) : undefined
  }
  return files
}

export interface ViewPlan {
  steps: ViewStep[]
  /** Host paths the app sees, for the hints when something it needs is outside them. */
  visible: string[]
  warnings: string[]
}

/**
 * The whole view, in mount order. Only the app's own directories (working directory, volumes,
 * writable paths) take new mount points (created there by contain); every other bind is read-only
 * or final as soon as it is made, so nothing is ever created in a host directory shown read-only.
 * `devices` are extra host device nodes (--device, devices:) shown in /dev: the device allow-list
 * slice passes them here.
 */
export function planView(options: RunOptions, host: ViewHost, devices: DeviceBind[] = []): ViewPlan {
  const has = (namespace: string) => options.namespaces.includes(namespace as never)
  const userns = has('user')
  const steps: ViewStep[] = []
  const warnings: string[] = []
  const visible: string[] = []
  const covered = (path: string) => visible.some(dir => isUnder(path, dir))

  // 1. The system directories, read-only; merged-/usr links stay links.
  for (const dir of SYSTEM_DIRS) {
    const entry = host.entry(dir)
    if (entry?.type === 'symlink' && entry.link) steps.push({kind: 'symlink', target: dir, to: entry.link})
    else if (entry?.type === 'dir') {
      steps.push({kind: 'bind', source: dir, target: dir, readOnly: true, suid: true, recursive: userns})
      visible.push(dir)
    }
  }
  // The working directory: the app's own, writable unless read_only. Never the host's / itself.
  const workdir = options.workdir
  if (workdir === '/') warnings.push('the working directory is /: the app gets no directory of its own in its view; give -w/working_dir')
  else {
    steps.push({kind: 'bind', source: host.realpath(workdir) ?? workdir, target: workdir, readOnly: options.readOnly, appDir: true})
    visible.push(workdir)
  }
  for (const volume of options.volumes) {
    steps.push({kind: 'bind', source: volume.source, target: volume.target, readOnly: volume.readOnly, recursive: userns, appDir: true})
    visible.push(volume.target)
  }
  // The command and its interpreter where they live outside the rest (an rbenv Ruby in a home directory).
  const programs = commandFiles(options, host)
  for (const file of programs) {
    const dir = programDir(file)
    if (covered(file)) continue
    steps.push({kind: 'bind', source: dir, target: dir, readOnly: true})
    visible.push(dir)
  }
  // Where a Ruby finds its gems outside /usr: Debian's `gem install` target, and GEM_HOME/GEM_PATH.
  if (programs.some(file => /^ruby/.test(basename(file)))) {
    const gemDirs = [
      '/var/lib/gems',
      ...[options.env.GEM_HOME, ...(options.env.GEM_PATH ?? '').split(':')].filter((dir): dir is string => !!dir && isAbsolute(dir)),
    ]
    for (const dir of new Set(gemDirs)) {
      const real = host.realpath(dir)
      if (!real || covered(dir) || host.entry(real)?.type !== 'dir') continue
      steps.push({kind: 'bind', source: real, target: dir, readOnly: true})
      visible.push(dir)
    }
  }
  // --writable paths outside every bind come from the host (they exist there: options checked).
  for (const path of options.writable) {
    if (!covered(path)) {
      steps.push({kind: 'bind', source: host.realpath(path) ?? path, target: path, readOnly: false, appDir: true})
      visible.push(path)
    }
  }

  // 2. Private /tmp and /run (the app's own tmpfs: flags replace them), and a fresh /dev.
  const ownTmpfs = new Set(options.tmpfs.map(mount => mount.path))
  for (const path of ['/tmp', '/run']) if (!ownTmpfs.has(path)) steps.push({kind: 'fs', fsType: 'tmpfs', target: path, data: 'mode=1777', noexec: false})
  steps.push({kind: 'symlink', target: '/var/run', to: '../run'})
  steps.push(...devSteps(options, host, devices))
  for (const mount of options.tmpfs) {
    const data = ['mode=1777', ...(mount.sizeBytes === undefined ? [] : [`size=${mount.sizeBytes}`])].join(',')
    steps.push({kind: 'fs', fsType: 'tmpfs', target: mount.path, data, noexec: !mount.exec, ownedByApp: covered(mount.path)})
  }
  // Writable paths inside a read-only working directory or volume: their own mount, made while it is still writable.
  for (const path of options.writable)
    if (options.readOnly && covered(path)) steps.push({kind: 'bind', source: '.', target: path, readOnly: false, ownedByApp: true})

  // 3. Secrets masked in the host's /etc.
  const sshKeys = host
    .list('/etc/ssh')
    .filter(name => /^ssh_host_.*_key$/.test(name))
    .map(name => `/etc/ssh/${name}`)
  for (const path of [...MASKED_FILES, ...sshKeys])
    if (host.entry(path)?.type === 'file') steps.push({kind: 'bind', source: '/dev/null', target: path, readOnly: true})

  return {steps: parentsFirst(steps), visible, warnings: [...warnings, ...ownCodeWritable(steps, host), ...outsideLinks(workdir, visible, host)]}
}

/**
 * A writable bind that holds contain's own code (an app run from the root of contain's clone):
 * the app could rewrite what root runs at the next contain command. Said, not refused: it is
 * what a developer does in the clone, and `-w`/working_dir elsewhere ends it.
 */
function ownCodeWritable(steps: ViewStep[], host: ViewHost): string[] {
  const code = host.rootsCode
  if (code === undefined) return []
  const holder = steps.find(step => step.kind === 'bind' && step.appDir && !step.readOnly && isUnder(code, step.source))
  if (holder?.kind !== 'bind') return []
  return [
    `the app can write ${holder.source}, which holds contain's own code (${code}) that root runs: a compromised app could change what the next contain command does; give the app a directory of its own (-w/working_dir), or make this one read-only (--read-only, read_only: true)`,
  ]
}

/** A fresh /dev as Docker's: device nodes bound from the host, a devpts of its own, private shm and mqueue. */
function devSteps(options: RunOptions, host: ViewHost, devices: DeviceBind[]): ViewStep[] {
  const has = (namespace: string) => options.namespaces.includes(namespace as never)
  const steps: ViewStep[] = [{kind: 'fs', fsType: 'tmpfs', target: '/dev', data: 'mode=755,size=65536k', noexec: true}]
  for (const name of DEFAULT_DEVICES)
    if (host.entry(`/dev/${name}`)) steps.push({kind: 'bind', source: `/dev/${name}`, target: `/dev/${name}`, readOnly: false, devices: true})
  for (const device of devices) steps.push({kind: 'bind', source: device.host, target: device.container, readOnly: false, devices: true})
  // gid 5 (tty) is unmapped in a user namespace: there the pts belong to the app's own group.
  steps.push({kind: 'fs', fsType: 'devpts', target: '/dev/pts', data: `newinstance,ptmxmode=0666,mode=0620${has('user') ? '' : ',gid=5'}`, noexec: true})
  steps.push({kind: 'symlink', target: '/dev/ptmx', to: 'pts/ptmx'})
  if (host.terminal) steps.push({kind: 'bind', source: host.terminal, target: '/dev/console', readOnly: false, devices: true})
  steps.push({kind: 'fs', fsType: 'tmpfs', target: '/dev/shm', data: `mode=1777,size=${options.shmSizeBytes}`, noexec: true})
  // A mqueue filesystem shows the queues of the IPC namespace: the app's own, never the host's.
  if (has('ipc')) steps.push({kind: 'fs', fsType: 'mqueue', target: '/dev/mqueue', data: '', noexec: true})
  steps.push({kind: 'symlink', target: '/dev/fd', to: '/proc/self/fd'})
  for (const [index, name] of ['stdin', 'stdout', 'stderr'].entries()) steps.push({kind: 'symlink', target: `/dev/${name}`, to: `/proc/self/fd/${index}`})
  return steps
}

/** Symlinks at the top of the app's directory that point outside its view: each named, with the line to add. */
function outsideLinks(workdir: string, visible: string[], host: ViewHost): string[] {
  if (workdir === '/') return []
  const warnings: string[] = []
  for (const name of host.links(workdir)) {
    const entry = host.entry(join(workdir, name))
    if (entry?.type !== 'symlink' || !entry.link) continue
    const target = posix.normalize(isAbsolute(entry.link) ? entry.link : join(workdir, entry.link))
    if (visible.some(dir => isUnder(target, dir)) || ['/tmp', '/run', '/dev', '/proc', '/sys'].some(dir => isUnder(target, dir))) continue
    warnings.push(
      `${join(workdir, name)} points to ${target}, which is outside the app's view: add volumes: ["${target}:${target}"] (or -v ${target}:${target})`,
    )
  }
  return warnings
}

/** contain-init's --new-root arguments for the steps. */
export function viewArguments(view: ViewPlan, owner: {uid: number; gid: number} | undefined): string[] {
  const args = ['--new-root']
  if (owner) args.push('--view-owner', String(owner.uid), String(owner.gid))
  for (const step of view.steps) {
    if (step.kind === 'symlink') {
      args.push('--view-symlink', step.to, step.target)
      continue
    }
    const flags =
      step.kind === 'bind'
        ? [step.readOnly ? 'ro' : 'rw', step.recursive && 'rec', step.devices && 'dev', step.suid && 'suid', step.ownedByApp && 'own', step.appDir && 'late']
        : [step.noexec ? 'noexec' : 'exec', step.readOnly && 'ro', step.ownedByApp && 'own']
    const text = flags.filter(Boolean).join(',')
    if (step.kind === 'bind') args.push('--view-bind', text, step.source, step.target)
    else args.push('--view-fs', step.fsType, text, step.target, step.data)
  }
  return args
}
