import type {CgroupPlan, ViewMount} from '../cgroup/index.js'
import {capabilitiesToMask} from '../capabilities.js'
import {InvalidValueError} from '../errors.js'
import {compileDeviceProgram} from '../devices/ebpf.js'
import {unshareArguments, type Namespace} from '../namespaces.js'
import {LISTEN_BACKLOG, type ListenAddress} from './listen-address.js'
import type {RunOptions} from './options.js'
import {isUnder} from './view-paths.js'
import {hostView, planView, viewArguments, type DeviceBind, type ViewHost, type ViewPlan, type ViewStep} from './view.js'

/** The programs a launch runs before the app. */
export interface Executables {
  /** contain's native helper (native/contain-init.c). */
  init: string
  unshare: string
}

/** The file descriptor on which contain-init reports (see native/contain-init.c). */
export const STATUS_FD = 3
/** The file descriptor from which contain-init reads the compiled seccomp filter. */
export const SECCOMP_FD = 4
/** The file descriptor from which contain-init reads the app's environment (NUL-separated KEY=VALUE). */
export const ENV_FD = 5
/** The file descriptor from which contain-init `enter` reads the cgroup v2 device program (struct bpf_insn[]). */
export const DEVICES_FD = 6
/** The file descriptor on which contain-init enter --reap waits for contain's go: one byte once the app's cgroup is made. */
export const REAP_GO_FD = 7
/** contain-init enter closes every descriptor from here up: the chain gets only the ones below. */
export const FIRST_UNUSED_FD = 8
/**
 * The sockets of --listen reach contain-init at fds 8.. (one each, in order); enter's --close-from
 * moves above them, and `run` places them at fds 3.. of the app just before its exec.
 */
export const FIRST_LISTEN_FD = FIRST_UNUSED_FD

/**
 * The environment of the helpers (contain-init, unshare), which run as root before the app's
 * identity and filter apply: fixed, so an LD_PRELOAD or LD_LIBRARY_PATH of the app's never loads
 * into them. The app's own environment reaches only its execve, through ENV_FD.
 */
