/**
 * Loads contain.yml for `contain up`: one entry per app, each turned into the same raw flags
 * `contain run` takes (RUN_OPTIONS, through each option's composeKey), then validated by
 * resolveRunOptions so a bad value is reported at its line and column before anything starts.
 * The loader only reads: it creates, writes and starts nothing.
 */
import {statSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {basename, dirname, isAbsolute, join, resolve} from 'node:path'
import {parse as parseDotenv} from 'dotenv'
import {isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair, type YAMLMap} from 'yaml'
import {ContainError, FileError, InvalidValueError} from '../errors.js'
import {nearest} from '../suggest.js'
import {MAX_HOST_FILE_BYTES, UntrustedFileError, readFileUpTo} from './read-file.js'
import {resolveRunOptions, type HostFacts} from '../launch/options.js'
import {RUN_OPTIONS, type OptionSpec, type RawRunFlags} from './schema.js'
import {
  defaultSupervision,
  DEFAULT_HEALTHCHECK_TIMING,
  parseDuration,
  parseHttpTarget,
  parseLogSize,
  parseNumberInRange,
  parseReplicas,
  parseRestart,
  parseRestartMode,
  parseSignal,
  parseTcpTarget,
  type HealthcheckConfig,
  type SupervisionConfig,
} from './supervision.js'
import {parseInteger} from './units.js'

export interface AppConfig {
  /** The app's key under apps: (or the Procfile process type). */
  name: string
  command: string[]
  /** The raw flags `contain run` would get for this app, ready for resolveRunOptions/planRun. */
  flags: RawRunFlags
  supervision: SupervisionConfig
  /** Env files read into flags.env, lowest precedence first (absolute paths). */
  envFiles: string[]
  /** Where the app is defined: its key in contain.yml, its line in a Procfile. */
  location: {line: number; column: number}
}

export interface Project {
  /** The file the project was read from, absolute. */
  file: string
  /** Its directory: relative paths in the file start here, and apps run here by default. */
  dir: string
  /** The top-level name:, or the directory's basename made safe (as compose does). */
  name: string
  apps: AppConfig[]
}

export interface LoadOptions {
  /** Reads a UTF-8 file: contain.yml, .env, env_file, /etc/passwd. Default: the real filesystem. */
  readFile?: (path: string) => string
  /** The host environment: the lowest layer of each app's environment. Default: process.env. */
  env?: Record<string, string | undefined>
  /** Host facts for value validation (CPU count, users). Default: this host, cwd = the project dir. */
  host?: HostFacts
  /** Validates one app's flags as `contain run` would. Default: resolveRunOptions. */
  validate?: (flags: RawRunFlags, command: string[], host: HostFacts) => Promise<unknown>
}

/** contain reads config files up to this size: a contain.yml is a few kB; more is the wrong file. */
export const MAX_CONFIG_BYTES = 2 ** 20

/** The file names `contain up` looks for, in order. */
export const PROJECT_FILES = ['contain.yml', 'contain.yaml', 'Procfile'] as const

/** compose's app name rule, minus `..` so a name is always a safe path component and cgroup name. */
export const APP_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/

/** compose's project name rule, at most 63 characters (a cgroup and lock name, with a hash). */
export const PROJECT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/

type FlagName = keyof RawRunFlags
type Path = readonly (string | number)[]

// ---------------------------------------------------------------------------------------------
// The keys of contain.yml. The JSON Schema (json-schema.ts) is generated from these tables.
// ---------------------------------------------------------------------------------------------

/** RUN_OPTIONS flags that only make sense on a command line (an app's name is its key). */
const CLI_ONLY_FLAGS: ReadonlySet<string> = new Set(['name', 'dry-run', 'json'])

/** An app key that holds a `contain run` flag. */
export interface FileOption {
  /** compose's key, or the flag with _ for - where compose has none (contain's own keys). */
  key: string
  flag: FlagName
  spec: OptionSpec
  /** A YAML value for the key, for fixes, the schema and the template. */
  example: string
}

/** One YAML example per flag key; a test checks every one loads, so none can rot. */
const FLAG_EXAMPLES: Record<string, string> = {
  cpus: '0.5',
  cpu_shares: '512',
  cpuset: '"0-1"',
  mem_limit: '512m',
  memswap_limit: '1g',
  mem_reservation: '256m',
  pids_limit: '200',
  hostname: 'web',
  namespaces: '[pid, mount, uts, ipc, cgroup]',
  network_mode: 'none',
  userns: 'true',
  environment: '{RAILS_ENV: production}',
  env_file: '.env.production',
  working_dir: '.',
  user: '"1000:1000"',
  view: 'contained',
  volumes: '["/usr/share/zoneinfo:/srv/zoneinfo:ro"]',
  read_only: 'true',
  tmpfs: '[/tmp]',
  shm_size: '128m',
  writable: '[tmp, log]',
  devices: '["/dev/fuse:/dev/fuse:rwm"]',
  listen: '["tcp://127.0.0.1:3000"]',
  cap_add: '[NET_BIND_SERVICE]',
  cap_drop: '[ALL]',
  privileged: 'false',
  seccomp: 'default',
  seccomp_mode: 'complain',
  seccomp_strict: 'true',
  security_opt: '[no-new-privileges]',
}

function fileKeyOf(spec: OptionSpec): string {
  return spec.composeKey ?? spec.flag.replace(/-/g, '_')
}

/** Every flag contain.yml can set, keyed by its file key, in RUN_OPTIONS order. */
export const FILE_OPTIONS: readonly FileOption[] = (RUN_OPTIONS as readonly OptionSpec[])
  .filter(spec => !CLI_ONLY_FLAGS.has(spec.flag))
  .map(spec => ({key: fileKeyOf(spec), flag: spec.flag as FlagName, spec, example: FLAG_EXAMPLES[fileKeyOf(spec)] ?? spec.helpValue ?? 'true'}))

/** A key contain.yml reads that is not a `contain run` flag, with what it holds. */
export interface KeyDoc {
  description: string
  example?: string
}

export const TOP_KEYS: Record<string, KeyDoc> = {
  apps: {description: 'The apps of this project, by name. Each name: letters, digits, _ . -, starting with a letter or digit, at most 63 characters'},
  services: {description: 'docker-compose\'s name for apps; give one of apps or services'},
  name: {description: 'Project name, at most 63 characters (default: the directory name, lowercased, without other characters than a-z 0-9 _ -). One directory at a time runs under a name on a host: contain up of another directory with the same name is refused', example: 'shop'},
  version: {description: 'Ignored, as docker-compose ignores it'},
}

export const APP_KEYS: Record<string, KeyDoc> = {
  command: {description: 'The command to run: a list (argv), or a string split into words as a shell would, without expanding $VARIABLES, globs or operators (use [sh, -c, "..."] for those)', example: 'bundle exec rails s -p 3000'},
  restart: {description: 'When to restart the app: no (default), always, unless-stopped, on-failure, or on-failure:N to give up after N restarts', example: 'on-failure:3'},
  healthcheck: {description: 'How to tell the app is healthy: test is ["CMD", argv...], ["CMD-SHELL", "script"], a shell string, {http: URL} (healthy on 2xx/3xx), {tcp: HOST:PORT} (healthy when it accepts a connection), or ["NONE"]'},
  stop_signal: {description: 'Signal that asks the app to stop (default SIGTERM)', example: 'SIGINT'},
  stop_grace_period: {description: 'Time from stop_signal to SIGKILL (default 10s)', example: '30s'},
  logging: {description: 'Log files of the app: rotated at max_size, max_files kept (default 10m x 5)'},
  backoff: {description: 'Delay between restarts: initial, doubled (factor) up to max, +/- jitter; reset after a run of reset_after'},
  restart_mode: {description: 'How contain restart, a restart by policy after a failed health check and contain up with a changed app replace a running instance: rolling starts the new one beside the old one on the same listen: sockets and stops the old one once the new one is healthy; stop-first stops, then starts. Default: rolling with listen:, else stop-first', example: 'rolling'},
  replicas: {description: 'Instances of the app, at least 1 (default 1): each its own process tree and cgroup, all on the same listen: sockets; rolled one at a time', example: '2'},
}

/** docker-compose's other spellings of replicas: read, and shown in the JSON Schema, but not in the template (one spelling is enough). */
export const COMPOSE_REPLICA_KEYS: Record<string, KeyDoc> = {
  scale: {description: 'docker-compose\'s name for replicas', example: '2'},
  deploy: {description: 'docker-compose\'s deploy: only replicas is read (limits go directly under the app)'},
}

export const DEPLOY_KEYS: Record<string, KeyDoc> = {
  replicas: {description: 'Same as replicas', example: '2'},
}

export const HEALTHCHECK_KEYS: Record<string, KeyDoc> = {
  test: {description: '["CMD", argv...] runs a command; ["CMD-SHELL", "script"] or a string runs /bin/sh -c; {http: URL} GETs the URL (healthy on 2xx/3xx); {tcp: HOST:PORT} connects (a bare port means 127.0.0.1:PORT); ["NONE"] disables', example: '{http: "http://127.0.0.1:3000/up"}'},
  interval: {description: 'Time between checks (default 30s)', example: '5s'},
  timeout: {description: 'Time a check may take (default 30s)', example: '2s'},
  retries: {description: 'Consecutive failures before the app counts as unhealthy (default 3)', example: '3'},
  start_period: {description: 'Failures in this time after start do not count (default 0s)', example: '10s'},
  disable: {description: 'true: no healthcheck', example: 'true'},
}

export const LOGGING_KEYS: Record<string, KeyDoc> = {
  max_size: {description: 'Rotate a log file at this size (b, k, m, g; default 10m)', example: '10m'},
  max_files: {description: 'Log files kept, the current one included (default 5)', example: '5'},
  dir: {description: 'Directory of the log files, relative to contain.yml (default: contain\'s state directory)', example: 'log/contain'},
  driver: {description: 'docker-compose\'s form: json-file or local (contain writes its own rotated files either way)', example: 'json-file'},
  options: {description: 'docker-compose\'s form: max-size and max-file'},
}

export const LOGGING_OPTION_KEYS: Record<string, KeyDoc> = {
  'max-size': {description: 'Same as max_size', example: '10m'},
  'max-file': {description: 'Same as max_files', example: '"5"'},
}

export const BACKOFF_KEYS: Record<string, KeyDoc> = {
  initial: {description: 'Delay before the first restart (default 100ms)', example: '100ms'},
  max: {description: 'Longest delay (default 60s)', example: '60s'},
  factor: {description: 'Each delay is the previous one times this, 1 to 100 (default 2)', example: '2'},
  jitter: {description: 'Fraction of the delay added or removed at random, 0 to 1 (default 0.1)', example: '0.1'},
  reset_after: {description: 'A run this long resets the delay to initial (default 10s)', example: '10s'},
}

export const ENV_FILE_KEYS: Record<string, KeyDoc> = {
  path: {description: 'The dotenv file, relative to contain.yml', example: '.env.local'},
  required: {description: 'false: skip the file when it does not exist (default true)', example: 'false'},
}

/** The keys one app may have. */
export function appKeys(): string[] {
  return [...Object.keys(APP_KEYS).slice(0, 1), ...FILE_OPTIONS.map(option => option.key), ...Object.keys(APP_KEYS).slice(1)]
}

/** docker-compose service keys contain does not read, with why and what to do instead. */
const COMPOSE_UNSUPPORTED: Record<string, {problem: string; fix: string}> = {
  image: {problem: 'contain runs commands from the host filesystem, not images', fix: 'remove image and give the command to run in command'},
  build: {problem: 'contain runs commands from the host filesystem and builds nothing', fix: 'remove build; build the app before contain up'},
  ports: {problem: 'apps share the host network (or have none), so there are no ports to publish', fix: 'remove ports; the app binds its port on the host directly'},
  expose: {problem: 'apps share the host network (or have none), so there are no ports to expose', fix: 'remove expose'},
  entrypoint: {problem: 'there is no image entrypoint to override', fix: 'put the whole command line in command'},
  container_name: {problem: 'the app\'s name is its key under apps', fix: 'rename the app\'s key instead'},
  networks: {problem: 'apps use the host network or none', fix: 'use network_mode: host or network_mode: none'},
  userns_mode: {problem: 'contain chooses the user namespace with its own key', fix: 'use userns: true for a user namespace'},
  pid: {problem: 'contain chooses namespaces with its own key', fix: 'use namespaces, e.g. namespaces: [-pid] to share the host\'s pids'},
  ipc: {problem: 'contain chooses namespaces with its own key', fix: 'use namespaces, e.g. namespaces: [-ipc] to share the host\'s IPC'},
  uts: {problem: 'contain chooses namespaces with its own key', fix: 'use namespaces, e.g. namespaces: [-uts] to share the host\'s hostname'},
  cgroup: {problem: 'contain chooses namespaces with its own key', fix: 'use namespaces, e.g. namespaces: [-cgroup]'},
}

/** docker-compose service keys, so a compose file's leftovers are named as such, not as typos. */
const COMPOSE_SERVICE_KEYS = new Set([
  'annotations', 'attach', 'blkio_config', 'build', 'cgroup', 'cgroup_parent', 'configs', 'container_name', 'cpu_count',
  'cpu_percent', 'cpu_period', 'cpu_quota', 'cpu_rt_period', 'cpu_rt_runtime', 'credential_spec', 'depends_on', 'deploy',
  'develop', 'device_cgroup_rules', 'devices', 'dns', 'dns_opt', 'dns_search', 'domainname', 'entrypoint', 'expose',
  'extends', 'external_links', 'extra_hosts', 'gpus', 'group_add', 'image', 'init', 'ipc', 'isolation', 'labels', 'links',
  'mac_address', 'mem_swappiness', 'networks', 'oom_kill_disable', 'oom_score_adj', 'pid', 'platform', 'ports',
  'post_start', 'pre_stop', 'profiles', 'pull_policy', 'runtime', 'secrets', 'stdin_open',
  'storage_opt', 'sysctls', 'tty', 'ulimits', 'userns_mode', 'uts', 'volumes_from',
])

const HEALTHCHECK_UNSUPPORTED: Record<string, {problem: string; fix: string}> = {
  start_interval: {problem: 'contain checks at interval from the start', fix: 'remove start_interval; start_period keeps early failures from counting'},
}

/** A CLI flag or common synonym used as a key names the key it stands for. */
const KEY_ALIASES: Record<string, string> = {
  ...Object.fromEntries(FILE_OPTIONS.flatMap(option => [[option.flag, option.key], [option.flag.replace(/-/g, '_'), option.key]])),
  cmd: 'command',
  args: 'command',
  env: 'environment',
  envfile: 'env_file',
}

// ---------------------------------------------------------------------------------------------
// Reading the file
// ---------------------------------------------------------------------------------------------

function errnoCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error)
}

