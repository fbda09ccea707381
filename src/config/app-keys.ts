/**
 * The keys of contain.yml beside the options (those are RUN_OPTIONS' rows with a key, in
 * schema.ts): top-level, supervision and their sub-keys, and the docker-compose keys contain
 * names when it refuses them. The loader, the JSON Schema and the docs read these tables.
 */
import {FILE_OPTIONS} from './schema.js'

/** A key contain.yml reads that is not a `contain run` flag, with what it holds. */
export interface KeyDoc {
  description: string
  example?: string
}

export const TOP_KEYS: Record<string, KeyDoc> = {
  apps: {description: 'The apps of this project, by name. Each name: letters, digits, _ . -, starting with a letter or digit, at most 63 characters'},
  services: {description: "docker-compose's name for apps; give one of apps or services"},
  name: {
    description:
      'Project name, at most 63 characters (default: the directory name, lowercased, without other characters than a-z 0-9 _ -). One directory at a time runs under a name on a host: contain up of another directory with the same name is refused',
    example: 'shop',
  },
  version: {description: 'Ignored, as docker-compose ignores it'},
}

export const APP_KEYS: Record<string, KeyDoc> = {
  command: {
    description:
      'The command to run: a list (argv), or a string split into words as a shell would, without expanding $VARIABLES, globs or operators (use [sh, -c, "..."] for those)',
    example: 'bundle exec rails s -p 3000',
  },
  restart: {
    description: 'When to restart the app: no (default), always, unless-stopped, on-failure, or on-failure:N to give up after N restarts',
    example: 'on-failure:3',
  },
  healthcheck: {
    description:
      'How to tell the app is healthy: test is ["CMD", argv...], ["CMD-SHELL", "script"], a shell string, {http: URL} (healthy on 2xx/3xx), {tcp: HOST:PORT} (healthy when it accepts a connection), or ["NONE"]',
  },
  stop_signal: {description: 'Signal that asks the app to stop (default SIGTERM)', example: 'SIGINT'},
  stop_grace_period: {description: 'Time from stop_signal to SIGKILL (default 10s)', example: '30s'},
  logging: {description: 'Log files of the app: rotated at max_size, max_files kept (default 10m x 5)'},
  backoff: {description: 'Delay between restarts: initial, doubled (factor) up to max, +/- jitter; reset after a run of reset_after'},
  restart_mode: {
    description:
      'How contain restart, a restart by policy after a failed health check and contain up with a changed app replace a running instance: rolling starts the new one beside the old one on the same listen: sockets and stops the old one once the new one is healthy; stop-first stops, then starts. Default: rolling with listen:, else stop-first',
    example: 'rolling',
  },
  replicas: {
    description: 'Instances of the app, at least 1 (default 1): each its own process tree and cgroup, all on the same listen: sockets; rolled one at a time',
    example: '2',
  },
}

/** docker-compose's other spellings of replicas: read, and shown in the JSON Schema, but not in the template (one spelling is enough). */
export const COMPOSE_REPLICA_KEYS: Record<string, KeyDoc> = {
  scale: {description: "docker-compose's name for replicas", example: '2'},
  deploy: {description: "docker-compose's deploy: only replicas is read (limits go directly under the app)"},
}

export const DEPLOY_KEYS: Record<string, KeyDoc> = {
  replicas: {description: 'Same as replicas', example: '2'},
}

export const HEALTHCHECK_KEYS: Record<string, KeyDoc> = {
  test: {
    description:
      '["CMD", argv...] runs a command; ["CMD-SHELL", "script"] or a string runs /bin/sh -c; {http: URL} GETs the URL (healthy on 2xx/3xx); {tcp: HOST:PORT} connects (a bare port means 127.0.0.1:PORT); ["NONE"] disables',
    example: '{http: "http://127.0.0.1:3000/up"}',
  },
  interval: {description: 'Time between checks (default 30s)', example: '5s'},
  timeout: {description: 'Time a check may take (default 30s)', example: '2s'},
  retries: {description: 'Consecutive failures before the app counts as unhealthy (default 3)', example: '3'},
  start_period: {description: 'Failures in this time after start do not count (default 0s)', example: '10s'},
  disable: {description: 'true: no healthcheck', example: 'true'},
}