export const HELPER_ENV: Readonly<Record<string, string>> = Object.freeze({PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'})

/** The app's environment as contain-init reads it on ENV_FD; execve could not carry a NUL inside an entry either. */
export function encodeEnvironment(env: Record<string, string>): Buffer {
  const entries = Object.entries(env).map(([key, value]) => `${key}=${value}`)
  const broken = entries.find(entry => entry.includes('\0'))
  if (broken !== undefined)
    throw new InvalidValueError('--env', broken.replace(/\0/g, '\\0'), 'holds a NUL byte, which no environment can carry', 'remove the NUL from the variable')
  return Buffer.from(entries.map(entry => `${entry}\0`).join(''))
}

/**
 * contain-init enter's own flags: report on STATUS_FD, close what the chain does not need, and
 * (for a launch, not for `exec`, which joins an app that has it already) attach the device
 * program and start the reaper (`reap`, from reaperArguments).
 */
export function enterArguments(
  cgroup: Pick<CgroupPlan, 'cloneInto' | 'attachFiles'>,
  deviceProgram?: CgroupPlan['deviceProgram'],
  reap: string[] = [],
  listenCount = 0,
): string[] {
  const devices = deviceProgram ? ['--devices-fd', String(DEVICES_FD), '--devices-cgroup', deviceProgram.cgroup] : []
  return [
    'enter',
    '--status-fd',
    String(STATUS_FD),
    '--close-from',
    String(FIRST_LISTEN_FD + listenCount),
    ...devices,
    ...reap,
    ...cloneIntoArguments(cgroup),
    ...cgroup.attachFiles,
  ]
}

/**
 * What the reaper removes if contain's process dies without removing the app's cgroup itself
 * (SIGKILL, OOM kill of contain). It is started before the cgroup is made, and contain sends its
 * go on REAP_GO_FD once the cgroup is made (see startApp). Every directory of the app's cgroup, then the undo of a v2
 * delegation on a root cgroup (the controllers contain enabled). The reaper waits in contain's
 * own cgroup, so where contain has moved itself into a delegation leaf there is none: it would
 * keep the leaf busy, and that cgroup was delegated by a service manager (systemd, Delegate=yes),
 * which removes the whole tree when contain's unit ends.
 */
export function reaperArguments(cgroup: Pick<CgroupPlan, 'dirs' | 'delegation'>, depth = 3): string[] {
  if (cgroup.dirs.length === 0 || cgroup.delegation?.leafDir !== undefined) return []
  // Each app directory is <own cgroup>/contain/<scope>/<app> (`depth` 3; a supervised app's
  // instance is one deeper): the reaper opens the own cgroup (it exists) and finds the rest once
  // contain has made it, removing the parents too when empty.
  const args = [
    ...cgroup.dirs.flatMap(dir => {
      const parts = dir.split('/')
      return ['--reap', parts.slice(0, -depth).join('/'), parts.slice(-depth).join('/')]
    }),
    '--reap-go-fd',
    String(REAP_GO_FD),
  ]
  const delegation = cgroup.delegation
  if (delegation) args.push('--reap-write', `${delegation.ownDir}/cgroup.subtree_control`, delegation.enable.map(controller => `-${controller}`).join(' '))
  return args
}

/** One app's launch, fully decided: what to write to cgroupfs and what to execute. */
export interface LaunchPlan {
  name: string
  namespaces: Namespace[]
  cgroup: CgroupPlan
  argv: string[]
  env: Record<string, string>
  /** struct sock_filter[] for the app, written to SECCOMP_FD; absent when unconfined. */
  seccompFilter?: Buffer
  /** contain-init options for the app process itself (identity, capabilities, seccomp, directory): `contain exec` applies the same. */
  appArguments: string[]
  /** Host directories the app sees empty (contain's state: supervisors' control sockets); they must exist before the launch. */
  hiddenPaths: string[]
  /** struct bpf_insn[] of the cgroup v2 device program, written to DEVICES_FD; absent on v1 (devices.* files) or without restriction. */
  deviceProgram?: Buffer
  /**
   * DEVICE BINDS: the --device nodes to bind into the app's /dev, host node -> path in the app.
   * The contained view binds them all into its fresh /dev; with view host the app shares the
   * host's /dev, so only a node wanted at another path is bound (over an existing node).
   */
  deviceBinds: DeviceBind[]
  /** The app's filesystem view: absent with view host. */
  view?: ViewPlan
  /** Sockets bound before the launch (by `run`, or once by the supervisor) and passed at FIRST_LISTEN_FD.. */
  listen: ListenAddress[]
  /** The paths and user the configuration gave, so that a setup failure names the setting at fault (setup-failure.ts). */
  configuredPaths?: ConfiguredPaths
  /**
   * `argv` without the reaper, for a later run into the same cgroup (a supervisor's restart): the
   * reaper the first run started watches the cgroup for as long as contain runs. Absent: `argv`.
   */
  restartArgv?: string[]
}

/** Where each path the app's setup makes or enters came from. */
export interface ConfiguredPaths {
  workdir: string
  volumes: string[]
  tmpfs: string[]
  writable: string[]
  user?: {uid: number; gid: number}
}

/**
 * Capability sets as masks: an app running as root gets its set as bounding, permitted and
 * effective; a non-root app keeps the set as bounding only, plus the capabilities granted with
 * --cap-add as ambient ones (which need them inheritable and permitted too).
 */
function securityArguments(options: RunOptions, withSeccomp: boolean): string[] {
  const {capabilities, grantedToNonRoot, noNewPrivileges} = options.security
  const hex = (mask: bigint) => mask.toString(16)
  const bounding = capabilitiesToMask(capabilities)
  const runsAsRoot = (options.user?.uid ?? 0) === 0
  const granted = runsAsRoot ? bounding : capabilitiesToMask(grantedToNonRoot)
  const inherited = runsAsRoot ? 0n : granted
  const args = [
    '--caps-bounding',
    hex(bounding),
    '--caps-permitted',
    hex(granted),
    '--caps-effective',
    hex(granted),
    '--caps-inheritable',
    hex(inherited),
    '--caps-ambient',
    hex(inherited),
  ]
  if (noNewPrivileges) args.push('--no-new-privs')
  if (withSeccomp) args.push('--seccomp-fd', String(SECCOMP_FD))
  return args
}

/**
 * Docker's readonlyPaths and maskedPaths. A fresh /proc is writable by a root app, and /proc/sys
 * holds host-wide settings: kernel.core_pattern alone would let the app run a program as root on
 * the host. Read-only: /proc/sys and the other directories of host settings; masked: files that
 * leak host memory and timers (/dev/null over a file, an empty tmpfs over a directory).
 */
export const PROC_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']
export const PROC_MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/scsi',
  '/proc/sched_debug',
  '/proc/timer_list',
  '/proc/timer_stats',
]
/** Docker's maskedPaths below /sys: the firmware's tables (ACPI, EFI variables) and the power meters (RAPL energy counters leak what other tenants compute). */
export const SYS_MASKED_PATHS = ['/sys/firmware', '/sys/devices/virtual/powercap']

/** Host facts the plan depends on, injectable for tests. */
export interface PlanHost {
  /** Directories the app sees empty (contain's state: supervisors' control sockets). */
  hiddenPaths?: string[]
  /** Whether a /proc or /sys path exists on this kernel (a mount over a missing one would fail). */
  procEntry?: (path: string) => 'file' | 'directory' | undefined
  /** The host as the contained view reads it (default: this host). */
  view?: ViewHost
}

function procMounts(options: RunOptions, procEntry: NonNullable<PlanHost['procEntry']>): ViewMount[] {
  if (!options.namespaces.includes('mount') || options.security.privileged) return []
  const readOnly = PROC_READONLY_PATHS.filter(path => procEntry(path)).map((path): ViewMount => ({fsType: 'bind', target: path, data: path}))
  const masked = [...PROC_MASKED_PATHS, ...SYS_MASKED_PATHS].flatMap((path): ViewMount[] => {
    const kind = procEntry(path)
    return kind === 'file' ? [{fsType: 'bind', target: path, data: '/dev/null'}] : kind === 'directory' ? [{fsType: 'tmpfs', target: path, data: 'mode=0'}] : []
  })
  return [...readOnly, ...masked]
}

function initArguments(
  options: RunOptions,
  cgroup: CgroupPlan,
  seccompFilter: Buffer | undefined,
  hiddenPaths: string[],
  procEntry: NonNullable<PlanHost['procEntry']>,
  view: ViewPlan | undefined,
): string[] {
  const args = ['run', '--status-fd', String(STATUS_FD)]
  // The new root is built first; every mount below is then made inside it.
  if (view) args.push(...viewArguments(view, options.user))
  if (options.namespaces.includes('pid') && !view) args.push('--mount-proc')
  if (options.hostname !== undefined) args.push('--hostname', options.hostname)
  if (options.namespaces.includes('net')) args.push('--loopback-up')
  if (!view) {
    if (options.readOnly) args.push('--readonly-root')
    for (const mount of options.tmpfs) args.push('--tmpfs', mount.exec ? 'exec' : 'noexec', mount.path)
    for (const path of options.writable) args.push('--writable', path)
  }
  const sys = viewMounts(options, cgroup).filter(mount => !(view && (mount.fsType === 'bind' || mount.fsType === 'rbind' || mount.fsType === 'sysfs')))
  for (const mount of [...sys, ...procMounts(options, procEntry), ...hidingMounts(options, hiddenPaths), ...(view ? [] : deviceMounts(options))])
    args.push('--mount', mount.fsType, mount.target, mount.data)
  return [...args, ...appArguments(options, seccompFilter), ...listenArguments(options.listen)]
}

/** systemd's socket activation: N sockets at FIRST_LISTEN_FD.., named in LISTEN_FDNAMES (':'-separated, as sd_listen_fds_with_names reads it). */
function listenArguments(listen: ListenAddress[]): string[] {
  if (listen.length === 0) return []
  return ['--listen-fds', String(listen.length), '--listen-backlog', String(LISTEN_BACKLOG), '--listen-fdnames', listen.map(address => address.name).join(':')]
}

/**
 * The contained view, with /proc and /sys: made while the host's tree is still attached, because
 * in a user namespace the kernel mounts a fresh proc or sysfs only where a full one is visible.
 * /sys is bound from the host in the host's network namespace; /proc when the app shares the host's pids.
 */
function containedView(options: RunOptions, cgroup: CgroupPlan, host: PlanHost): ViewPlan {
  const view = planView(options, host.view ?? hostView(), options.devices)
  const extra: ViewStep[] = viewMounts(options, cgroup).flatMap((mount): ViewStep[] => {
    if (mount.fsType === 'sysfs') return [{kind: 'fs', fsType: 'sysfs', target: mount.target, data: '', noexec: true, readOnly: true}]
    if (mount.fsType === 'bind' || mount.fsType === 'rbind')
      return [{kind: 'bind', source: mount.data, target: mount.target, readOnly: true, recursive: mount.fsType === 'rbind'}]
    return []
  })
  if (options.namespaces.includes('pid')) extra.push({kind: 'fs', fsType: 'proc', target: '/proc', data: '', noexec: true})
  else extra.push({kind: 'bind', source: '/proc', target: '/proc', readOnly: false, recursive: true})
  // Top-level mount points: after the system directories, before anything deeper.
  const at = view.steps.findIndex(step => step.target.split('/').filter(Boolean).length > 1)
  view.steps.splice(at === -1 ? view.steps.length : at, 0, ...extra)
  return view
}

/** How the app process itself is confined; the same for `run` and `exec`. */
function appArguments(options: RunOptions, seccompFilter: Buffer | undefined): string[] {
  const args = [...securityArguments(options, seccompFilter !== undefined), '--env-fd', String(ENV_FD), '--chdir', options.workdir]
  if (options.user) {
    args.push('--uid', String(options.user.uid), '--gid', String(options.user.gid))
    if (options.user.groups.length > 0) args.push('--groups', options.user.groups.join(','))
  }
  return args
}

/**
 * /sys read-only, as Docker shows it: a fresh sysfs shows the app its own network namespace; in
 * the host's network namespace the kernel refuses a second sysfs on /sys, so it is a bind of /sys
 * without its submounts. Either way /sys/fs/cgroup becomes a plain directory, on which fresh
 * cgroupfs mounts show the app its own cgroup. A user namespace may bind /sys only with its
 * submounts, and may never mount cgroup v1: there the app keeps the host's cgroupfs view.
 */
function viewMounts(options: RunOptions, cgroup: CgroupPlan): ViewMount[] {
  const has = (namespace: Namespace) => options.namespaces.includes(namespace)
  if (!has('mount')) return []
  if (has('user') && !has('net')) return [{fsType: 'rbind', target: '/sys', data: '/sys'}]
  const sys: ViewMount = has('net') ? {fsType: 'sysfs', target: '/sys', data: ''} : {fsType: 'bind', target: '/sys', data: '/sys'}
  const ownCgroupView = has('cgroup') && !(has('user') && cgroup.mode !== 'v2')
  return [sys, ...(ownCgroupView ? cgroup.viewMounts : [])]
}

/**
 * An empty read-only tmpfs over each hidden path. The app shares the host's filesystem, and a
 * root app (DAC_OVERRIDE) could otherwise connect to any supervisor's control socket and stop
 * or inspect other apps. Needs the mount namespace; without it the app sees the host as it is.
 */
function hidingMounts(options: RunOptions, hiddenPaths: string[]): ViewMount[] {
  if (!options.namespaces.includes('mount')) return []
  return hiddenPaths.map(path => ({fsType: 'tmpfs', target: path, data: 'mode=0'}))
}

/** The host's /dev is the app's today: a device is bound only where the app should see it elsewhere. */
function deviceMounts(options: RunOptions): ViewMount[] {
  if (!options.namespaces.includes('mount')) return []
  return options.devices.filter(device => device.container !== device.host).map(device => ({fsType: 'device', target: device.container, data: device.host}))
}

/** contain-init enter's options that attach the device program to the app's v2 cgroup before anything runs in it. */
/** contain-init enter's flag for a v2 cgroup that the launcher is born into rather than moved into. */
export function cloneIntoArguments(cgroup: Pick<CgroupPlan, 'cloneInto'>): string[] {
  return cgroup.cloneInto ? ['--clone-into', cgroup.cloneInto] : []
}

/**
 * The launch sequence as one argv: join the app's cgroup (so the app is inside it before its
 * first instruction and the cgroup namespace is rooted there), unshare the namespaces, then
 * contain-init forks PID 1, which prepares mounts and hostname and execs the app.
 */
export function planLaunch(options: RunOptions, cgroup: CgroupPlan, executables: Executables, seccompFilter?: Buffer, host: PlanHost = {}): LaunchPlan {
  // A fresh tmpfs already hides what was below it, and the path to hide is not there to mount on.
  const coveredByTmpfs = (path: string) => options.tmpfs.some(tmpfs => isUnder(path, tmpfs.path))
  const view = options.view === 'contained' ? containedView(options, cgroup, host) : undefined
  // In the contained view only what it shows of the host needs hiding.
  const inView = (path: string) => !view || view.visible.some(dir => isUnder(path, dir))
  const hidden = options.namespaces.includes('mount') ? [...new Set(host.hiddenPaths ?? [])].filter(path => !coveredByTmpfs(path) && inView(path)) : []
  const procEntry = host.procEntry ?? (() => undefined)
  const chain = [
    '--',
    executables.unshare,
    ...unshareArguments(options.namespaces),
    '--',
    executables.init,
    ...initArguments(options, cgroup, seccompFilter, hidden, procEntry, view),
    '--',
    ...options.command,
  ]
  const reap = reaperArguments(cgroup)
  const argv = [executables.init, ...enterArguments(cgroup, cgroup.deviceProgram, reap, options.listen.length), ...chain]
  const restartArgv = reap.length > 0 ? [executables.init, ...enterArguments(cgroup, cgroup.deviceProgram, [], options.listen.length), ...chain] : undefined
  const deviceProgram = cgroup.deviceProgram ? compileDeviceProgram(cgroup.deviceProgram.rules) : undefined
  const deviceBinds = options.devices.map(({host, container}) => ({host, container}))
  const configuredPaths: ConfiguredPaths = {
    workdir: options.workdir,
    volumes: options.volumes.map(volume => volume.target),
    tmpfs: options.tmpfs.map(mount => mount.path),
    writable: options.writable,
    user: options.user && {uid: options.user.uid, gid: options.user.gid},
  }
  return {
    name: options.name,
    namespaces: options.namespaces,
    cgroup,
    argv,
    env: options.env,
    seccompFilter,
    appArguments: appArguments(options, seccompFilter),
    hiddenPaths: hidden,
    deviceProgram,
    deviceBinds,
    view,
    configuredPaths,
    listen: options.listen,
    restartArgv,
  }
}