/**
 * A config file's text, refused when it is not one: over 1 MiB (checked before reading), NUL
 * bytes or invalid UTF-8 (binary data). `display` is the name used in messages.
 */
export function readConfigText(file: string, readFile?: (path: string) => string, display = file): string {
  const tooLarge = (bytes?: number) => new FileError(display, `is ${bytes === undefined ? 'larger than 1 MiB' : `${(bytes / 2 ** 20).toFixed(1)} MiB`}; contain reads config files up to 1 MiB`, {fix: 'check that this is the right file: a contain.yml or Procfile is a few kB'})
  const notText = (what: string) => new FileError(display, `is not a text file (${what})`, {fix: 'give the path of a YAML contain.yml or a Procfile'})
  const cannotRead = (error: unknown) =>
    new FileError(display, errnoCode(error) === 'ENOENT' ? 'does not exist' : `cannot be read (${errnoCode(error)})`, {
      fix: errnoCode(error) === 'ENOENT' ? 'run contain init to write one, or give the path of an existing file' : 'give the path of a readable file',
      cause: error,
    })
  let text: string
  if (readFile) {
    try {
      text = readFile(file)
    } catch (error) {
      throw error instanceof FileError ? error : cannotRead(error)
    }
    if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw tooLarge(Buffer.byteLength(text))
  } else {
    let bytes: Buffer
    try {
      const stat = statSync(file)
      if (stat.isDirectory()) throw new FileError(display, 'is a directory', {fix: `give the path of the file in it, e.g. ${join(file, 'contain.yml')}`})
      if (stat.size > MAX_CONFIG_BYTES) throw tooLarge(stat.size)
      // Bounded: a device or FIFO reports size 0 and may never end (-f /dev/zero).
      bytes = readFileUpTo(file, MAX_CONFIG_BYTES)
    } catch (error) {
      if (errnoCode(error) === 'EFBIG') throw tooLarge()
      throw error instanceof FileError ? error : cannotRead(error)
    }
    if (bytes.length > MAX_CONFIG_BYTES) throw tooLarge(bytes.length)
    if (bytes.includes(0)) throw notText('it holds NUL bytes')
    try {
      text = new TextDecoder('utf-8', {fatal: true}).decode(bytes)
    } catch {
      throw notText('it is not UTF-8')
    }
  }
  if (text.includes('\0')) throw notText('it holds NUL bytes')
  return text
}

