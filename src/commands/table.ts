/**
 * The one table of contain's commands: each one's id, help, flags, arguments and examples, and
 * its handler, imported only when the command runs. Both entries read it: bin/run.js's fast
 * bundles for the hot commands (run, up: src/cli/run-fast.ts, up-fast.ts) and oclif for help,
 * completion and the others (src/cli/oclif.ts). cli/parse.ts is the one grammar for all of them.
 *
 * Each command is an exported const of plain data, so that a fast bundle which imports one of
 * them leaves the others, and their handlers, out (esbuild drops what is not used).
 */
import {describeOption, RUN_OPTIONS, type OptionSpec} from '../config/schema.js'
import {SECCOMP_ARCHES} from '../seccomp/syscalls.js'
import type {CommandSpec, FlagSpec} from './spec.js'

/**
 * The rows share flags through calls marked pure, never an object spread: esbuild counts a spread
 * as a possible side effect and would then keep every row, and every handler, in a fast bundle.
 */
const withFlags = (...parts: Record<string, FlagSpec>[]): Record<string, FlagSpec> => Object.fromEntries(parts.flatMap(part => Object.entries(part)))

const PROJECT_FILE_DESCRIPTION = 'The project file (default: contain.yml, contain.yaml or Procfile in this directory)'
/** The flag every project command takes: which contain.yml (default: the one in this directory). */
const PROJECT_FLAGS: Record<string, FlagSpec> = {file: {kind: 'string', char: 'f', helpValue: 'FILE', description: PROJECT_FILE_DESCRIPTION}}

const CAPABILITY_FLAGS: Record<string, FlagSpec> = {
  'cap-add': {
    kind: 'string',
    multiple: true,
    helpValue: 'CAP',
    description: "Add a capability to contain's default set (Docker's 14 without NET_RAW, MKNOD, AUDIT_WRITE; includes/excludes test it)",
  },
  'cap-drop': {kind: 'string', multiple: true, helpValue: 'CAP', description: "Drop a capability from contain's default set"},
  privileged: {kind: 'boolean', description: 'Every capability, as contain run --privileged'},
}

/** `contain run`'s flags are the app options of config/schema.ts, which contain.yml shares. */
function runFlags(): Record<string, FlagSpec> {
  return Object.fromEntries(
    (RUN_OPTIONS as readonly OptionSpec[]).map(spec => [
      spec.flag,
      {kind: spec.kind, char: spec.char, helpValue: spec.helpValue, multiple: spec.multiple, description: describeOption(spec, id => `--${id}`)},
    ]),
  )
}

export const run: CommandSpec = {
  id: 'run',
  hot: true,
  summary: 'Run one command isolated and limited, in the foreground',
  description:
    "Creates a cgroup below contain's own with the given limits, new namespaces through util-linux unshare, and runs the command under a small PID 1. Exits with the command's status (128+N when it died of signal N, 137 when OOM-killed).",
  usage: 'run [FLAGS] [--] COMMAND [ARG...]',
  examples: [
    '--cpus 0.5 --memory 512m -- bundle exec rails s',
    '--hostname web --read-only --tmpfs /tmp -- sh -c "hostname; ps"',
    '--dry-run --memory 64m -- true',
    '-m 64m -e A=1 -e B=2 --memory-swap -1 ls -la',
  ],
  flags: /* @__PURE__ */ runFlags(),
  rest: {kind: 'command', name: 'COMMAND', description: 'The command and its arguments'},
  load: () => import('./run.js'),
}

export const up: CommandSpec = {
  id: 'up',
  hot: true,
  summary: 'Start the apps of contain.yml and supervise them',
  description:
    "Runs in the foreground with every app's output prefixed by its name, until every app has ended or you press Ctrl-C (a second Ctrl-C kills). With -d the supervisor keeps running in the background. On a project that runs, applies contain.yml as compose does: new apps started, removed ones stopped, changed ones recreated, the rest left alone; one line per app says which.",
  examples: ['', 'web', '-d', '-f deploy/contain.yml', '-d --json', '-d --no-recreate', '--reload --file /srv/shop/contain.yml web'],
  flags: /* @__PURE__ */ withFlags(PROJECT_FLAGS, {
    detach: {kind: 'boolean', char: 'd', description: 'Run the supervisor in the background'},
    supervise: {kind: 'boolean', hidden: true, description: 'Be the detached supervisor (started by up -d)'},
    'no-color': {kind: 'boolean', description: 'Do not color the app prefixes'},
    'no-recreate': {
      kind: 'boolean',
      description: 'On a project that runs: start new apps, stop removed ones, but leave changed ones as they run',
    },
    'force-recreate': {kind: 'boolean', description: 'On a project that runs: recreate every app, changed or not'},
    reload: {
      kind: 'boolean',
      description: "Only apply the file to the project that runs, never start it: exit 125 when it does not run (systemd's ExecReload)",
    },
    json: {kind: 'boolean', description: 'Print what was done to each app (started, recreated, unchanged, removed) as JSON'},
  }),
  rest: {kind: 'apps', name: 'APPS', description: 'Apps to start (default: all)'},
  load: () => import('./up.js'),
}

