/**
 * The one table of an app's options. Each row is declared once: its flag, its contain.yml key,
 * its type, its help and its example. The oclif flags, the fast `contain run` parser, contain.yml
 * (config/app-keys.ts), the JSON Schema and the README's option list are all read from it, and
 * config/resolve.ts turns the values into typed RunOptions, so none of them can disagree.
 *
 * An option's id is its flag name without dashes ('memory-swap'); messages never spell a flag or
 * a key themselves: they ask an OptionNaming (config/naming.ts) for what the user wrote.
 *
 * Adding an option: one row here (with key and example when contain.yml may set it), then read
 * input[id] in config/resolve.ts into a RunOptions field. Flags, keys, schema and docs follow.
 */
export interface OptionSpec {
  /** Long flag name, without dashes; also the option's id. */
  flag: string
  char?: string
  /** contain.yml key: docker-compose's where compose has one. Absent: the option is command-line only. */
  key?: string
  kind: 'string' | 'boolean'
  multiple?: boolean
  helpValue?: string
  /** A YAML value for the key, for fixes, the schema, the template and the docs (a test loads each one). */
  example?: string
  /** What the option does; {id} stands for another option's flag or key, whichever the reader writes. */
  description: string
}

export const RUN_OPTIONS = [
  {
    flag: 'name',
    kind: 'string',
    helpValue: 'NAME',
    description: 'Name of the app; used in its cgroup name and in messages (default: command name plus a random suffix)',
  },
  {
    flag: 'cpus',
    key: 'cpus',
    kind: 'string',
    helpValue: 'N',
    example: '0.5',
    description: 'CPU limit as a decimal number of CPUs (quota = N x 100000 us per 100000 us period)',
  },
  {
    flag: 'cpu-shares',
    key: 'cpu_shares',
    kind: 'string',
    helpValue: 'N',
    example: '512',
    description: 'Relative CPU weight, 2-262144 (cgroup v2: converted to cpu.weight)',
  },
  {flag: 'cpuset-cpus', key: 'cpuset', kind: 'string', helpValue: 'LIST', example: '"0-1"', description: 'CPUs the app may run on, e.g. 0-1 or 0,2'},
  {
    flag: 'memory',
    char: 'm',
    key: 'mem_limit',
    kind: 'string',
    helpValue: 'SIZE',
    example: '512m',
    description: 'Memory limit (b, k, m, g; at least 6m); the app is OOM-killed above it',
  },
  {
    flag: 'memory-swap',
    key: 'memswap_limit',
    kind: 'string',
    helpValue: 'SIZE',
    example: '1g',
    description: 'Memory plus swap limit, -1 for unlimited swap (default: twice {memory})',
  },
  {
    flag: 'memory-reservation',
    key: 'mem_reservation',
    kind: 'string',
    helpValue: 'SIZE',
    example: '256m',
    description: 'Memory kept from reclaim under pressure (cgroup v2 memory.low, passed on through the cgroups contain makes; v1 soft limit)',
  },
  {
    flag: 'pids-limit',
    key: 'pids_limit',
    kind: 'string',
    helpValue: 'N',
    example: '200',
    description: 'Maximum number of processes and threads, -1 for unlimited',
  },
  {flag: 'hostname', key: 'hostname', kind: 'string', helpValue: 'NAME', example: 'web', description: 'Hostname inside the app (default: the app name)'},
  {
    flag: 'namespaces',
    key: 'namespaces',
    kind: 'string',
    helpValue: 'LIST',
    example: '[pid, mount, uts, ipc, cgroup]',
    description: 'Namespaces to create: an exact list (pid,mount,uts,ipc,cgroup,net,user), or edits of the default such as -ipc,+net',
  },
  {
    flag: 'network',
    key: 'network_mode',
    kind: 'string',
    helpValue: 'host|none',
    example: 'none',
    description: 'host shares the host network (default); none gives the app only a loopback device',
  },
  {
    flag: 'listen',
    key: 'listen',
    kind: 'string',
    multiple: true,
    helpValue: '[NAME=]ADDRESS',
    example: '["tcp://127.0.0.1:3000"]',
    description:
      'A socket contain binds (as root, before the launch) and holds across restarts: tcp://IP:PORT or unix:///PATH; the app gets it as fd 3 and up with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES (systemd socket activation)',
  },
  {
    flag: 'userns',
    key: 'userns',
    kind: 'boolean',
    example: 'true',
    description: 'Create a user namespace that maps the caller to root inside (the path for non-root users)',
  },
  {
    flag: 'env',
    char: 'e',
    key: 'environment',
    kind: 'string',
    multiple: true,
    helpValue: 'KEY=VALUE',
    example: '{RAILS_ENV: production}',
    description: 'Set an environment variable (KEY alone passes the host value through)',
  },
  {
    flag: 'env-file',
    key: 'env_file',
    kind: 'string',
    multiple: true,
    helpValue: 'PATH',
    example: '.env.production',
    description: 'Read environment variables from a dotenv file',
  },
  {
    flag: 'workdir',
    char: 'w',
    key: 'working_dir',
    kind: 'string',
    helpValue: 'DIR',
    example: '.',
    description: 'Working directory of the app (default: the current directory)',
  },
  {
    flag: 'user',
    char: 'u',
    key: 'user',
    kind: 'string',
    helpValue: 'UID[:GID]',
    example: '"1000:1000"',
    description: 'Run the app as this user (name or number) and group (default as root: the owner of the working directory; 0 or root for host root)',
  },
  {
    flag: 'view',
    key: 'view',
    kind: 'string',
    helpValue: 'contained|host',
    example: 'contained',
    description:
      "contained (default): the app sees the system directories read-only, its own directory, its volumes and a private /tmp, /run and /dev, nothing else of the host; host: the host's filesystem as it is (warns)",
  },
  {
    flag: 'volume',
    char: 'v',
    key: 'volumes',
    kind: 'string',
    multiple: true,
    helpValue: 'HOST:CONTAINER[:ro|rw]',
    example: '["/usr/share/zoneinfo:/srv/zoneinfo:ro"]',
    description: "Show a host path inside the app (HOST from the current directory, or contain.yml's, when relative)",
  },
  {
    flag: 'read-only',
    key: 'read_only',
    kind: 'boolean',
    example: 'true',
    description: "Make the app's directory (view host: every filesystem) read-only, except {tmpfs} and {writable} paths",
  },
  {
    flag: 'tmpfs',
    key: 'tmpfs',
    kind: 'string',
    multiple: true,
    helpValue: 'PATH[:exec]',
    example: '[/tmp]',
    description: 'Mount an empty tmpfs at PATH: nosuid, nodev, and noexec unless :exec (size with :size=64m)',
  },
  {flag: 'shm-size', key: 'shm_size', kind: 'string', helpValue: 'SIZE', example: '128m', description: "Size of the app's private /dev/shm (default 64m)"},
  {
    flag: 'writable',
    key: 'writable',
    kind: 'string',
    multiple: true,
    helpValue: 'PATH',
    example: '[tmp, log]',
    description: 'With {read-only}: keep PATH writable',
  },
  {
    flag: 'device',
    key: 'devices',
    kind: 'string',
    multiple: true,
    helpValue: 'HOST[:CONTAINER][:rwm]',
    example: '["/dev/fuse:/dev/fuse:rwm"]',
    description:
      "Let the app use this host device node (r read, w write, m mknod; default rwm): every other device but Docker's default set is refused by the kernel",
  },
  {
    flag: 'cap-add',
    key: 'cap_add',
    kind: 'string',
    multiple: true,
    helpValue: 'CAP',
    example: '[NET_BIND_SERVICE]',
    description: "Add a capability to the default 11 (Docker's 14 without NET_RAW, MKNOD, AUDIT_WRITE; ALL for every one; with or without CAP_)",
  },
  {flag: 'cap-drop', key: 'cap_drop', kind: 'string', multiple: true, helpValue: 'CAP', example: '[ALL]', description: 'Drop a capability (ALL for every one)'},
  {flag: 'privileged', key: 'privileged', kind: 'boolean', example: 'false', description: 'Every capability and no seccomp filter: turns the protection off'},
  {
    flag: 'seccomp',
    key: 'seccomp',
    kind: 'string',
    helpValue: 'default|unconfined|PATH',
    example: 'default',
    description: "Seccomp profile in Docker's JSON format (default: contain's, as strict as Docker's)",
  },
  {
    flag: 'seccomp-mode',
    key: 'seccomp_mode',
    kind: 'string',
    helpValue: 'enforce|complain',
    example: 'complain',
    description: 'complain: denials are only logged, and listed by name when the app ends (root)',
  },
  {
    flag: 'seccomp-strict',
    key: 'seccomp_strict',
    kind: 'boolean',
    example: 'true',
    description: 'Unknown syscall names in the profile are an error instead of a warning',
  },
  {
    flag: 'security-opt',
    key: 'security_opt',
    kind: 'string',
    multiple: true,
    helpValue: 'OPT',
    example: '[no-new-privileges]',
    description: "Docker's forms: seccomp=PROFILE, no-new-privileges[=true|false]",
  },
  {flag: 'dry-run', kind: 'boolean', description: 'Print every cgroup file that would be written and the full argv, and run nothing'},
  {flag: 'json', kind: 'boolean', description: 'Print machine-readable JSON (the plan with {dry-run}, the outcome otherwise) on stdout'},
] as const satisfies readonly OptionSpec[]