/** The project file in `dir`: contain.yml, contain.yaml, else Procfile; undefined when none exists. */
export function findProjectFile(dir: string, exists: (path: string) => boolean = path => statSync(path, {throwIfNoEntry: false})?.isFile() ?? false): string | undefined {
  const found = PROJECT_FILES.map(name => join(dir, name)).filter(path => exists(path))
  if (found.length > 1 && basename(found[1]) === 'contain.yaml') {
    throw new FileError(found[1], 'sits next to contain.yml, so it is unclear which one holds the project', {fix: 'keep one of contain.yml and contain.yaml'})
  }
  return found[0]
}

/**
 * compose's project name: the directory's basename, lowercased, other characters dropped; at most
 * 63 characters, as a `name:`, since it names a cgroup and a lock (with a hash, within NAME_MAX).
 */
export function projectNameOf(dir: string): string {
  return basename(dir).toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '').slice(0, 63) || 'default'
}

/** The host facts validation uses by default: this host, with relative paths from the project dir. */
function defaultHost(dir: string, env: Record<string, string | undefined>, readFile: (path: string) => string): HostFacts {
  return {cpus: availableParallelism(), env, cwd: dir, readFile}
}

const readUtf8 = (path: string) => readFileUpTo(path, MAX_HOST_FILE_BYTES).toString('utf8')

// ---------------------------------------------------------------------------------------------
// Positions and errors
// ---------------------------------------------------------------------------------------------

/** `apps.web.cap_add[1]`; a key other than a plain word in brackets: `apps["web.1"].cpus`. */
export function formatPath(path: Path): string {
  return path.map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : !/^[\w-]+$/.test(segment) ? `[${JSON.stringify(segment)}]` : index === 0 ? segment : `.${segment}`)).join('')
}

/** Rewrites `--memory` in a flag's message to `mem_limit`, the key the user wrote. */
export function flagsToKeys(text: string): string {
  return text.replace(/--([a-z][a-z-]*)/g, (whole, flag: string) => FILE_OPTIONS.find(option => option.flag === flag)?.key ?? whole)
}

function keyText(key: unknown): string {
  if (isScalar(key)) return typeof key.value === 'symbol' ? '<<' : String(key.value)
  return String(key)
}

/** The contain.yml being read: its text, document and line counter, and errors at a path. */
class YamlSource {
  constructor(
    readonly display: string,
    readonly doc: Document.Parsed,
    readonly lines: LineCounter,
  ) {}

  /** The position of an offset, 1-based. */
  at(offset: number): {line: number; column: number} {
    const {line, col} = this.lines.linePos(offset)
    return {line, column: col}
  }

  /** Where the node at `path` is: its value, or its key; the nearest ancestor when it has none. */
  locate(path: Path, part: 'key' | 'value' = 'value'): {line: number; column: number} {
    let node: unknown = this.doc.contents
    let key: Node | undefined
    let best: {node?: Node; key?: Node} = {node: node as Node}
    for (const segment of path) {
      node = this.resolve(node)
      if (isMap(node)) {
        const pair = this.findPair(node, String(segment), 0)
        if (!pair) break
        key = pair.key as Node
        node = pair.value
      } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
        key = undefined
        node = node.items[segment]
      } else {
        break
      }
      best = {node: (node ?? undefined) as Node | undefined, key}
    }
    const target = part === 'key' ? best.key ?? best.node : best.node ?? best.key
    return target?.range ? this.at(target.range[0]) : {line: 1, column: 1}
  }

  /** The pair that gives a map's key its value: its own last one, else the first merged one. */
  private findPair(map: YAMLMap, key: string, depth: number): Pair | undefined {
    const own = [...map.items].reverse().find(pair => keyText(pair.key) === key)
    if (own || depth > 20) return own
    for (const merge of map.items.filter(pair => keyText(pair.key) === '<<')) {
      const sources = isSeq(merge.value) ? merge.value.items : [merge.value]
      for (const source of sources) {
        const resolved = this.resolve(source)
        const found = isMap(resolved) ? this.findPair(resolved, key, depth + 1) : undefined
        if (found) return found
      }
    }
    return undefined
  }

  /** The keys of the map at `path` in the order the file gives them (JS objects put "1" first). */
  keysInOrder(path: Path, map: Record<string, unknown>): string[] {
    let node: unknown = this.doc.contents
    for (const segment of path) {
      node = this.resolve(node)
      node = isMap(node) ? this.findPair(node, String(segment), 0)?.value : undefined
    }
    node = this.resolve(node)
    const written = isMap(node) ? node.items.map(pair => keyText(pair.key)).filter(key => key !== '<<' && key in map) : []
    return [...new Set([...written, ...Object.keys(map)])]
  }

  private resolve(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node
  }

  /** An error at the value (or key) at `path`, in the form FILE:LINE:COLUMN: PATH: PROBLEM. */
  fail(path: Path, problem: string, fix: string, part: 'key' | 'value' = 'value'): never {
    throw this.error(path, problem, fix, this.locate(path, part))
  }

  error(path: Path, problem: string, fix: string, position: {line: number; column: number}, cause?: unknown): FileError {
    return new FileError(this.display, path.length === 0 ? problem : `${formatPath(path)}: ${problem}`, {...position, fix, cause})
  }

  /** Runs a value parser named after `path` and reports its InvalidValueError at the value. */
  check<T>(path: Path, parse: (field: string) => T): T {
    try {
      return parse(formatPath(path))
    } catch (error) {
      if (!(error instanceof InvalidValueError)) throw error
      throw new FileError(this.display, error.message, {...this.locate(path), fix: error.fix, cause: error})
    }
  }
}