export const ps: CommandSpec = {
  id: 'ps',
  summary: 'List the apps of this project (or of every project on the host): state, pid, uptime, restarts, CPU, memory, health',
  examples: ['', '--json', '--all'],
  flags: /* @__PURE__ */ withFlags(PROJECT_FLAGS, {
    all: {
      kind: 'boolean',
      char: 'a',
      description: 'Every project on the host (its directory, supervisor pid and state directory) with its apps',
      exclusive: ['file'],
    },
    json: {kind: 'boolean', description: 'An array of objects with name, state, pid, restarts, ...; with --all, one object per project with its apps'},
  }),
  load: () => import('./ps.js'),
}

export const logs: CommandSpec = {
  id: 'logs',
  summary: "Show an app's output, from its log file",
  examples: ['web', 'web -f -n 100', 'web --since 10m -t'],
  flags: {
    // -f is --follow here, as in `docker logs -f`.
    file: {kind: 'string', helpValue: 'FILE', description: PROJECT_FILE_DESCRIPTION},
    follow: {kind: 'boolean', char: 'f', description: 'Keep printing new lines, across rotations, until Ctrl-C'},
    tail: {kind: 'integer', char: 'n', min: 0, helpValue: 'N', description: 'Only the last N lines'},
    since: {kind: 'string', helpValue: 'TIME', description: 'Only lines since a time or a duration ago (10m, 1h)'},
    timestamps: {kind: 'boolean', char: 't', description: "Show each line's time"},
  },
  args: [{name: 'app', description: 'The app', required: true}],
  load: () => import('./logs.js'),
}

export const exec: CommandSpec = {
  id: 'exec',
  summary: 'Run a command inside a running app: its namespaces, cgroup, user, capabilities and seccomp filter',
  usage: 'exec APP [--] COMMAND [ARG...]',
  examples: ['web -- ps', 'web -- bundle exec rails console'],
  flags: PROJECT_FLAGS,
  args: [{name: 'app', description: 'The app', required: true}],
  rest: {kind: 'command', name: 'COMMAND', description: 'The command and its arguments'},
  load: () => import('./exec.js'),
}

const APPS_DEFAULT_ALL = {kind: 'apps', name: 'APPS', description: 'Apps (default: all)'} as const

export const stop: CommandSpec = {
  id: 'stop',
  summary: 'Stop apps gracefully (stop_signal, then SIGKILL after stop_grace_period); they stay stopped',
  examples: ['web', ''],
  flags: PROJECT_FLAGS,
  rest: APPS_DEFAULT_ALL,
  load: () => import('./stop.js'),
}

export const start: CommandSpec = {
  id: 'start',
  summary: 'Start stopped apps again',
  examples: ['web', ''],
  flags: PROJECT_FLAGS,
  rest: APPS_DEFAULT_ALL,
  load: () => import('./start.js'),
}

export const restart: CommandSpec = {
  id: 'restart',
  summary: 'Stop and start apps',
  examples: ['web', ''],
  flags: PROJECT_FLAGS,
  rest: APPS_DEFAULT_ALL,
  load: () => import('./restart.js'),
}

export const down: CommandSpec = {
  id: 'down',
  summary: "Stop every app of the project, remove their cgroups and the supervisor's state",
  examples: [''],
  flags: PROJECT_FLAGS,
  load: () => import('./down.js'),
}

export const stats: CommandSpec = {
  id: 'stats',
  summary: 'Live resource use per app: CPU %, throttled periods, memory (anon, file), pids, pressure',
  examples: ['', 'web --no-stream --json'],
  flags: /* @__PURE__ */ withFlags(PROJECT_FLAGS, {
    'no-stream': {kind: 'boolean', description: 'Print one sample and exit'},
    json: {kind: 'boolean', description: 'Print JSON (one array per sample)'},
  }),
  rest: APPS_DEFAULT_ALL,
  load: () => import('./stats.js'),
}

export const inspect: CommandSpec = {
  id: 'inspect',
  summary: "Show an app's effective configuration, state and last exit (code, signal, oomKilled)",
  examples: ['web', 'web --json'],
  flags: /* @__PURE__ */ withFlags(PROJECT_FLAGS, {json: {kind: 'boolean', description: 'Print JSON'}}),
  args: [{name: 'app', description: 'The app', required: true}],
  load: () => import('./inspect.js'),
}