type Spec = (typeof RUN_OPTIONS)[number]

/** An option's id: its flag name without dashes. */
export type OptionId = Spec['flag']
type ValueOf<S extends Spec> = S extends {kind: 'boolean'} ? boolean : S extends {multiple: true} ? string[] : string

/** Option values as the user wrote them (a flag's text, a YAML scalar as text), before validation. */
export type RawRunFlags = {-readonly [S in Spec as S['flag']]?: ValueOf<S>}

/**
 * What the resolver takes: the values as written, by option id, and (from contain.yml or a
 * Procfile) the environment its files already layered, below the -e values.
 */
export type OptionInput = Omit<RawRunFlags, 'namespaces'> & {
  /** A --namespaces list (pid,-ipc) or contain.yml's list of the same entries. */
  namespaces?: string | string[]
  /** The app's environment from contain.yml's layers (.env < env_file < environment), or a Procfile's. */
  environment?: Record<string, string>
}

/** The options contain.yml can set, in table order. */
export const FILE_OPTIONS = (RUN_OPTIONS as readonly OptionSpec[]).filter((spec): spec is OptionSpec & {key: string; example: string} => spec.key !== undefined)

/** The row of an option id. */
export function optionSpec(id: string): OptionSpec | undefined {
  return (RUN_OPTIONS as readonly OptionSpec[]).find(spec => spec.flag === id)
}

/** An option's description, with each {id} in it named as `name` names options. */
export function describeOption(spec: OptionSpec, name: (id: string) => string): string {
  return spec.description.replace(/\{([a-z-]+)\}/g, (whole, id: string) => (optionSpec(id) ? name(id) : whole))
}