/** First line of a yaml error, without the "at line X, column Y" yaml appends. */
function yamlProblem(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')
}

const YAML_FIXES: Record<string, string> = {
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  MULTIPLE_DOCS: 'keep one YAML document: remove the second ---',
  BAD_INDENT: 'line the key up with its siblings, and close every [ and {',
  TAG_RESOLVE_FAILED: 'remove the tag (the word starting with !)',
}

/** Parses YAML, turning the parser's first error into a FileError at its line and column. */
function parseYaml(display: string, text: string): YamlSource {
  const lines = new LineCounter()
  // Duplicate keys are found below, with the path and both lines in the message.
  const doc = parseDocument(text, {lineCounter: lines, merge: true, uniqueKeys: false, prettyErrors: true})
  const problem = doc.errors[0] ?? doc.warnings[0]
  if (problem) {
    const position = problem.linePos?.[0] ?? lines.linePos(problem.pos[0])
    throw new FileError(display, `invalid YAML: ${yamlProblem(problem.message)}`, {
      line: position.line,
      column: position.col,
      fix: YAML_FIXES[problem.code] ?? 'correct the YAML syntax there (quote values that hold ": " or " #")',
    })
  }
  const source = new YamlSource(display, doc, lines)
  findDuplicateKeys(source, doc.contents, [])
  return source
}

/** YAML allows one value per key; a second one would silently win, so it is an error. */
function findDuplicateKeys(source: YamlSource, node: unknown, path: Path): void {
  if (isSeq(node)) node.items.forEach((item, index) => findDuplicateKeys(source, item, [...path, index]))
  if (!isMap(node)) return
  const seen = new Map<string, Pair>()
  for (const pair of node.items) {
    // A list, map or !!binary as a key (`? [a]`, `{a: 1}: x`) would be stringified by toJS, with a Node warning.
    const keyNode = isAlias(pair.key) ? pair.key.resolve(source.doc) : pair.key
    if (keyNode !== null && !(isScalar(keyNode) && ['string', 'number', 'boolean', 'symbol'].includes(typeof keyNode.value)) && !(isScalar(keyNode) && keyNode.value === null)) {
      throw source.error(path, 'has a key that is not a plain word (a list, a map or binary data)', 'write each key as a plain word, e.g. web:', source.at((pair.key as Node | null)?.range?.[0] ?? 0))
    }
    const key = keyText(pair.key)
    const first = seen.get(key)
    if (first && key !== '<<') {
      const firstLine = source.at((first.key as Node).range?.[0] ?? 0).line
      const isApp = path.length === 1 && (path[0] === 'apps' || path[0] === 'services')
      throw source.error([...path, key], isApp ? `duplicate app name (first at line ${firstLine})` : `duplicate key (first at line ${firstLine})`, isApp ? 'give each app its own name' : `keep one ${key}`, source.at((pair.key as Node).range?.[0] ?? 0))
    }
    seen.set(key, pair)
    findDuplicateKeys(source, pair.value, [...path, key])
  }
}

// ---------------------------------------------------------------------------------------------
// Value types
// ---------------------------------------------------------------------------------------------

type YamlMap = Record<string, unknown>

function isPlainMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
}

/** How a value reads in "must be a string, not ..." messages. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return 'empty'
  if (Array.isArray(value)) return 'a list'
  if (isPlainMap(value)) return 'a map'
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value instanceof Uint8Array) return 'binary data'
  return 'an unsupported YAML type'
}

function typeError(source: YamlSource, path: Path, value: unknown, expected: string, example: string): never {
  return source.fail(path, `must be ${expected}, not ${describe(value)}`, value === null ? `give it a value, e.g. ${example}, or remove the key` : `write it as ${example}`)
}

/** A string, or a number written as the CLI would get it (0.5 -> "0.5"). */
function expectString(source: YamlSource, path: Path, value: unknown, example: string, numbers = true): string {
  if (typeof value === 'string') return value
  if (numbers && typeof value === 'number') return String(value)
  return typeError(source, path, value, numbers ? 'a string or a number' : 'a string', example)
}

/** A string, or a list of them. */
function expectStringList(source: YamlSource, path: Path, value: unknown, example: string): string[] {
  if (typeof value === 'string' || typeof value === 'number') return [String(value)]
  if (!Array.isArray(value)) return typeError(source, path, value, 'a string or a list of strings', example)
  return value.map((item, index) => expectString(source, [...path, index], item, example))
}

function expectBoolean(source: YamlSource, path: Path, value: unknown, example: string): boolean {
  if (typeof value === 'boolean') return value
  return typeError(source, path, value, 'true or false', example)
}

function expectMap(source: YamlSource, path: Path, value: unknown, example: string): YamlMap {
  if (isPlainMap(value)) return value
  return typeError(source, path, value, 'a map of keys', example)
}


/** The known key closest to `key`, when it is close enough to be a typo (a one-letter key never is). */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  return nearest(key, known, Math.min(Math.max(2, Math.ceil(key.length * 0.4)), key.length - 1))[0]
}

interface KeyRules {
  /** x-* keys are compose's extension fields, kept for YAML anchors: allowed and ignored. */
  extensions?: boolean
  /** Keys known from docker-compose that contain does not read, with why and what instead. */
  unsupported?: Record<string, {problem: string; fix: string}>
  /** Other docker-compose keys contain does not read. */
  foreign?: ReadonlySet<string>
  /** Words that stand for a known key (CLI flag names and synonyms). */
  aliases?: Record<string, string>
}

/** Unknown keys are errors (a typo would otherwise be ignored), with the closest known key. */
function checkKeys(source: YamlSource, path: Path, map: YamlMap, known: readonly string[], rules: KeyRules = {}): void {
  for (const key of Object.keys(map)) {
    if (known.includes(key) || (rules.extensions && key.startsWith('x-'))) continue
    const at = [...path, key]
    const unsupported = rules.unsupported?.[key]
    if (unsupported) source.fail(at, `docker-compose's ${key} does not apply: ${unsupported.problem}`, unsupported.fix, 'key')
    if (rules.foreign?.has(key)) source.fail(at, `docker-compose's ${key} is not supported by contain`, 'remove it (templates/contain.yml shows every key contain reads)', 'key')
    const alias = rules.aliases?.[key]
    const suggestion = alias !== undefined && known.includes(alias) ? alias : closestKey(key, known)
    if (suggestion) source.fail(at, `unknown key (did you mean ${suggestion}?)`, `rename it to ${suggestion}`, 'key')
    source.fail(at, 'unknown key', `use one of: ${known.join(', ')}`, 'key')
  }
}

// ---------------------------------------------------------------------------------------------
// command
// ---------------------------------------------------------------------------------------------

const SHELL_OPERATORS = ['&&', '||', ';;', '>>', '<<', '$(', '|', '&', ';', '<', '>', '(', ')', '`', '$']

/**
 * Splits a command string into words as compose does (go-shellwords): whitespace separates,
 * quotes and backslashes group, nothing is expanded. Shell syntax ($VAR, &&, |, >, ...) would be
 * passed to the app literally, which is never what was meant, so it is refused with the fix.
 */