export const init: CommandSpec = {
  id: 'init',
  summary: 'Write a commented contain.yml for this directory (Rails app, Procfile)',
  description:
    'Detects a Rails app (a Gemfile naming rails or railties, with config.ru or bin/rails) and a Procfile, and proposes limits, a read-only root with tmp/ and log/ writable, and the /up health check. Never writes over an existing contain.yml without --force.',
  examples: ['', '--force', '--json'],
  flags: {
    force: {kind: 'boolean', description: 'Replace an existing contain.yml'},
    json: {kind: 'boolean', description: 'Print what was written as JSON'},
  },
  load: () => import('./init.js'),
}

export const doctor: CommandSpec = {
  id: 'doctor',
  summary: 'Check what this host offers contain, and how to fix what is missing',
  examples: ['', '--json'],
  flags: {json: {kind: 'boolean', description: 'Print the checks as JSON'}},
  load: () => import('./doctor.js'),
}

export const systemd: CommandSpec = {
  id: 'systemd',
  summary: 'Write a systemd unit that runs apps of contain.yml under contain up (Type=notify, Delegate=yes)',
  description:
    "contain up runs in the foreground as the unit's main process: it reports READY=1 once the apps' health checks pass, restarts them by their restart: policy (systemd restarts only contain itself) and stops them gracefully. One unit per project: give it every app it should run.",
  examples: [
    'web',
    'web worker --output /etc/systemd/system/contain-shop.service',
    'web --user --output ~/.config/systemd/user/contain-shop-web.service',
    'web --socket-units --output /etc/systemd/system/contain-shop-web.service',
  ],
  flags: /* @__PURE__ */ withFlags(PROJECT_FLAGS, {
    user: {kind: 'boolean', description: 'A user unit (systemctl --user) instead of a system one'},
    output: {kind: 'string', char: 'o', helpValue: 'FILE', description: 'Write the unit to FILE instead of printing it'},
    'socket-units': {
      kind: 'boolean',
      description:
        "Also a .socket unit (beside --output FILE) in which systemd holds the apps' listen: sockets; contain takes them from it, so ports stay open across a restart of contain or a reload",
    },
  }),
  rest: {kind: 'apps', name: 'APPS', description: 'The app(s) the unit runs', required: true},
  load: () => import('./systemd.js'),
}

export const seccompCheck: CommandSpec = {
  id: 'seccomp:check',
  summary: 'Validate a seccomp profile and show what its filter does on each architecture',
  description:
    'Reads a Docker-format seccomp profile the way contain run does, applies includes/excludes for the capability set, compiles the filter for x86_64 and aarch64, and counts the syscalls it allows, denies, kills or leaves to the arguments. Exits 125 with the file, rule and field when the profile is invalid.',
  examples: ['default', './profile.json --strict', './profile.json --cap-add SYS_ADMIN --json'],
  flags: /* @__PURE__ */ withFlags(
    {
      json: {kind: 'boolean', description: 'Print the summary as JSON'},
      strict: {kind: 'boolean', description: 'Unknown syscall and architecture names are errors, not warnings'},
    },
    CAPABILITY_FLAGS,
  ),
  args: [{name: 'profile', description: 'Path to the profile (Docker JSON), or "default" for contain\'s own', required: true}],
  load: () => import('./seccomp-check.js'),
}

export const seccompExplain: CommandSpec = {
  id: 'seccomp:explain',
  summary: 'Show what the seccomp filter does with one syscall on this host, and which rule decides',
  description:
    "Evaluates the effective filter (the profile after includes/excludes for the capability set) for SYSCALL on this host's architecture, with the given argument values (missing ones are 0), and names the deciding rule with its comment, or says that the default action decides.",
  examples: ['keyctl', 'socket --arg 0=40', 'mount --profile ./profile.json --cap-add SYS_ADMIN'],
  flags: /* @__PURE__ */ withFlags(
    {
      profile: {kind: 'string', default: 'default', helpValue: 'PROFILE', description: 'Path to the profile (Docker JSON), or "default" for contain\'s own'},
    },
    CAPABILITY_FLAGS,
    {
      arg: {
        kind: 'string',
        multiple: true,
        helpValue: 'N=VALUE',
        description: 'An argument value, N=VALUE with N from 0 to 5 (e.g. 0=40 for socket(AF_VSOCK))',
      },
      arch: {kind: 'option', options: SECCOMP_ARCHES, description: "Explain for this architecture instead of this host's"},
      json: {kind: 'boolean', description: 'Print the explanation as JSON'},
    },
  ),
  args: [{name: 'syscall', description: 'Syscall name, e.g. openat', required: true}],
  load: () => import('./seccomp-explain.js'),
}

/** Every command, in help's order. */
export const COMMANDS: readonly CommandSpec[] = [
  doctor,
  down,
  exec,
  init,
  inspect,
  logs,
  ps,
  restart,
  run,
  seccompCheck,
  seccompExplain,
  start,
  stats,
  stop,
  systemd,
  up,
]