export const LOGGING_KEYS: Record<string, KeyDoc> = {
  max_size: {description: 'Rotate a log file at this size (b, k, m, g; default 10m)', example: '10m'},
  max_files: {description: 'Log files kept, the current one included (default 5)', example: '5'},
  dir: {description: "Directory of the log files, relative to contain.yml (default: contain's state directory)", example: 'log/contain'},
  driver: {description: "docker-compose's form: json-file or local (contain writes its own rotated files either way)", example: 'json-file'},
  options: {description: "docker-compose's form: max-size and max-file"},
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
export const COMPOSE_UNSUPPORTED: Record<string, {problem: string; fix: string}> = {
  image: {problem: 'contain runs commands from the host filesystem, not images', fix: 'remove image and give the command to run in command'},
  build: {problem: 'contain runs commands from the host filesystem and builds nothing', fix: 'remove build; build the app before contain up'},
  ports: {
    problem: 'apps share the host network (or have none), so there are no ports to publish',
    fix: 'remove ports; the app binds its port on the host directly',
  },
  expose: {problem: 'apps share the host network (or have none), so there are no ports to expose', fix: 'remove expose'},
  entrypoint: {problem: 'there is no image entrypoint to override', fix: 'put the whole command line in command'},
  container_name: {problem: "the app's name is its key under apps", fix: "rename the app's key instead"},
  networks: {problem: 'apps use the host network or none', fix: 'use network_mode: host or network_mode: none'},
  userns_mode: {problem: 'contain chooses the user namespace with its own key', fix: 'use userns: true for a user namespace'},
  pid: {problem: 'contain chooses namespaces with its own key', fix: "use namespaces, e.g. namespaces: [-pid] to share the host's pids"},
  ipc: {problem: 'contain chooses namespaces with its own key', fix: "use namespaces, e.g. namespaces: [-ipc] to share the host's IPC"},
  uts: {problem: 'contain chooses namespaces with its own key', fix: "use namespaces, e.g. namespaces: [-uts] to share the host's hostname"},
  cgroup: {problem: 'contain chooses namespaces with its own key', fix: 'use namespaces, e.g. namespaces: [-cgroup]'},
}

/** docker-compose service keys, so a compose file's leftovers are named as such, not as typos. */
export const COMPOSE_SERVICE_KEYS = new Set([
  'annotations',
  'attach',
  'blkio_config',
  'build',
  'cgroup',
  'cgroup_parent',
  'configs',
  'container_name',
  'cpu_count',
  'cpu_percent',
  'cpu_period',
  'cpu_quota',
  'cpu_rt_period',
  'cpu_rt_runtime',
  'credential_spec',
  'depends_on',
  'deploy',
  'develop',
  'device_cgroup_rules',
  'devices',
  'dns',
  'dns_opt',
  'dns_search',
  'domainname',
  'entrypoint',
  'expose',
  'extends',
  'external_links',
  'extra_hosts',
  'gpus',
  'group_add',
  'image',
  'init',
  'ipc',
  'isolation',
  'labels',
  'links',
  'mac_address',
  'mem_swappiness',
  'networks',
  'oom_kill_disable',
  'oom_score_adj',
  'pid',
  'platform',
  'ports',
  'post_start',
  'pre_stop',
  'profiles',
  'pull_policy',
  'runtime',
  'secrets',
  'stdin_open',
  'storage_opt',
  'sysctls',
  'tty',
  'ulimits',
  'userns_mode',
  'uts',
  'volumes_from',
])

export const HEALTHCHECK_UNSUPPORTED: Record<string, {problem: string; fix: string}> = {
  start_interval: {problem: 'contain checks at interval from the start', fix: 'remove start_interval; start_period keeps early failures from counting'},
}

/** A CLI flag or common synonym used as a key names the key it stands for. */
export const KEY_ALIASES: Record<string, string> = {
  ...Object.fromEntries(
    FILE_OPTIONS.flatMap(option => [
      [option.flag, option.key],
      [option.flag.replace(/-/g, '_'), option.key],
    ]),
  ),
  cmd: 'command',
  args: 'command',
  env: 'environment',
  envfile: 'env_file',
}