export function splitCommand(text: string, field = 'command'): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  const shellSyntax = (at: number): never => {
    const operator = SHELL_OPERATORS.find(candidate => text.startsWith(candidate, at)) ?? text[at]
    throw new InvalidValueError(field, text, `uses shell syntax (${operator}) that contain does not interpret`, `run it through a shell: ${field.split('.').at(-1)}: ["sh", "-c", ${JSON.stringify(text.trim())}], or quote the ${JSON.stringify(operator)}`)
  }
  const unterminated = (quote: string): never => {
    throw new InvalidValueError(field, text, `has an unterminated ${quote} quote`, `close the ${quote} quote`)
  }
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (char === "'") {
      const end = text.indexOf("'", i + 1)
      if (end === -1) unterminated("'")
      word += text.slice(i + 1, end)
      i = end
      inWord = true
    } else if (char === '"') {
      inWord = true
      for (i++; ; i++) {
        if (i >= text.length) unterminated('"')
        const inner = text[i]
        if (inner === '"') break
        if (inner === '\\' && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1])) {
          if (text[i + 1] !== '\n') word += text[i + 1]
          i++
        } else if (inner === '$' || inner === '`') {
          shellSyntax(i)
        } else {
          word += inner
        }
      }
    } else if (char === '\\') {
      if (i + 1 < text.length && text[i + 1] !== '\n') word += text[i + 1]
      else if (i + 1 >= text.length) word += '\\'
      i++
      inWord = true
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else if ('|&;<>()`$'.includes(char)) {
      shellSyntax(i)
    } else {
      word += char
      inWord = true
    }
  }
  if (inWord) words.push(word)
  return words
}

function parseCommand(source: YamlSource, appPath: Path, value: unknown): string[] {
  const path = [...appPath, 'command']
  const example = 'command: bundle exec rails s -p 3000'
  if (value === undefined) source.fail(appPath, 'has no command', `add the command to run, e.g. ${example}`, 'key')
  let command: string[]
  if (typeof value === 'string') command = source.check(path, field => splitCommand(value, field))
  else if (Array.isArray(value)) command = value.map((item, index) => expectString(source, [...path, index], item, '[bundle, exec, rails, s]'))
  else return typeError(source, path, value, 'a string or a list of strings', example)
  if (command.length === 0 || command[0] === '') source.fail(path, 'is empty', `give the command to run, e.g. ${example}`)
  return command
}

// ---------------------------------------------------------------------------------------------
// environment
// ---------------------------------------------------------------------------------------------

const ENV_KEY_PATTERN = /^[^=\0]+$/

