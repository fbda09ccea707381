/**
 * The one resolver of an app's options: values as the user wrote them (flags from the command
 * line, or contain.yml's values, by option id) into validated RunOptions. Every message names an
 * option through the OptionNaming it is given (`--memory`, or `mem_limit`), and every
 * InvalidValueError leaves here with a ref to its option, so contain.yml's loader can point at
 * the value. It reads the host (paths, users, env files) but creates, writes and starts nothing.
 *
 * About 410 lines for one reason: every option's cross-checks (memory against reservation and
 * swap, namespaces against user, tmpfs targets against volumes and the working directory) read the others' values here.
 */
import {lstatSync, realpathSync, statSync} from 'node:fs'
import {basename, isAbsolute, join, resolve} from 'node:path'
import type {CgroupLimits} from '../cgroup/limits.js'
import {parseDevice} from '../devices/parse.js'
import {FileError, InvalidValueError} from '../errors.js'
import {appEnvironment} from '../launch/environment.js'
import {parseListenAddresses} from '../launch/listen-address.js'
import type {HostFacts, RunOptions, TmpfsMount, ViewMode, Volume} from '../launch/options.js'
import {resolveSecurity} from '../launch/security.js'
import {chooseUser, passwdEntryOf} from '../launch/user.js'
import {DEFAULT_SHM_BYTES, SYSTEM_DIRS, isUnder} from '../launch/view-paths.js'
import {DEFAULT_NAMESPACES, parseNamespaces, type Namespace} from '../namespaces.js'
import {APP_NAME_RULE, ENV_KEY_PATTERN, isAppName} from '../names.js'
import {flagNaming, type OptionNaming} from './naming.js'
import {RUN_OPTIONS, type OptionInput} from './schema.js'
import {parseCpuList, parseCpus, parseInteger, parseMemoryLimit, parseSize, parseSwapLimit} from './units.js'

/** How an option id reads in a message (OptionNaming.name). */
type Name = (id: string) => string

/** A directory that cannot be stat'ed counts as root's: the app then runs as root only with the warning (and chdir reports the path). */
function ownerOf(path: string): {uid: number; gid: number} {
  const stat = statSync(path, {throwIfNoEntry: false})
  return {uid: stat?.uid ?? 0, gid: stat?.gid ?? 0}
}

