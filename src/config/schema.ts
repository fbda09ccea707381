/**
 * The one description of an app's options. The oclif flags, the fast `contain run` parser and
 * (later) contain.yml are all read from this table, so they can never disagree.
 */
export interface OptionSpec {
  /** Long flag name, without dashes. */
  flag: string
  char?: string
  /** docker-compose key for the same option, where compose has one. */
  composeKey?: string
  kind: 'string' | 'boolean'
  multiple?: boolean
  helpValue?: string
  description: string
}

export const RUN_OPTIONS = [
  {flag: 'name', kind: 'string', helpValue: 'NAME', description: 'Name of the app; used in its cgroup name and in messages (default: command name plus a random suffix)'},
  {flag: 'cpus', composeKey: 'cpus', kind: 'string', helpValue: 'N', description: 'CPU limit as a decimal number of CPUs (quota = N x 100000 us per 100000 us period)'},
  {flag: 'cpu-shares', composeKey: 'cpu_shares', kind: 'string', helpValue: 'N', description: 'Relative CPU weight, 2-262144 (cgroup v2: converted to cpu.weight)'},
  {flag: 'cpuset-cpus', composeKey: 'cpuset', kind: 'string', helpValue: 'LIST', description: 'CPUs the app may run on, e.g. 0-1 or 0,2'},
  {flag: 'memory', char: 'm', composeKey: 'mem_limit', kind: 'string', helpValue: 'SIZE', description: 'Memory limit (b, k, m, g; at least 6m); the app is OOM-killed above it'},
  {flag: 'memory-swap', composeKey: 'memswap_limit', kind: 'string', helpValue: 'SIZE', description: 'Memory plus swap limit, -1 for unlimited swap (default: twice --memory)'},
  {flag: 'memory-reservation', composeKey: 'mem_reservation', kind: 'string', helpValue: 'SIZE', description: 'Soft memory limit (cgroup v2 memory.low, v1 soft limit)'},
  {flag: 'pids-limit', composeKey: 'pids_limit', kind: 'string', helpValue: 'N', description: 'Maximum number of processes and threads, -1 for unlimited'},
  {flag: 'hostname', composeKey: 'hostname', kind: 'string', helpValue: 'NAME', description: 'Hostname inside the app (default: the app name)'},
  {flag: 'namespaces', kind: 'string', helpValue: 'LIST', description: 'Namespaces to create: an exact list (pid,mount,uts,ipc,cgroup,net,user), or edits of the default such as -ipc,+net'},
  {flag: 'network', composeKey: 'network_mode', kind: 'string', helpValue: 'host|none', description: 'host shares the host network (default); none gives the app only a loopback device'},
  {flag: 'listen', composeKey: 'listen', kind: 'string', multiple: true, helpValue: '[NAME=]ADDRESS', description: 'A socket contain binds (as root, before the launch) and holds across restarts: tcp://IP:PORT or unix:///PATH; the app gets it as fd 3 and up with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES (systemd socket activation)'},
  {flag: 'userns', kind: 'boolean', description: 'Create a user namespace that maps the caller to root inside (the path for non-root users)'},
  {flag: 'env', char: 'e', composeKey: 'environment', kind: 'string', multiple: true, helpValue: 'KEY=VALUE', description: 'Set an environment variable (KEY alone passes the host value through)'},
  {flag: 'env-file', composeKey: 'env_file', kind: 'string', multiple: true, helpValue: 'PATH', description: 'Read environment variables from a dotenv file'},
  {flag: 'workdir', char: 'w', composeKey: 'working_dir', kind: 'string', helpValue: 'DIR', description: 'Working directory of the app (default: the current directory)'},
  {flag: 'user', char: 'u', composeKey: 'user', kind: 'string', helpValue: 'UID[:GID]', description: 'Run the app as this user (name or number) and group (default as root: the owner of the working directory; 0 or root for host root)'},
  {flag: 'view', composeKey: 'view', kind: 'string', helpValue: 'contained|host', description: 'contained (default): the app sees the system directories read-only, its own directory, its volumes and a private /tmp, /run and /dev, nothing else of the host; host: the host\'s filesystem as it is (warns)'},
  {flag: 'volume', char: 'v', composeKey: 'volumes', kind: 'string', multiple: true, helpValue: 'HOST:CONTAINER[:ro|rw]', description: 'Show a host path inside the app (HOST from the current directory, or contain.yml\'s, when relative)'},
  {flag: 'read-only', composeKey: 'read_only', kind: 'boolean', description: 'Make the app\'s directory (view host: every filesystem) read-only, except --tmpfs and --writable paths'},
  {flag: 'tmpfs', composeKey: 'tmpfs', kind: 'string', multiple: true, helpValue: 'PATH[:exec]', description: 'Mount an empty tmpfs at PATH: nosuid, nodev, and noexec unless :exec (size with :size=64m)'},
  {flag: 'shm-size', composeKey: 'shm_size', kind: 'string', helpValue: 'SIZE', description: 'Size of the app\'s private /dev/shm (default 64m)'},
  {flag: 'writable', kind: 'string', multiple: true, helpValue: 'PATH', description: 'With --read-only: keep PATH writable'},
  {flag: 'device', composeKey: 'devices', kind: 'string', multiple: true, helpValue: 'HOST[:CONTAINER][:rwm]', description: 'Let the app use this host device node (r read, w write, m mknod; default rwm): every other device but Docker\'s default set is refused by the kernel'},
  {flag: 'cap-add', composeKey: 'cap_add', kind: 'string', multiple: true, helpValue: 'CAP', description: 'Add a capability to the default 11 (Docker\'s 14 without NET_RAW, MKNOD, AUDIT_WRITE; ALL for every one; with or without CAP_)'},
  {flag: 'cap-drop', composeKey: 'cap_drop', kind: 'string', multiple: true, helpValue: 'CAP', description: 'Drop a capability (ALL for every one)'},
  {flag: 'privileged', composeKey: 'privileged', kind: 'boolean', description: 'Every capability and no seccomp filter: turns the protection off'},
  {flag: 'seccomp', kind: 'string', helpValue: 'default|unconfined|PATH', description: 'Seccomp profile in Docker\'s JSON format (default: contain\'s, as strict as Docker\'s)'},
  {flag: 'seccomp-mode', kind: 'string', helpValue: 'enforce|complain', description: 'complain: denials are only logged, and listed by name when the app ends (root)'},
  {flag: 'seccomp-strict', kind: 'boolean', description: 'Unknown syscall names in the profile are an error instead of a warning'},
  {flag: 'security-opt', composeKey: 'security_opt', kind: 'string', multiple: true, helpValue: 'OPT', description: 'Docker\'s forms: seccomp=PROFILE, no-new-privileges[=true|false]'},
  {flag: 'dry-run', kind: 'boolean', description: 'Print every cgroup file that would be written and the full argv, and run nothing'},
  {flag: 'json', kind: 'boolean', description: 'Print machine-readable JSON (the plan with --dry-run, the outcome otherwise) on stdout'},
] as const satisfies readonly OptionSpec[]

type Spec = (typeof RUN_OPTIONS)[number]
type ValueOf<S extends Spec> = S extends {kind: 'boolean'} ? boolean : S extends {multiple: true} ? string[] : string

/** Flag values as typed on the command line, before validation. */
export type RawRunFlags = {-readonly [S in Spec as S['flag']]?: ValueOf<S>}