/** Reads one dotenv file; undefined when it does not exist and is optional. */
function readEnvFile(path: string, readFile: (path: string) => string, optional: boolean, report: (problem: string, fix: string, cause?: unknown) => never): Record<string, string> | undefined {
  let text: string
  try {
    text = readFile(path)
  } catch (error) {
    if (error instanceof UntrustedFileError) return report(`${path} ${error.problem}`, error.fix ?? '')
    const code = errnoCode(error)
    if (optional && (code === 'ENOENT' || code === 'ENOTDIR')) return undefined
    if (code === 'EFBIG') return report(`${path} is larger than 1 MiB, not an env file`, 'give a dotenv file of KEY=VALUE lines')
    return report(code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path} (${code})`, code === 'ENOENT' ? 'create the file or fix the path (relative paths start at the directory of contain.yml), or mark it required: false' : 'make the file readable', error)
  }
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) return report(`${path} is larger than 1 MiB, not an env file`, 'give a dotenv file of KEY=VALUE lines')
  if (text.includes('\0')) return report(`${path} is not a text file (it holds NUL bytes)`, 'give a dotenv file of KEY=VALUE lines')
  return parseDotenv(text)
}

interface EnvLayers {
  /** The project's .env, when it exists. */
  dotenv?: {path: string; values: Record<string, string>}
  hostEnv: Record<string, string | undefined>
  readFile: (path: string) => string
  dir: string
}

interface EnvFileEntry {
  path: string
  required: boolean
  at: Path
}

function parseEnvFileEntries(source: YamlSource, path: Path, value: unknown): EnvFileEntry[] {
  const example = 'env_file: [.env.production]'
  const entry = (item: unknown, at: Path): EnvFileEntry => {
    if (typeof item === 'string') return {path: item, required: true, at}
    const map = expectMap(source, at, item, '.env.local, or {path: .env.local, required: false}')
    checkKeys(source, at, map, Object.keys(ENV_FILE_KEYS))
    if (map.path === undefined) source.fail(at, 'has no path', 'add path: followed by the file')
    const required = map.required === undefined ? true : expectBoolean(source, [...at, 'required'], map.required, 'required: false')
    return {path: expectString(source, [...at, 'path'], map.path, 'path: .env.local', false), required, at: [...at, 'path']}
  }
  if (typeof value === 'string') return [entry(value, path)]
  if (!Array.isArray(value)) return typeError(source, path, value, 'a path or a list of paths', example)
  return value.map((item, index) => entry(item, [...path, index]))
}

/**
 * The app's environment, lowest precedence first: the host's < the project's .env (read when it
 * exists, as compose and foreman do) < env_file files in order < environment. Only the last three
 * go into flags.env: resolveRunOptions starts from the host environment itself, and -e flags given
 * to `contain up` come after these and win. `KEY` without a value (KEY: ~ or - KEY) takes the host's
 * value, and leaves the lower layers alone when the host has none (Docker's -e KEY).
 */
function parseEnvironment(source: YamlSource, appPath: Path, app: YamlMap, layers: EnvLayers): {env: Record<string, string>; files: string[]} {
  const env: Record<string, string> = {...layers.dotenv?.values}
  const files = layers.dotenv ? [layers.dotenv.path] : []
  if (app.env_file !== undefined) {
    for (const entry of parseEnvFileEntries(source, [...appPath, 'env_file'], app.env_file)) {
      const file = resolve(layers.dir, entry.path)
      const report = (problem: string, fix: string, cause?: unknown): never => {
        throw source.error(entry.at, problem, fix, source.locate(entry.at), cause)
      }
      const values = readEnvFile(file, layers.readFile, !entry.required, report)
      if (values === undefined) continue
      Object.assign(env, values)
      if (!files.includes(file)) files.push(file)
    }
  }
  const path = [...appPath, 'environment']
  const set = (key: string, value: string | undefined, at: Path) => {
    if (!ENV_KEY_PATTERN.test(key)) source.fail(at, `has no variable name (${JSON.stringify(key)})`, 'write KEY=VALUE, or KEY to pass the host\'s value through', 'value')
    if (value !== undefined) env[key] = value
    else if (layers.hostEnv[key] !== undefined) env[key] = layers.hostEnv[key] as string
  }
  const value = app.environment
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      const entry = expectString(source, [...path, index], item, 'RAILS_ENV=production', false)
      const separator = entry.indexOf('=')
      set(separator === -1 ? entry : entry.slice(0, separator), separator === -1 ? undefined : entry.slice(separator + 1), [...path, index])
    })
  } else if (isPlainMap(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (item !== null && typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
        typeError(source, [...path, key], item, 'a string, a number, true or false', `${key}: "value"`)
      }
      set(key, item === null ? undefined : String(item), [...path, key])
    }
  } else if (value !== undefined) {
    typeError(source, path, value, 'a map of KEY: value, or a list of KEY=VALUE', 'environment: {RAILS_ENV: production}')
  }
  return {env, files}
}

// ---------------------------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------------------------

/** Relative seccomp profile paths start at the directory of contain.yml, as every path there. */
function resolveProfile(profile: string, dir: string): string {
  return profile === 'default' || profile === 'unconfined' || profile === '' || isAbsolute(profile) ? profile : resolve(dir, profile)
}

/** Sets each flag key the app has into flags, as the strings and booleans the CLI would give. */
function readFlags(source: YamlSource, appPath: Path, app: YamlMap, flags: RawRunFlags, dir: string): void {
  const target = flags as Record<string, unknown>
  const workdir = app.working_dir === undefined ? dir : resolve(dir, expectString(source, [...appPath, 'working_dir'], app.working_dir, 'working_dir: .'))
  target.workdir = workdir
  for (const option of FILE_OPTIONS) {
    const value = app[option.key]
    if (value === undefined || option.key === 'working_dir' || option.key === 'environment' || option.key === 'env_file') continue
    const path = [...appPath, option.key]
    const example = `${option.key}: ${option.example}`
    if (option.spec.kind === 'boolean') {
      target[option.flag] = expectBoolean(source, path, value, example)
    } else if (option.flag === 'volume') {
      target[option.flag] = parseVolumes(source, path, value)
    } else if (option.spec.multiple) {
      let list = expectStringList(source, path, value, example)
      // Paths in the project (tmp/pids, log) are relative to its working directory; absolute ones stay.
      if (option.flag === 'writable' || option.flag === 'tmpfs') list = list.map(entry => resolve(workdir, entry))
      if (option.flag === 'security-opt') list = list.map(entry => entry.replace(/^(seccomp[=:])(.+)$/s, (_, prefix: string, profile: string) => prefix + resolveProfile(profile, dir)))
      target[option.flag] = list
    } else if (option.flag === 'namespaces' && Array.isArray(value)) {
      target[option.flag] = expectStringList(source, path, value, example).join(',')
    } else {
      const text = expectString(source, path, value, example)
      target[option.flag] = option.flag === 'seccomp' ? resolveProfile(text, dir) : text
    }
  }
}

/** compose's long form of a volume, as far as contain has it: a bind mount. */
const VOLUME_KEYS = ['type', 'source', 'target', 'read_only']

/**
 * volumes: compose's short form (HOST:CONTAINER[:ro|rw], HOST relative to contain.yml) stays as
 * the -v flag takes it; the long form {type: bind, source, target, read_only} is turned into it.
 */
function parseVolumes(source: YamlSource, path: Path, value: unknown): string[] {
  const example = 'volumes: ["./data:/srv/data:ro"]'
  if (!Array.isArray(value)) return typeError(source, path, value, 'a list of HOST:CONTAINER[:ro|rw] or {type: bind, source, target}', example)
  return value.map((item, index) => {
    const at = [...path, index]
    if (typeof item === 'string') return item
    const map = expectMap(source, at, item, '"./data:/srv/data:ro", or {type: bind, source: ./data, target: /srv/data, read_only: true}')
    checkKeys(source, at, map, VOLUME_KEYS)
    if (map.type !== undefined && map.type !== 'bind') source.fail([...at, 'type'], `contain has only bind volumes, not ${describe(map.type)}`, 'write type: bind (a tmpfs goes under tmpfs:)')
    for (const key of ['source', 'target']) if (map[key] === undefined) source.fail(at, `has no ${key}`, `add ${key}:`)
    const from = expectString(source, [...at, 'source'], map.source, 'source: ./data', false)
    const to = expectString(source, [...at, 'target'], map.target, 'target: /srv/data', false)
    const readOnly = map.read_only === undefined ? false : expectBoolean(source, [...at, 'read_only'], map.read_only, 'read_only: true')
    // A bare relative name is a path here (compose's long form type: bind), not a named volume.
    const host = /^(\/|\.|~)/.test(from) ? from : `./${from}`
    return `${host}:${to}:${readOnly ? 'ro' : 'rw'}`
  })
}

/** The YAML path of the value a flag came from; the item of a list when the error names one. */
function pathOfFlag(app: YamlMap, appPath: Path, flags: RawRunFlags, error: InvalidValueError): Path {
  if (error.field === 'command') return app.command === undefined ? appPath : [...appPath, 'command']
  const flag = /^--([a-z-]+)/.exec(error.field)?.[1]
  const option = FILE_OPTIONS.find(candidate => candidate.flag === flag)
  if (!option || (app[option.key] === undefined && !(flag === 'env' && app.env_file !== undefined))) return appPath
  if (flag === 'env' && app.environment === undefined) return [...appPath, 'env_file']
  const values = (flags as Record<string, unknown>)[option.flag]
  const index = Array.isArray(values) && Array.isArray(app[option.key]) ? values.indexOf(error.value) : -1
  return index === -1 ? [...appPath, option.key] : [...appPath, option.key, index]
}

/** resolveRunOptions' error about `--cpus`, re-told about apps.web.cpus at its line and column. */
function relocate(source: YamlSource, app: YamlMap, appPath: Path, flags: RawRunFlags, error: InvalidValueError): FileError {
  const path = pathOfFlag(app, appPath, flags, error)
  const flagText = error.field.split(' ')[0]
  const rest = error.field.slice(flagText.length).trim()
  const problem = flagsToKeys(error.message.slice(error.field.length + 2))
  return source.error(path, rest ? `${rest}: ${problem}` : problem, flagsToKeys(error.fix ?? ''), source.locate(path), error)
}

// ---------------------------------------------------------------------------------------------
// Supervision
// ---------------------------------------------------------------------------------------------

/** Node's timers hold at most 2^31-1 ms (24.8 days); a longer one fires after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1

function parseDurationAt(source: YamlSource, path: Path, value: unknown, example: string): number {
  const text = expectString(source, path, value, example)
  const ms = source.check(path, field => parseDuration(field, text))
  if (ms > MAX_TIMER_MS) source.fail(path, `is too long (${text}): contain waits at most 596h`, `use a shorter duration, e.g. ${example.split(': ')[1]}`)
  return ms
}

function parseHealthTest(source: YamlSource, path: Path, value: unknown): Pick<HealthcheckConfig, 'kind' | 'target'> | undefined {
  const example = 'test: ["CMD", "curl", "-f", "http://127.0.0.1:3000/up"]'
  if (typeof value === 'string') {
    if (value.trim() === '') source.fail(path, 'is empty', `give the check to run, e.g. ${example}`)
    return {kind: 'shell', target: value}
  }
  if (Array.isArray(value)) {
    const [first, ...rest] = value
    if (first === 'NONE') return undefined
    if (first === 'CMD') {
      const argv = rest.map((item, index) => expectString(source, [...path, index + 1], item, '"curl"'))
      if (argv.length === 0 || argv[0] === '') source.fail(path, 'CMD has no command after it', `write ${example}`)
      return {kind: 'command', target: argv}
    }
    if (first === 'CMD-SHELL') {
      if (rest.length !== 1) source.fail(path, `CMD-SHELL takes one shell string, not ${rest.length}`, 'write ["CMD-SHELL", "curl -f http://127.0.0.1:3000/up || exit 1"]')
      const script = expectString(source, [...path, 1], rest[0], '"curl -f http://127.0.0.1:3000/up"', false)
      if (script.trim() === '') source.fail([...path, 1], 'is empty', 'give the shell command to run')
      return {kind: 'shell', target: script}
    }
    return source.fail(value.length === 0 ? path : [...path, 0], value.length === 0 ? 'is empty' : `must start with CMD, CMD-SHELL or NONE, not ${describe(first)}`, `write ${example}, ["CMD-SHELL", "script"] or ["NONE"]`)
  }
  if (isPlainMap(value)) {
    checkKeys(source, path, value, ['http', 'tcp'])
    const kinds = Object.keys(value)
    if (kinds.length !== 1) source.fail(path, kinds.length === 0 ? 'is empty' : 'has both http and tcp', 'give one of {http: URL} or {tcp: HOST:PORT}')
    if (value.http !== undefined) {
      const url = expectString(source, [...path, 'http'], value.http, 'http: "http://127.0.0.1:3000/up"', false)
      return {kind: 'http', target: source.check([...path, 'http'], field => parseHttpTarget(field, url))}
    }
    const address = typeof value.tcp === 'number' ? `127.0.0.1:${value.tcp}` : expectString(source, [...path, 'tcp'], value.tcp, 'tcp: "127.0.0.1:3000"', false)
    return {kind: 'tcp', target: source.check([...path, 'tcp'], field => parseTcpTarget(field, address))}
  }
  return typeError(source, path, value, 'a list, a shell string, {http: URL} or {tcp: HOST:PORT}', example)
}

function parseHealthcheck(source: YamlSource, path: Path, value: unknown): HealthcheckConfig | undefined {
  const check = expectMap(source, path, value, 'healthcheck: {test: {http: "http://127.0.0.1:3000/up"}, interval: 5s}')
  checkKeys(source, path, check, Object.keys(HEALTHCHECK_KEYS), {unsupported: HEALTHCHECK_UNSUPPORTED})
  if (check.disable !== undefined && expectBoolean(source, [...path, 'disable'], check.disable, 'disable: true')) return undefined
  if (check.test === undefined) source.fail(path, 'has no test', 'add test:, e.g. test: {http: "http://127.0.0.1:3000/up"}, or disable: true', 'key')
  const test = parseHealthTest(source, [...path, 'test'], check.test)
  if (!test) return undefined
  const timing = {...DEFAULT_HEALTHCHECK_TIMING}
  const positive = (key: string, ms: number) => {
    if (ms <= 0) source.fail([...path, key], 'must be longer than 0', `give a duration such as ${HEALTHCHECK_KEYS[key].example}`)
    return ms
  }
  if (check.interval !== undefined) timing.intervalMs = positive('interval', parseDurationAt(source, [...path, 'interval'], check.interval, 'interval: 5s'))
  if (check.timeout !== undefined) timing.timeoutMs = positive('timeout', parseDurationAt(source, [...path, 'timeout'], check.timeout, 'timeout: 2s'))
  if (check.start_period !== undefined) timing.startPeriodMs = parseDurationAt(source, [...path, 'start_period'], check.start_period, 'start_period: 10s')
  if (check.retries !== undefined) {
    const text = expectString(source, [...path, 'retries'], check.retries, 'retries: 3')
    timing.retries = source.check([...path, 'retries'], field => parseInteger(field, text, 1, 1_000_000, 'give the number of failures in a row that make the app unhealthy, e.g. 3'))
  }
  return {...test, ...timing}
}

function parseLogging(source: YamlSource, path: Path, value: unknown, dir: string, logging: SupervisionConfig['logging']): void {
  const map = expectMap(source, path, value, 'logging: {max_size: 10m, max_files: 5}')
  checkKeys(source, path, map, Object.keys(LOGGING_KEYS))
  if (map.driver !== undefined) {
    const driver = expectString(source, [...path, 'driver'], map.driver, 'driver: json-file', false)
    if (driver !== 'json-file' && driver !== 'local') source.fail([...path, 'driver'], `contain writes its own rotated log files, not the ${JSON.stringify(driver)} driver's`, 'remove driver, or write json-file')
  }
  let size: {value: unknown; path: Path} | undefined = map.max_size === undefined ? undefined : {value: map.max_size, path: [...path, 'max_size']}
  let files: {value: unknown; path: Path} | undefined = map.max_files === undefined ? undefined : {value: map.max_files, path: [...path, 'max_files']}
  if (map.options !== undefined) {
    const optionsPath = [...path, 'options']
    const options = expectMap(source, optionsPath, map.options, 'options: {max-size: 10m, max-file: "5"}')
    checkKeys(source, optionsPath, options, Object.keys(LOGGING_OPTION_KEYS))
    for (const [key, own] of [['max-size', 'max_size'], ['max-file', 'max_files']] as const) {
      if (options[key] === undefined) continue
      if (map[own] !== undefined) source.fail([...optionsPath, key], `repeats ${own}`, `give the value once, as ${own}`, 'key')
      if (key === 'max-size') size = {value: options[key], path: [...optionsPath, key]}
      else files = {value: options[key], path: [...optionsPath, key]}
    }
  }
  if (size) {
    const text = expectString(source, size.path, size.value, 'max_size: 10m')
    logging.maxSizeBytes = source.check(size.path, field => parseLogSize(field, text))
  }
  if (files) {
    const text = expectString(source, files.path, files.value, 'max_files: 5')
    logging.maxFiles = source.check(files.path, field => parseInteger(field, text, 1, 1000, 'keep from 1 to 1000 files'))
  }
  if (map.dir !== undefined) logging.dir = resolve(dir, expectString(source, [...path, 'dir'], map.dir, 'dir: log/contain', false))
}