const HOSTNAME_PATTERN = /^(?=.{1,64}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/
const CPU_PERIOD_MICROS = 100_000

function defaultName(command: string[]): string {
  const base =
    basename(command[0] ?? 'app')
      .replace(/[^a-zA-Z0-9_.-]/g, '')
      .replace(/^[^a-zA-Z0-9]+/, '') || 'app'
  // Only has to differ from other runs' names, not be secret: Math.random (seeded afresh in each
  // process) gives the same 24 bits as random bytes, without loading node:crypto at every launch.
  const suffix = Math.floor(Math.random() * 0x1000000)
    .toString(16)
    .padStart(6, '0')
  return `${base.slice(0, 48)}-${suffix}`
}

function parseName(n: Name, text: string): string {
  // No "..", as in contain.yml: a name is a path component of cgroups, logs and state.
  if (!isAppName(text)) {
    throw new InvalidValueError(n('name'), text, 'not a valid name', APP_NAME_RULE)
  }
  return text
}

function parseLimits(n: Name, raw: OptionInput, host: HostFacts): CgroupLimits {
  const limits: CgroupLimits = {}
  if (raw.cpus !== undefined) {
    const cpus = parseCpus(n('cpus'), raw.cpus, host.cpus)
    limits.cpuQuotaMicros = Math.round(cpus * CPU_PERIOD_MICROS)
    limits.cpuPeriodMicros = CPU_PERIOD_MICROS
  }
  if (raw['cpu-shares'] !== undefined) {
    limits.cpuShares = parseInteger(n('cpu-shares'), raw['cpu-shares'], 2, 262_144, 'use a weight from 2 to 262144 (1024 is the default)')
  }
  if (raw['cpuset-cpus'] !== undefined) limits.cpusetCpus = parseCpuList(n('cpuset-cpus'), raw['cpuset-cpus'], host.cpus)
  if (raw.memory !== undefined) limits.memoryBytes = parseMemoryLimit(n('memory'), raw.memory)
  if (raw['memory-swap'] !== undefined) {
    if (limits.memoryBytes === undefined) {
      throw new InvalidValueError(n('memory-swap'), raw['memory-swap'], `needs ${n('memory')}`, `add ${n('memory')}, or leave ${n('memory-swap')} out`)
    }
    const swap = parseSwapLimit(n('memory-swap'), raw['memory-swap'])
    if (swap !== 'unlimited' && swap < limits.memoryBytes) {
      throw new InvalidValueError(
        n('memory-swap'),
        raw['memory-swap'],
        `is the limit of memory plus swap, so it must be at least ${n('memory')}`,
        `use a size at least as large as ${n('memory')}, or -1 for unlimited swap`,
      )
    }
    limits.memorySwapBytes = swap
  }
  if (raw['memory-reservation'] !== undefined) {
    const reservation = parseSize(n('memory-reservation'), raw['memory-reservation'])
    if (limits.memoryBytes !== undefined && reservation > limits.memoryBytes) {
      throw new InvalidValueError(n('memory-reservation'), raw['memory-reservation'], `must not exceed ${n('memory')}`, `use a size below ${n('memory')}`)
    }
    limits.memoryReservationBytes = reservation
  }
  if (raw['pids-limit'] !== undefined) {
    const pids = parseInteger(n('pids-limit'), raw['pids-limit'], -1, 4_194_304, 'use a positive number of processes, or -1 for unlimited')
    limits.pidsMax = pids <= 0 ? 'unlimited' : pids
  }
  return limits
}

function parseNamespaceSet(n: Name, raw: OptionInput): Namespace[] {
  const namespaces = new Set(raw.namespaces === undefined ? DEFAULT_NAMESPACES : parseNamespaces(n('namespaces'), raw.namespaces))
  if (raw.network !== undefined) {
    if (raw.network !== 'host' && raw.network !== 'none') {
      throw new InvalidValueError(n('network'), raw.network, 'unknown network mode', 'use host (share the host network) or none (loopback only)')
    }
    if (raw.network === 'host' && namespaces.has('net')) {
      throw new InvalidValueError(
        n('network'),
        raw.network,
        `conflicts with the net namespace in ${n('namespaces')}`,
        `use ${n('network')} none, or drop net from ${n('namespaces')}`,
      )
    }
    if (raw.network === 'none') namespaces.add('net')
  }
  if (raw.userns) namespaces.add('user')
  return [...namespaces]
}

function requireNamespace(n: Name, namespaces: Namespace[], needed: Namespace, flag: string, value: unknown): void {
  if (!namespaces.includes(needed)) {
    throw new InvalidValueError(
      flag,
      value,
      `needs the ${needed} namespace, which ${n('namespaces')} turned off`,
      `add ${needed} back to ${n('namespaces')}, or leave ${flag} out`,
    )
  }
}

function parseDirectory(flag: string, text: string, cwd: string): string {
  const path = resolve(cwd, text)
  let isDirectory = false
  try {
    isDirectory = statSync(path).isDirectory()
  } catch {
    // Reported below with the fix.
  }
  if (!isDirectory) throw new InvalidValueError(flag, text, 'is not an existing directory', 'create the directory first, or give another path')
  return path
}

function parseMountPath(flag: string, text: string, mustExist = true): string {
  if (!isAbsolute(text)) throw new InvalidValueError(flag, text, 'must be an absolute path', `write it from /, e.g. ${flag} /tmp`)
  if (text.split('/').some(part => part === '..')) throw new InvalidValueError(flag, text, 'must not hold ..', 'write the path without ..')
  return mustExist ? parseDirectory(flag, text, '/') : resolve(text)
}

function parseView(n: Name, text: string | undefined, namespaces: Namespace[]): ViewMode {
  if (text === undefined) return namespaces.includes('mount') ? 'contained' : 'host'
  if (text !== 'contained' && text !== 'host')
    throw new InvalidValueError(
      n('view'),
      text,
      'unknown view',
      "use contained (a filesystem built for the app: the default) or host (the host's filesystem as it is)",
    )
  if (text === 'contained') requireNamespace(n, namespaces, 'mount', n('view'), text)
  return text
}

/** Directories of the contained view in which no mount point can be made: read-only binds of the host, and the kernel's own filesystems. */
const FIXED_VIEW_DIRS = [...SYSTEM_DIRS, '/proc', '/sys']

/**
 * Mounts that could only fail at every start, refused at plan time with the reason: a tmpfs that
 * would hide the app's own directory or a volume, and a mount point that does not exist inside a
 * directory the view shows read-only (contain-init could not create it there).
 */
function checkMountTargets(n: Name, raw: OptionInput, view: ViewMode, workdir: string, volumes: Volume[], tmpfs: TmpfsMount[]): void {
  for (const [index, mount] of tmpfs.entries()) {
    const text = raw.tmpfs?.[index]
    // The host view mounts the tmpfs over the host's tree: the directory below it is gone for the app.
    if (view === 'host' && workdir !== '/' && isUnder(workdir, mount.path)) {
      throw new InvalidValueError(
        n('tmpfs'),
        text,
        `hides the working directory ${workdir}, which is below it, in the host view`,
        `leave ${n('view')} host out (the contained view keeps the directory visible), or mount the tmpfs elsewhere`,
      )
    }
    if (view === 'contained' && mount.path === workdir) {
      throw new InvalidValueError(
        n('tmpfs'),
        text,
        `is the working directory itself, and would hide the app's own files`,
        'mount the tmpfs at a directory inside it (e.g. tmp/pids), or leave it out',
      )
    }
    const volume = volumes.find(candidate => candidate.target === mount.path)
    if (volume)
      throw new InvalidValueError(
        n('tmpfs'),
        text,
        `is also the target of the volume ${volume.source}:${volume.target}, which it would hide`,
        'give the tmpfs or the volume another path',
      )
  }
  if (view !== 'contained') return
  const ownDirs = [workdir, ...volumes.map(volume => volume.target)].filter(dir => dir !== '/')
  const targets = [
    ...volumes.map((volume, index) => ({flag: n('volume'), text: raw.volume?.[index], path: volume.target})),
    ...tmpfs.map((mount, index) => ({flag: n('tmpfs'), text: raw.tmpfs?.[index], path: mount.path})),
  ]
  for (const {flag, text, path} of targets) {
    const fixed = FIXED_VIEW_DIRS.find(dir => path !== dir && isUnder(path, dir))
    if (!fixed || ownDirs.some(dir => dir !== path && isUnder(path, dir)) || lstatSync(path, {throwIfNoEntry: false})) continue
    throw new InvalidValueError(
      flag,
      text,
      `the mount point ${path} does not exist, and ${fixed} is read-only in the app's view, so contain cannot create it`,
      "choose a path that exists there, one inside the app's own directory, or one in a new top-level directory such as /srv/data",
    )
  }
}

/** Docker's --tmpfs PATH[:OPTIONS]: exec / noexec, size=SIZE. */
function parseTmpfs(n: Name, text: string, view: ViewMode): TmpfsMount {
  const separator = text.indexOf(':')
  const path = parseMountPath(n('tmpfs'), separator === -1 ? text : text.slice(0, separator), view === 'host')
  const mount: TmpfsMount = {path, exec: false}
  for (const option of separator === -1 ? [] : text.slice(separator + 1).split(',')) {
    if (option === 'exec' || option === 'noexec') mount.exec = option === 'exec'
    else if (option.startsWith('size=')) mount.sizeBytes = parseSize(n('tmpfs'), option.slice(5))
    else if (option !== 'rw' && option !== 'nosuid' && option !== 'nodev')
      throw new InvalidValueError(n('tmpfs'), text, `unknown option ${JSON.stringify(option)}`, 'use PATH, PATH:exec (programs on it may run) or PATH:size=64m')
  }
  return mount
}

/** docker's -v HOST:CONTAINER[:ro|rw]; HOST absolute or relative (./) to the directory the flag is read in. */
function parseVolume(n: Name, text: string, cwd: string, home: string | undefined): Volume {
  const parts = text.split(':')
  const fix = 'write HOST:CONTAINER[:ro|rw], e.g. -v ./data:/srv/data:ro (HOST starts with /, ./, ../ or ~)'
  if (parts.length < 2 || parts.length > 3 || parts.some(part => part === ''))
    throw new InvalidValueError(n('volume'), text, 'needs a host path and a container path', fix)
  const [source, target, mode = 'rw'] = parts
  if (!/^(\/|\.\/|\.\.\/|\.$|\.\.$|~\/|~$)/.test(source))
    throw new InvalidValueError(n('volume'), text, `${JSON.stringify(source)} is a named volume, and contain has none`, fix)
  if (!isAbsolute(target))
    throw new InvalidValueError(
      n('volume'),
      text,
      `the container path ${JSON.stringify(target)} must be absolute`,
      `write it from /, e.g. ${source}:/srv/${basename(target)}`,
    )
  if (resolve(target) === '/')
    throw new InvalidValueError(n('volume'), text, "the container path / would hide the app's whole view", 'give a directory below /, e.g. /srv/data')
  if (target.split('/').includes('..'))
    throw new InvalidValueError(n('volume'), text, 'the container path must not hold ..', 'write the container path without ..')
  if (mode !== 'ro' && mode !== 'rw')
    throw new InvalidValueError(n('volume'), text, `unknown mode ${JSON.stringify(mode)}`, 'use ro (read-only) or rw (writable, the default)')
  const expanded = source === '~' || source.startsWith('~/') ? join(home ?? '/root', source.slice(1)) : source
  const absolute = resolve(cwd, expanded)
  let real: string
  try {
    real = realpathSync(absolute)
  } catch {
    throw new InvalidValueError(n('volume'), text, `the host path ${absolute} does not exist`, `create it first (mkdir -p ${absolute}), or fix the path`)
  }
  return {source: real, target: resolve(target), readOnly: mode === 'ro'}
}

async function readEnvFiles(n: Name, paths: string[], host: HostFacts): Promise<Record<string, string>> {
  if (paths.length === 0) return {}
  // Loaded only when there are env files: dotenv is not on the launch path otherwise.
  const {EnvFileError, MAX_ENV_FILE_BYTES, readEnvFile} = await import('../env-file.js')
  const env: Record<string, string> = {}
  for (const path of paths) {
    try {
      Object.assign(env, readEnvFile(resolve(host.cwd, path), host.readFile))
    } catch (error) {
      if (!(error instanceof EnvFileError)) throw error
      if (error.failure === 'untrusted') throw error.cause
      if (error.failure === 'too-large')
        throw new FileError(path, `is larger than ${MAX_ENV_FILE_BYTES / 2 ** 20} MiB, not an env file`, {
          fix: `give ${n('env-file')} a dotenv file of KEY=VALUE lines`,
        })
      if (error.failure === 'not-text') throw new FileError(path, 'is not a text file', {fix: `give ${n('env-file')} a dotenv file of KEY=VALUE lines`})
      throw new FileError(path, `cannot read env file: ${error.code ?? String(error.cause)}`, {
        fix: `give the path of an existing, readable dotenv file to ${n('env-file')}`,
      })
    }
  }
  return env
}

function parseEnvFlags(n: Name, entries: string[], host: HostFacts): Record<string, string> {
  const env: Record<string, string> = {}
  for (const entry of entries) {
    const separator = entry.indexOf('=')
    const key = separator === -1 ? entry : entry.slice(0, separator)
    if (!ENV_KEY_PATTERN.test(key))
      throw new InvalidValueError(n('env'), entry, 'has no variable name', 'write KEY=VALUE, or KEY to pass the host value through')
    if (separator !== -1) env[key] = entry.slice(separator + 1)
    else if (host.env[key] !== undefined) env[key] = host.env[key]
  }
  return env
}

/** The option an error's field names (`--memory-swap`, `security_opt no-new-privileges=x`), by the naming's own names. */
function optionNamed(field: string, n: Name): string | undefined {
  if (field === 'command') return 'command'
  return RUN_OPTIONS.find(spec => field === n(spec.flag) || field.startsWith(`${n(spec.flag)} `))?.flag
}

/**
 * Turns option values into validated options, each message naming options as `naming` does.
 * Environment: contain's own (appEnvironment: PATH, the user's HOME, USER and LOGNAME, the
 * caller's locale, PWD, HOSTNAME), then the file layers' environment (contain.yml), then
 * --env-file files in order, then -e flags (Docker's order for the last two); -e KEY alone takes
 * the caller's value.
 */
export async function resolveRunOptions(raw: OptionInput, command: string[], host: HostFacts, naming: OptionNaming = flagNaming): Promise<RunOptions> {
  const n = naming.name
  try {
    return await resolveNamed(n, raw, command, host)
  } catch (error) {
    if (error instanceof InvalidValueError && error.ref === undefined) {
      const option = optionNamed(error.field, n)
      if (option !== undefined) error.ref = {option}
    }
    throw error
  }
}

async function resolveNamed(n: Name, raw: OptionInput, command: string[], host: HostFacts): Promise<RunOptions> {
  if (command.length === 0 || command[0] === '') {
    throw new InvalidValueError('command', '', 'no command given', 'put the command after the flags, e.g. contain run --memory 512m -- bundle exec rails s')
  }
  const name = raw.name === undefined ? defaultName(command) : parseName(n, raw.name)
  const limits = parseLimits(n, raw, host)
  const namespaces = parseNamespaceSet(n, raw)
  if (namespaces.includes('pid')) requireNamespace(n, namespaces, 'mount', n('namespaces'), raw.namespaces === undefined ? 'pid' : String(raw.namespaces))

  let hostname: string | undefined
  if (raw.hostname !== undefined) {
    if (!HOSTNAME_PATTERN.test(raw.hostname))
      throw new InvalidValueError(
        n('hostname'),
        raw.hostname,
        'not a valid hostname',
        'use letters, digits and -, in dot-separated labels, at most 64 characters',
      )
    requireNamespace(n, namespaces, 'uts', n('hostname'), raw.hostname)
    hostname = raw.hostname
  } else if (namespaces.includes('uts')) {
    hostname =
      name
        .slice(0, 64)
        .replace(/[^a-zA-Z0-9-]/g, '-')
        .replace(/^-+|-+$/g, '') || 'app'
  }

  const readOnly = raw['read-only'] ?? false
  const view = parseView(n, raw.view, namespaces)
  const workdir = raw.workdir === undefined ? host.cwd : parseDirectory(n('workdir'), raw.workdir, host.cwd)
  const volumes = (raw.volume ?? []).map(text => parseVolume(n, text, host.cwd, host.env.HOME))
  if (volumes.length > 0 && view === 'host')
    throw new InvalidValueError(
      n('volume'),
      raw.volume?.[0],
      'needs the contained view (the host view shows every host path already)',
      `leave ${n('view')} host out, or the volume`,
    )
  const tmpfs = (raw.tmpfs ?? []).map(text => parseTmpfs(n, text, view))
  // Inside the app's own directories a missing path is made by contain; elsewhere it must exist.
  const inOwnDirs = (path: string) => view === 'contained' && [workdir, ...volumes.map(volume => volume.target)].some(dir => dir !== '/' && isUnder(path, dir))
  const writable = (raw.writable ?? []).map(path => parseMountPath(n('writable'), path, !inOwnDirs(resolve(path))))
  const shmSizeBytes = raw['shm-size'] === undefined ? DEFAULT_SHM_BYTES : parseSize(n('shm-size'), raw['shm-size'])
  if (readOnly) requireNamespace(n, namespaces, 'mount', n('read-only'), true)
  if (tmpfs.length > 0) requireNamespace(n, namespaces, 'mount', n('tmpfs'), raw.tmpfs?.[0])
  if (writable.length > 0 && !readOnly) {
    throw new InvalidValueError(n('writable'), raw.writable?.[0], `only applies with ${n('read-only')}`, `add ${n('read-only')}, or leave ${n('writable')} out`)
  }
  checkMountTargets(n, raw, view, workdir, volumes, tmpfs)

  const callerUid = host.uid ?? process.geteuid?.() ?? 0
  const {user, reason: userReason} = chooseUser(
    {given: raw.user, givenField: n('user'), workdir, userNamespace: namespaces.includes('user'), callerUid, workdirOwner: (host.ownerOf ?? ownerOf)(workdir)},
    host.readFile,
  )
  // Without a switch the app keeps contain's uid: root inside its user namespace, or contain's own.
  const account = user
    ? user.name === undefined
      ? undefined
      : {name: user.name, home: user.home}
    : passwdEntryOf(namespaces.includes('user') ? 0 : callerUid, host.readFile)
  const configured = Object.assign({...raw.environment}, await readEnvFiles(n, raw['env-file'] ?? [], host), parseEnvFlags(n, raw.env ?? [], host))
  const env = appEnvironment({caller: host.env, account, workdir, hostname: hostname ?? host.hostname, terminal: host.terminal ?? false, configured})

  return {
    name,
    command,
    limits,
    hostname,
    namespaces,
    env,
    workdir,
    user,
    userReason,
    readOnly,
    tmpfs,
    writable,
    devices: (raw.device ?? []).map(entry => parseDevice(n('device'), entry)),
    view,
    volumes,
    shmSizeBytes,
    security: resolveSecurity(raw, n),
    listen: parseListenAddresses(n('listen'), raw.listen ?? []),
  }
}