function parseBackoff(source: YamlSource, path: Path, value: unknown, backoff: SupervisionConfig['backoff']): void {
  const map = expectMap(source, path, value, 'backoff: {initial: 100ms, max: 60s}')
  checkKeys(source, path, map, Object.keys(BACKOFF_KEYS))
  if (map.initial !== undefined) backoff.initialMs = parseDurationAt(source, [...path, 'initial'], map.initial, 'initial: 100ms')
  if (map.max !== undefined) backoff.maxMs = parseDurationAt(source, [...path, 'max'], map.max, 'max: 60s')
  if (map.reset_after !== undefined) backoff.resetAfterMs = parseDurationAt(source, [...path, 'reset_after'], map.reset_after, 'reset_after: 10s')
  for (const [key, min, max] of [['factor', 1, 100], ['jitter', 0, 1]] as const) {
    if (map[key] === undefined) continue
    const text = expectString(source, [...path, key], map[key], `${key}: ${BACKOFF_KEYS[key].example}`)
    backoff[key] = source.check([...path, key], field => parseNumberInRange(field, text, min, max))
  }
  if (backoff.maxMs < backoff.initialMs) {
    source.fail([...path, map.max === undefined ? 'initial' : 'max'], `max (${backoff.maxMs} ms) is shorter than initial (${backoff.initialMs} ms)`, 'make max at least as long as initial')
  }
}

function parseSupervision(source: YamlSource, appPath: Path, app: YamlMap, dir: string): SupervisionConfig {
  const supervision = defaultSupervision()
  const at = (key: string) => [...appPath, key]
  if (app.restart !== undefined) {
    const text = expectString(source, at('restart'), app.restart, 'restart: on-failure', false)
    supervision.restart = source.check(at('restart'), field => parseRestart(field, text))
  }
  if (app.stop_signal !== undefined) {
    const text = expectString(source, at('stop_signal'), app.stop_signal, 'stop_signal: SIGINT')
    supervision.stopSignal = source.check(at('stop_signal'), field => parseSignal(field, text))
  }
  if (app.stop_grace_period !== undefined) supervision.stopGraceMs = parseDurationAt(source, at('stop_grace_period'), app.stop_grace_period, 'stop_grace_period: 30s')
  if (app.healthcheck !== undefined) supervision.healthcheck = parseHealthcheck(source, at('healthcheck'), app.healthcheck)
  if (app.logging !== undefined) parseLogging(source, at('logging'), app.logging, dir, supervision.logging)
  if (app.backoff !== undefined) parseBackoff(source, at('backoff'), app.backoff, supervision.backoff)
  if (app.restart_mode !== undefined) {
    const text = expectString(source, at('restart_mode'), app.restart_mode, 'restart_mode: rolling', false)
    supervision.restartMode = source.check(at('restart_mode'), field => parseRestartMode(field, text))
  }
  parseReplicasAt(source, appPath, app, supervision)
  return supervision
}

/** replicas, compose's scale, or compose's deploy.replicas: one of them, a whole number of at least 1. */
function parseReplicasAt(source: YamlSource, appPath: Path, app: YamlMap, supervision: SupervisionConfig): void {
  const given: Path[] = []
  if (app.deploy !== undefined) {
    const path = [...appPath, 'deploy']
    const deploy = expectMap(source, path, app.deploy, 'deploy: {replicas: 2}')
    const limits = {problem: 'contain reads limits directly under the app', fix: 'use cpus, mem_limit, mem_reservation and pids_limit under the app'}
    checkKeys(source, path, deploy, Object.keys(DEPLOY_KEYS), {unsupported: {resources: limits}, foreign: new Set(['mode', 'placement', 'endpoint_mode', 'labels', 'restart_policy', 'rollback_config', 'update_config'])})
    if (deploy.replicas !== undefined) given.push([...path, 'replicas'])
  }
  if (app.replicas !== undefined) given.push([...appPath, 'replicas'])
  if (app.scale !== undefined) given.push([...appPath, 'scale'])
  if (given.length > 1) source.fail(given[1], `${given.map(path => path.slice(2).join('.')).join(' and ')} both give the number of instances`, 'keep one of them', 'key')
  if (given.length === 0) return
  const path = given[0]
  const value = path.length === 4 ? (app.deploy as YamlMap).replicas : app[path[2]]
  const text = expectString(source, path, value, `${path.slice(2).join('.')}: 2`)
  supervision.replicas = source.check(path, field => parseReplicas(field, text))
}

// ---------------------------------------------------------------------------------------------
// The project
// ---------------------------------------------------------------------------------------------

/** The project's .env: read when it exists; other failures (a directory, no permission) are errors. */
export function readProjectDotenv(dir: string, readFile: (path: string) => string): {path: string; values: Record<string, string>} | undefined {
  const path = join(dir, '.env')
  const values = readEnvFile(path, readFile, true, (problem, fix, cause) => {
    throw new FileError(path, problem, {fix, cause})
  })
  return values && {path, values}
}

async function loadApp(source: YamlSource, appsKey: string, name: string, value: unknown, context: {dir: string; layers: EnvLayers; host: HostFacts; validate: NonNullable<LoadOptions['validate']>}): Promise<AppConfig> {
  const appPath = [appsKey, name]
  const location = source.locate(appPath, 'key')
  if (!APP_NAME_PATTERN.test(name) || name.includes('..')) {
    source.fail(appPath, 'not a valid app name', 'use letters, digits, _, . and -, starting with a letter or digit, at most 63 characters', 'key')
  }
  if (value === null) source.fail(appPath, 'is empty', 'give the app a command, e.g. command: bundle exec rails s', 'key')
  const app = expectMap(source, appPath, value, `${name}: {command: bundle exec rails s}`)
  checkKeys(source, appPath, app, [...appKeys(), ...Object.keys(COMPOSE_REPLICA_KEYS)], {extensions: true, unsupported: COMPOSE_UNSUPPORTED, foreign: COMPOSE_SERVICE_KEYS, aliases: KEY_ALIASES})
  const command = parseCommand(source, appPath, app.command)
  const flags: RawRunFlags = {name}
  readFlags(source, appPath, app, flags, context.dir)
  const {env, files} = parseEnvironment(source, appPath, app, context.layers)
  if (Object.keys(env).length > 0) flags.env = Object.entries(env).map(([key, entry]) => `${key}=${entry}`)
  const supervision = parseSupervision(source, appPath, app, context.dir)
  try {
    await context.validate(flags, command, context.host)
  } catch (error) {
    if (error instanceof InvalidValueError) throw relocate(source, app, appPath, flags, error)
    throw error
  }
  return {name, command, flags, supervision, envFiles: files, location}
}

/**
 * Reads contain.yml (or a Procfile, by its name) into validated apps. Every problem is a FileError
 * `FILE:LINE:COLUMN: apps.web.cpus: PROBLEM` with the fix; the first one found is thrown.
 */
export async function loadProject(file: string, options: LoadOptions = {}): Promise<Project> {
  if (basename(file) === 'Procfile') return (await import('./procfile.js')).loadProcfile(file, options)
  const absolute = resolve(file)
  const dir = dirname(absolute)
  const text = readConfigText(file, options.readFile)
  const source = parseYaml(file, text)
  let root: unknown
  try {
    root = source.doc.toJS({maxAliasCount: 1000})
  } catch (error) {
    throw new FileError(file, `cannot be expanded: ${(error as Error).message}`, {fix: 'use fewer YAML aliases (*name)', cause: error})
  }
  const example = 'apps: {web: {command: bundle exec rails s}}'
  if (root === null || root === undefined) {
    throw new FileError(file, 'is empty', {fix: `describe the apps, e.g. ${example} (contain init writes a commented template)`})
  }
  const top = expectMap(source, [], root, example)
  checkKeys(source, [], top, Object.keys(TOP_KEYS), {extensions: true})
  if (top.apps !== undefined && top.services !== undefined) source.fail(['services'], 'repeats apps (services is compose\'s name for them)', 'put every app under apps', 'key')
  const appsKey = top.services !== undefined ? 'services' : 'apps'
  if (top[appsKey] === undefined) throw new FileError(file, 'has no apps', {fix: `add an apps: section, e.g. ${example}`})
  if (top[appsKey] === null || (isPlainMap(top[appsKey]) && Object.keys(top[appsKey] as YamlMap).length === 0)) {
    source.fail([appsKey], 'has no apps', 'add at least one app with its command under it', 'key')
  }
  const apps = expectMap(source, [appsKey], top[appsKey], example)
  let name = projectNameOf(dir)
  if (top.name !== undefined) {
    name = expectString(source, ['name'], top.name, 'name: shop', false)
    if (!PROJECT_NAME_PATTERN.test(name)) source.fail(['name'], `not a valid project name (${JSON.stringify(name)})`, 'use lowercase letters, digits, _ and -, starting with a letter or digit, at most 63 characters')
  }
  const hostEnv = options.env ?? options.host?.env ?? process.env
  const readFile = options.readFile ?? readUtf8
  const host = options.host ?? defaultHost(dir, hostEnv, readFile)
  const layers: EnvLayers = {dotenv: readProjectDotenv(dir, readFile), hostEnv, readFile, dir}
  const context = {dir, layers, host, validate: options.validate ?? resolveRunOptions}
  const loaded: AppConfig[] = []
  for (const appName of source.keysInOrder([appsKey], apps)) {
    loaded.push(await loadApp(source, appsKey, appName, apps[appName], context))
  }
  return {file: absolute, dir, name, apps: loaded}
}

/** The project in `dir`: contain.yml, contain.yaml or a Procfile. */
export async function loadProjectIn(dir: string, options: LoadOptions = {}): Promise<Project> {
  const file = findProjectFile(dir)
  if (!file) {
    throw new ContainError(`no contain.yml, contain.yaml or Procfile in ${dir}`, {fix: 'run contain init to write a contain.yml, or run contain up in the directory of your project'})
  }
  return loadProject(file, options)
}
