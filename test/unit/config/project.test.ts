import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import t from 'tap'
import {
  closestKey,
  findProjectFile,
  loadProject,
  MAX_CONFIG_BYTES,
  projectNameOf,
  splitCommand,
  type LoadOptions,
  type Project,
} from '../../../src/config/project.js'
import type {OptionNaming} from '../../../src/config/naming.js'
import type {OptionInput} from '../../../src/config/schema.js'
import {DEFAULT_HEALTHCHECK_TIMING, defaultSupervision, parseDuration, parseRestart, parseSignal, restartModeOf} from '../../../src/config/supervision.js'
import {FileError, InvalidValueError} from '../../../src/errors.js'
import {resolveRunOptions} from '../../../src/config/resolve.js'
import type {HostFacts, RunOptions} from '../../../src/launch/options.js'
import {heldCapabilities} from '../../../src/launch/security.js'
import {rejection, thrown} from '../helpers/errors.js'
import type {TestContext} from '../helpers/tap.js'

const fixtures = fileURLToPath(new URL('../fixtures/config/', import.meta.url))
const MiB = 2 ** 20

/** A 4-CPU host that reads the real filesystem; its environment is `env` only. */
function host(cwd: string, env: Record<string, string | undefined> = {}): HostFacts {
  return {cpus: 4, env, cwd, readFile: path => readFileSync(path, 'utf8')}
}

/** cap_add needs contain to hold the capability; where it does not (non-root), skip that check. */
const canGrant = heldCapabilities().includes('CAP_NET_BIND_SERVICE')
const resolve: LoadOptions['resolve'] = (input, command, facts, naming) =>
  resolveRunOptions(canGrant ? input : {...input, 'cap-add': undefined}, command, facts, naming)

type Tree = {[name: string]: string | Buffer | Tree}

/** A fresh directory holding `tree` (nested objects are directories), removed after the test. */
function tempDir(t: TestContext, tree: Tree): string {
  const dir = mkdtempSync(join(tmpdir(), 'contain-project-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const write = (at: string, entries: Tree) => {
    for (const [name, content] of Object.entries(entries)) {
      if (typeof content === 'string' || Buffer.isBuffer(content)) writeFileSync(join(at, name), content)
      else {
        mkdirSync(join(at, name))
        write(join(at, name), content)
      }
    }
  }
  write(dir, tree)
  return dir
}

function options(dir: string, env: Record<string, string | undefined> = {}): LoadOptions {
  return {env, host: host(dir, env), resolve}
}

/** Writes contain.yml (and `files`) to a fresh dir and loads it. */
async function load(
  t: TestContext,
  yaml: string,
  {files = {}, env = {}}: {files?: Record<string, string>; env?: Record<string, string>} = {},
): Promise<Project> {
  const dir = tempDir(t, {'contain.yml': yaml, ...files})
  return loadProject(join(dir, 'contain.yml'), options(dir, env))
}

interface Failure {
  /** The message after FILE:LINE:COLUMN: */
  text: string
  line?: number
  column?: number
  fix?: string
  error: FileError
}

function failure(error: Error, file: string): Failure {
  if (!(error instanceof FileError)) throw error
  const match = /^(?<file>.+?)(?::(?<line>\d+):(?<column>\d+))?: (?<text>.*)$/s.exec(error.message)
  if (!match?.groups || match.groups.file !== file) throw new Error(`unexpected message: ${error.message}`)
  const {line, column, text} = match.groups
  return {text, line: line === undefined ? undefined : Number(line), column: column === undefined ? undefined : Number(column), fix: error.fix, error}
}

/** The FileError loading `yaml` throws, taken apart. */
async function loadError(
  t: TestContext,
  yaml: string | Buffer,
  {files = {}, env = {}}: {files?: Record<string, string>; env?: Record<string, string>} = {},
): Promise<Failure> {
  const dir = tempDir(t, {'contain.yml': yaml, ...files})
  const file = join(dir, 'contain.yml')
  const f = failure(await rejection(loadProject(file, options(dir, env))), file)
  t.ok(f.fix && f.fix.length > 0, 'the error has a fix')
  return f
}

const app = (body: string) => `apps:\n  web:\n    command: rails s\n${body.replace(/^/gm, '    ')}\n`

t.test('the example with every key', async t => {
  const dir = join(fixtures, 'rails')
  const project = await loadProject(join(dir, 'contain.yml'), options(dir, {PATH: '/usr/bin'}))
  t.equal(project.file, join(dir, 'contain.yml'))
  t.equal(project.dir, dir)
  t.equal(project.name, 'rails')
  t.strictSame(
    project.apps.map(app => app.name),
    ['web', 'worker'],
    'apps in file order',
  )
  const [web, worker] = project.apps

  t.strictSame(web.command, ['bundle', 'exec', 'rails', 's', '-p', '3000'])
  t.strictSame(web.input, {
    name: 'web',
    workdir: dir,
    cpus: '0.5',
    memory: '512m',
    'memory-swap': '1g',
    'pids-limit': '200',
    hostname: 'web',
    namespaces: ['pid', 'mount', 'uts', 'ipc', 'cgroup'],
    network: 'none',
    'read-only': true,
    tmpfs: ['/tmp'],
    writable: [join(dir, 'tmp'), join(dir, 'log')],
    'cap-add': ['NET_BIND_SERVICE'],
    'cap-drop': ['ALL'],
    seccomp: 'default',
    'security-opt': ['no-new-privileges'],
    user: '1000:1000',
    environment: {RAILS_ENV: 'production', SECRET_KEY_BASE: 'from-dotenv', DATABASE_URL: 'postgres://db/prod'},
  } satisfies OptionInput)
  t.strictSame(web.envFiles, [join(dir, '.env'), join(dir, '.env.production')])
  t.strictSame(web.location, {line: 3, column: 3})
  t.strictSame(web.supervision, {
    restart: {policy: 'on-failure', maxRetries: 3},
    replicas: 1,
    backoff: {initialMs: 100, maxMs: 60_000, factor: 2, jitter: 0.1, resetAfterMs: 10_000},
    healthcheck: {kind: 'command', target: ['curl', '-f', 'http://127.0.0.1:3000/up'], intervalMs: 5000, timeoutMs: 2000, retries: 3, startPeriodMs: 10_000},
    stopSignal: 'SIGTERM',
    stopGraceMs: 10_000,
    logging: {maxSizeBytes: 10 * MiB, maxFiles: 5},
  })

  t.strictSame(worker.command, ['bundle', 'exec', 'ruby', 'worker.rb'])
  t.strictSame(worker.input.environment, {RAILS_ENV: 'production', SECRET_KEY_BASE: 'from-dotenv', DATABASE_URL: 'postgres://localhost/dev', QUEUE: 'default'})
  t.equal(worker.supervision.restart.policy, 'always')
  t.equal(worker.location.line, 29)
})

t.test('every flag key maps to its contain run flag', async t => {
  const {apps} = await load(
    t,
    app(`cpus: 1.5
cpu_shares: 512
cpuset: "0-1"
mem_limit: 64m
memswap_limit: 128m
mem_reservation: 32m
pids_limit: -1
hostname: api
namespaces: "-ipc"
userns: true
user: root
read_only: false
tmpfs: /tmp
cap_drop: NET_RAW
privileged: false
seccomp: unconfined
seccomp_strict: true`),
  )
  t.strictSame(apps[0].input, {
    name: 'web',
    workdir: apps[0].input.workdir,
    cpus: '1.5',
    'cpu-shares': '512',
    'cpuset-cpus': '0-1',
    memory: '64m',
    'memory-swap': '128m',
    'memory-reservation': '32m',
    'pids-limit': '-1',
    hostname: 'api',
    namespaces: '-ipc',
    userns: true,
    user: 'root',
    'read-only': false,
    tmpfs: ['/tmp'],
    'cap-drop': ['NET_RAW'],
    privileged: false,
    seccomp: 'unconfined',
    'seccomp-strict': true,
  })
})

t.test('numbers become the strings the CLI would see', async t => {
  const {apps} = await load(t, app('cpus: 2\nmem_limit: 536870912\npids_limit: 100\nuser: 1000\ncpuset: 1'))
  t.match(apps[0].input, {cpus: '2', memory: '536870912', 'pids-limit': '100', user: '1000', 'cpuset-cpus': '1'})
})

t.test('services: is accepted for apps:', async t => {
  const project = await load(t, 'services:\n  web:\n    command: rails s\n')
  t.strictSame(
    project.apps.map(app => app.name),
    ['web'],
  )
})

t.test('paths', async t => {
  t.test('working_dir, writable, env_file, seccomp and logging.dir start at the directory of contain.yml', async t => {
    const dir = tempDir(t, {
      'contain.yml': app(
        'working_dir: app\nread_only: true\nwritable: [tmp, /var/tmp]\nenv_file: config/app.env\nseccomp: profiles/strict.json\nlogging: {dir: log/contain}',
      ),
      app: {tmp: {}},
      config: {'app.env': 'A=1\n'},
    })
    const [web] = (await loadProject(join(dir, 'contain.yml'), options(dir))).apps
    t.equal(web.input.workdir, join(dir, 'app'))
    t.strictSame(web.input.writable, [join(dir, 'app/tmp'), '/var/tmp'], 'writable starts at working_dir')
    t.equal(web.input.seccomp, join(dir, 'profiles/strict.json'))
    t.strictSame(web.envFiles, [join(dir, 'config/app.env')])
    t.equal(web.supervision.logging.dir, join(dir, 'log/contain'))
  })

  t.test('apps run in the project directory by default', async t => {
    const dir = tempDir(t, {'contain.yml': app('')})
    t.equal((await loadProject(join(dir, 'contain.yml'), options(dir))).apps[0].input.workdir, dir)
  })

  t.test('a seccomp= profile in security_opt is resolved too; default and unconfined are kept', async t => {
    const {apps} = await load(t, app('security_opt: ["seccomp=p.json", "no-new-privileges:false"]'))
    t.strictSame(apps[0].input['security-opt'], [`seccomp=${join(apps[0].input.workdir as string, 'p.json')}`, 'no-new-privileges:false'])
    t.equal((await load(t, app('seccomp: unconfined'))).apps[0].input.seccomp, 'unconfined')
  })

  t.test('a relative file path is relative to the current directory', async t => {
    const dir = tempDir(t, {'contain.yml': app('')})
    const cwd = process.cwd()
    process.chdir(dir)
    t.teardown(() => process.chdir(cwd))
    const project = await loadProject('contain.yml', options(dir))
    t.equal(project.file, join(dir, 'contain.yml'))
  })
})

t.test('command', async t => {
  t.test('a string is split into words as compose splits it', async t => {
    t.strictSame(splitCommand('bundle exec rails s -p 3000'), ['bundle', 'exec', 'rails', 's', '-p', '3000'])
    t.strictSame(splitCommand(`echo 'a b' "c d" e\\ f ""`), ['echo', 'a b', 'c d', 'e f', ''])
    t.strictSame(splitCommand(`printf "%s \\"quoted\\" \\\\ \\$HOME"`), ['printf', '%s "quoted" \\ $HOME'])
    t.strictSame(splitCommand(`sh -c 'echo $PORT && exit 1'`), ['sh', '-c', 'echo $PORT && exit 1'], 'single quotes keep everything')
    t.strictSame(splitCommand('  a\t b \n c  '), ['a', 'b', 'c'])
    t.strictSame(splitCommand('ruby -e puts(1)'.replace('(1)', '')), ['ruby', '-e', 'puts'])
  })

  t.test('shell syntax is refused with the sh -c fix', async t => {
    for (const [text, operator] of [
      ['rails s && echo done', '&&'],
      ['rails s -p $PORT', '$'],
      ['a | b', '|'],
      ['a > log', '>'],
      ['echo "$HOME"', '$'],
      ['a; b', ';'],
      ['echo `id`', '`'],
    ]) {
      const error = thrown(() => splitCommand(text)) as InvalidValueError
      t.type(error, InvalidValueError)
      t.equal(error.message, `command: uses shell syntax (${operator}) that contain does not interpret (got ${JSON.stringify(text)})`)
      t.equal(error.fix, `run it through a shell: command: ["sh", "-c", ${JSON.stringify(text)}], or quote the ${JSON.stringify(operator)}`)
    }
  })

  t.test('an unterminated quote is an error', async t => {
    t.match(thrown(() => splitCommand(`echo 'a`)).message, /has an unterminated ' quote/)
    t.match(thrown(() => splitCommand('echo "a')).message, /has an unterminated " quote/)
  })

  t.test('a list is kept as the argv; numbers become strings', async t => {
    const {apps} = await load(t, 'apps:\n  web:\n    command: [sleep, 10, "a b"]\n')
    t.strictSame(apps[0].command, ['sleep', '10', 'a b'])
  })

  t.test('errors', async t => {
    const cases: [string, string, number, number, RegExp][] = [
      ['apps:\n  web:\n    cpus: 1\n', 'apps.web: has no command', 2, 3, /add the command to run/],
      ['apps:\n  web:\n    command: ""\n', 'apps.web.command: is empty', 3, 14, /give the command/],
      ['apps:\n  web:\n    command: []\n', 'apps.web.command: is empty', 3, 14, /give the command/],
      ['apps:\n  web:\n    command: {a: 1}\n', 'apps.web.command: must be a string or a list of strings, not a map', 3, 14, /write it as command: /],
      ['apps:\n  web:\n    command: [a, [b]]\n', 'apps.web.command[1]: must be a string or a number, not a list', 3, 18, /write it as/],
      [
        'apps:\n  web:\n    command: rails s -p $PORT\n',
        'apps.web.command: uses shell syntax ($) that contain does not interpret (got "rails s -p $PORT")',
        3,
        14,
        /\["sh", "-c", "rails s -p \$PORT"\]/,
      ],
    ]
    for (const [yaml, text, line, column, fix] of cases) {
      const f = await loadError(t, yaml)
      t.strictSame([f.text, f.line, f.column], [text, line, column], text)
      t.match(f.fix, fix)
    }
  })
})

t.test('values of the wrong type', async t => {
  // [YAML under the app, message after FILE:LINE:COLUMN:, column of the value]
  const cases: [string, string, number][] = [
    ['cpus: [1]', 'apps.web.cpus: must be a string or a number, not a list', 11],
    ['cpus: {a: 1}', 'apps.web.cpus: must be a string or a number, not a map', 11],
    ['cpus: true', 'apps.web.cpus: must be a string or a number, not true', 11],
    ['cpus:', 'apps.web.cpus: must be a string or a number, not empty', 10],
    ['mem_limit: [512m]', 'apps.web.mem_limit: must be a string or a number, not a list', 16],
    ['hostname: {a: b}', 'apps.web.hostname: must be a string or a number, not a map', 15],
    ['read_only: "yes"', 'apps.web.read_only: must be true or false, not the string "yes"', 16],
    ['read_only: 1', 'apps.web.read_only: must be true or false, not 1', 16],
    ['userns: yes', 'apps.web.userns: must be true or false, not the string "yes"', 13],
    ['cap_add: {NET_ADMIN: true}', 'apps.web.cap_add: must be a string or a list of strings, not a map', 14],
    ['cap_drop: [ALL, [x]]', 'apps.web.cap_drop[1]: must be a string or a number, not a list', 21],
    ['tmpfs: true', 'apps.web.tmpfs: must be a string or a list of strings, not true', 12],
    ['namespaces: {pid: true}', 'apps.web.namespaces: must be a string or a number, not a map', 17],
    ['environment: 5', 'apps.web.environment: must be a map of KEY: value, or a list of KEY=VALUE, not 5', 18],
    ['environment: {A: [1]}', 'apps.web.environment.A: must be a string, a number, true or false, not a list', 22],
    ['environment: [{A: 1}]', 'apps.web.environment[0]: must be a string, not a map', 19],
    ['env_file: 5', 'apps.web.env_file: must be a path or a list of paths, not 5', 15],
    ['env_file: [{required: false}]', 'apps.web.env_file[0]: has no path', 16],
    ['restart: 3', 'apps.web.restart: must be a string, not 3', 14],
    ['restart: false', 'apps.web.restart: must be a string, not false', 14],
    ['healthcheck: "curl -f localhost"', 'apps.web.healthcheck: must be a map of keys, not the string "curl -f localhost"', 18],
    ['healthcheck: {test: 5}', 'apps.web.healthcheck.test: must be a list, a shell string, {http: URL} or {tcp: HOST:PORT}, not 5', 25],
    ['logging: 10m', 'apps.web.logging: must be a map of keys, not the string "10m"', 14],
    ['backoff: {factor: "x2"}', 'apps.web.backoff.factor: must be a number from 1 to 100 (got "x2")', 23],
    ['working_dir: [a]', 'apps.web.working_dir: must be a string or a number, not a list', 18],
    ['stop_grace_period: [10s]', 'apps.web.stop_grace_period: must be a string or a number, not a list', 24],
  ]
  for (const [body, text, column] of cases) {
    const f = await loadError(t, app(body))
    t.strictSame([f.text, f.line, f.column], [text, 4, column], body)
  }
  t.test('a whole app or the apps must be maps', async t => {
    t.strictSame((await loadError(t, 'apps:\n  web: rails s\n')).text, 'apps.web: must be a map of keys, not the string "rails s"')
    t.strictSame((await loadError(t, 'apps: [web]\n')).text, 'apps: must be a map of keys, not a list')
    t.strictSame((await loadError(t, '- apps\n')).text, 'must be a map of keys, not a list')
  })
})

t.test('values contain run refuses are reported at the compose key', async t => {
  t.test('the message names the key, the value and the place', async t => {
    const file = join(fixtures, 'positions.yml')
    const error = await rejection(loadProject(file, options(fixtures)))
    t.type(error, FileError)
    t.equal(error.message, `${file}:5:11: apps.web.cpus: not a number (got "abc")`)
    t.equal((error as FileError).fix, 'use a decimal number of CPUs, e.g. 0.5 or 2')
  })

  t.test('a list item is pointed at', async t => {
    // A relative tmpfs is resolved against working_dir, as writable paths are (the contained view makes it when missing).
    const yaml = readFileSync(join(fixtures, 'positions.yml'), 'utf8').replace('cpus: abc', 'cpus: 1').replace('relative/dir', 'relative/dir:suid')
    const f = await loadError(t, yaml)
    t.match(f.text, /^apps\.web\.tmpfs\[1\]: unknown option "suid" \(got ".*\/relative\/dir:suid"\)$/)
    t.strictSame([f.line, f.column], [9, 9])
    t.equal(f.fix, 'use PATH, PATH:exec (programs on it may run) or PATH:size=64m')
  })

  t.test('a later app is checked too', async t => {
    const yaml = readFileSync(join(fixtures, 'positions.yml'), 'utf8').replace('cpus: abc', 'cpus: 1').replace('relative/dir', '/tmp')
    const f = await loadError(t, yaml)
    t.strictSame([f.text, f.line, f.column], ['apps.worker.cpu_shares: must be a whole number from 2 to 262144 (got "1")', 12, 17])
  })

  const cases: [string, string, number, number, RegExp?][] = [
    ['memswap_limit: 1g', 'apps.web.memswap_limit: needs mem_limit (got "1g")', 4, 20, /^add mem_limit, or leave memswap_limit out$/],
    ['mem_limit: 1k', 'apps.web.mem_limit: the minimum memory limit is 6 MiB (got "1k")', 4, 16],
    ['cpus: 8', 'apps.web.cpus: the range of CPUs is 0.01 to 4 on this host (got "8")', 4, 11],
    ['cpuset: "7"', 'apps.web.cpuset: CPU 7 does not exist (this host has CPUs 0-3) (got "7")', 4, 13],
    ['pids_limit: lots', 'apps.web.pids_limit: must be a whole number from -1 to 4194304 (got "lots")', 4, 17],
    ['network_mode: bridge', 'apps.web.network_mode: unknown network mode (got "bridge")', 4, 19],
    ['hostname: "-bad"', 'apps.web.hostname: not a valid hostname (got "-bad")', 4, 15],
    ['namespaces: [pid, mount, bogus]', 'apps.web.namespaces[2]: unknown namespace "bogus" (got "bogus")', 4, 30],
    ['cap_drop: [NET_RAW, NOT_A_CAP]', 'apps.web.cap_drop[1]: unknown capability', 4, 25],
    ['security_opt: [apparmor=x]', 'apps.web.security_opt[0]: contain does not apply AppArmor profiles (got "apparmor=x")', 4, 20],
    ['security_opt: [no-new-privileges=maybe]', 'apps.web.security_opt: no-new-privileges=maybe: must be true or false (got "maybe")', 4, 19],
    ['writable: [/tmp]', 'apps.web.writable[0]: only applies with read_only (got "/tmp")', 4, 16, /add read_only, or leave writable out/],
    ['user: nosuchuser', 'apps.web.user: no user named "nosuchuser" in /etc/passwd (got "nosuchuser")', 4, 11],
    ['working_dir: missing', 'apps.web.working_dir: is not an existing directory', 4, 18],
    ['seccomp_mode: loud', 'apps.web.seccomp_mode: unknown mode (got "loud")', 4, 19],
    ['environment: ["=x"]', 'apps.web.environment[0]: has no variable name ("")', 4, 19],
  ]
  for (const [body, text, line, column, fix] of cases) {
    const f = await loadError(t, app(body))
    t.equal(f.text.startsWith(text), true, `${body}: ${f.text}`)
    t.strictSame([f.line, f.column], [line, column], body)
    if (fix) t.match(f.fix, fix)
  }
})

t.test('unknown keys', async t => {
  const cases: [string, string, number, string][] = [
    [app('cpu: 1'), 'apps.web.cpu: unknown key (did you mean cpus?)', 5, 'rename it to cpus'],
    [app('enviroment: {A: 1}'), 'apps.web.enviroment: unknown key (did you mean environment?)', 5, 'rename it to environment'],
    [app('memlimit: 1g'), 'apps.web.memlimit: unknown key (did you mean mem_limit?)', 5, 'rename it to mem_limit'],
    [app('memory: 1g'), 'apps.web.memory: unknown key (did you mean mem_limit?)', 5, 'rename it to mem_limit'],
    [app('read-only: true'), 'apps.web.read-only: unknown key (did you mean read_only?)', 5, 'rename it to read_only'],
    [app('workdir: .'), 'apps.web.workdir: unknown key (did you mean working_dir?)', 5, 'rename it to working_dir'],
    [app('healthcheck: {test: [NONE], intervall: 5s}'), 'apps.web.healthcheck.intervall: unknown key (did you mean interval?)', 33, 'rename it to interval'],
    [app('logging: {max_file: 3}'), 'apps.web.logging.max_file: unknown key (did you mean max_files?)', 15, 'rename it to max_files'],
    [app('backoff: {inital: 1s}'), 'apps.web.backoff.inital: unknown key (did you mean initial?)', 15, 'rename it to initial'],
    [app('env_file: [{pth: a}]'), 'apps.web.env_file[0].pth: unknown key (did you mean path?)', 17, 'rename it to path'],
    ['servics:\n  web:\n    command: x\n', 'servics: unknown key (did you mean services?)', 1, 'rename it to services'],
  ]
  for (const [yaml, text, column, fix] of cases) {
    const f = await loadError(t, yaml)
    t.strictSame([f.text, f.column, f.fix], [text, column, fix], text)
  }

  t.test('with nothing close, the fix lists the keys', async t => {
    const f = await loadError(t, app('zzzzzzzz: 1'))
    t.equal(f.text, 'apps.web.zzzzzzzz: unknown key')
    t.match(f.fix, /^use one of: command, cpus, cpu_shares, /)
  })

  t.test('compose keys contain does not read say so, with what to do instead', async t => {
    const file = join(fixtures, 'compose.yml')
    const f = failure(await rejection(loadProject(file, options(fixtures))), file)
    t.strictSame(
      [f.text, f.line, f.column],
      ["services.web.image: docker-compose's image does not apply: contain runs commands from the host filesystem, not images", 4, 5],
    )
    t.equal(f.fix, 'remove image and give the command to run in command')
    t.equal((await loadError(t, app('ports: ["3000:3000"]'))).fix, 'remove ports; the app binds its port on the host directly')
    t.equal((await loadError(t, app('labels: {a: b}'))).text, "apps.web.labels: docker-compose's labels is not supported by contain")
    t.equal(
      (await loadError(t, app('healthcheck: {test: [NONE], start_interval: 1s}'))).fix,
      'remove start_interval; start_period keeps early failures from counting',
    )
  })

  t.test('x- extension keys are allowed at the top and in apps', async t => {
    const project = await load(t, 'x-common: &common {cpus: 0.5}\napps:\n  web:\n    x-note: hello\n    command: rails s\n')
    t.equal(project.apps.length, 1)
  })

  t.test('closestKey', async t => {
    t.equal(closestKey('cpsu', ['cpus', 'user']), 'cpus', 'swapped letters')
    t.equal(closestKey('Hostname', ['hostname']), 'hostname', 'case')
    t.equal(closestKey('xyz', ['cpus']), undefined, 'nothing close')
    t.equal(closestKey('a', ['b']), undefined, 'a one-letter key is never a typo of another')
  })
})

t.test('YAML itself', async t => {
  t.test("invalid YAML gives the parser's line and column", async t => {
    const f = await loadError(t, 'apps:\n  web:\n    command: [rails, s\n    cpus: 1\n')
    t.match(f.text, /^invalid YAML: /)
    t.equal(f.line, 4)
    const tab = await loadError(t, 'apps:\n\tweb:\n')
    t.match(tab.text, /^invalid YAML: /)
    t.equal(tab.line, 2)
    t.equal(tab.column, 1)
    t.equal(tab.fix, 'indent with spaces, not tabs')
    const quote = await loadError(t, 'apps:\n  web:\n    command: "rails s\n')
    t.match(quote.text, /^invalid YAML: /)
  })

  t.test('two documents are refused', async t => {
    const f = await loadError(t, 'apps: {}\n---\napps: {}\n')
    t.strictSame([f.line, f.fix], [2, 'keep one YAML document: remove the second ---'])
  })

  t.test('unknown tags are refused', async t => {
    const f = await loadError(t, app('cpus: !reset 1'))
    t.match(f.text, /^invalid YAML: .*tag/i)
  })

  t.test('a duplicate key is an error at the second one', async t => {
    const f = await loadError(t, app('cpus: 1\ncpus: 2'))
    t.strictSame([f.text, f.line, f.column, f.fix], ['apps.web.cpus: duplicate key (first at line 4)', 5, 5, 'keep one cpus'])
  })

  t.test('a duplicate app name is an error at the second one', async t => {
    const f = await loadError(t, 'apps:\n  web:\n    command: a\n  worker:\n    command: b\n  web:\n    command: c\n')
    t.strictSame([f.text, f.line, f.column, f.fix], ['apps.web: duplicate app name (first at line 2)', 6, 3, 'give each app its own name'])
  })

  t.test('apps and services together are an error', async t => {
    const f = await loadError(t, 'apps:\n  web: {command: a}\nservices:\n  worker: {command: b}\n')
    t.strictSame([f.text, f.line, f.column], ["services: repeats apps (services is compose's name for them)", 3, 1])
  })

  t.test('anchors and merge keys work, and errors inside an anchor point into it', async t => {
    const file = join(fixtures, 'anchors.yml')
    const f = failure(await rejection(loadProject(file, options(fixtures))), file)
    t.strictSame([f.text, f.line, f.column], ['apps.web.mem_limit: the minimum memory limit is 6 MiB (got "5m")', 3, 14])
    const project = await load(t, readFileSync(file, 'utf8').replace('5m', '64m'))
    t.match(project.apps[0].input, {cpus: '0.5', memory: '64m'})
  })

  t.test('a YAML bomb is refused', async t => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (let i = 1; i < 8; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`,
      )
    const f = await loadError(t, `${lines.join('\n')}\napps: {web: {command: x}}\n`)
    t.match(f.text, /^cannot be expanded/)
  })
})

t.test('files that are not a contain.yml', async t => {
  t.test('an empty file', async t => {
    for (const yaml of ['', '\n\n', '# only a comment\n', '---\n']) {
      const f = await loadError(t, yaml)
      t.equal(f.text, 'is empty')
      t.equal(f.line, undefined, 'no position for the whole file')
      t.match(f.fix, /contain init/)
    }
  })

  t.test('no apps', async t => {
    t.equal((await loadError(t, 'name: shop\n')).text, 'has no apps')
    t.strictSame((await loadError(t, 'apps:\n')).text, 'apps: has no apps')
    t.strictSame((await loadError(t, 'apps: {}\n')).text, 'apps: has no apps')
    const empty = await loadError(t, 'apps:\n  web:\n')
    t.strictSame([empty.text, empty.line, empty.column], ['apps.web: is empty', 2, 3])
  })

  t.test('a file over 1 MiB is refused before parsing', async t => {
    const f = await loadError(t, `apps: {web: {command: x}}\n${'#'.repeat(MAX_CONFIG_BYTES)}\n`)
    t.equal(f.text, 'is 1.0 MiB; contain reads config files up to 1 MiB')
    t.match(f.fix, /right file/)
  })

  t.test('binary data is refused', async t => {
    t.equal((await loadError(t, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00]))).text, 'is not a text file (it holds NUL bytes)')
    t.equal((await loadError(t, Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]))).text, 'is not a text file (it is not UTF-8)')
  })

  t.test('a missing file and a directory', async t => {
    const dir = tempDir(t, {})
    const missing = failure(await rejection(loadProject(join(dir, 'contain.yml'))), join(dir, 'contain.yml'))
    t.equal(missing.text, 'does not exist')
    t.match(missing.fix, /contain init/)
    const directory = failure(await rejection(loadProject(dir)), dir)
    t.equal(directory.text, 'is a directory')
  })

  t.test('with an injected readFile, the same checks apply', async t => {
    const readFile = (path: string) => (path === '/p/contain.yml' ? 'a: 1\0' : '')
    const error = await rejection(loadProject('/p/contain.yml', {readFile, env: {}}))
    t.equal(error.message, '/p/contain.yml: is not a text file (it holds NUL bytes)')
  })
})

t.test('app names', async t => {
  const cases: [string, string][] = [
    ['"-web"', 'apps.-web'],
    ['"_web"', 'apps._web'],
    ['"web/1"', 'apps["web/1"]'],
    ['"a..b"', 'apps["a..b"]'],
    ['"web 1"', 'apps["web 1"]'],
    ['a'.repeat(64), `apps.${'a'.repeat(64)}`],
  ]
  for (const [name, path] of cases) {
    const f = await loadError(t, `apps:\n  ${name}:\n    command: x\n`)
    t.strictSame([f.text, f.line, f.column], [`${path}: not a valid app name`, 2, 3], name)
  }
  const project = await load(t, `apps:\n  web.1_a-b:\n    command: x\n  ${'a'.repeat(63)}:\n    command: y\n  1:\n    command: z\n`)
  t.strictSame(
    project.apps.map(app => app.name),
    ['web.1_a-b', 'a'.repeat(63), '1'],
  )
})

t.test('the environment', async t => {
  t.test("contain's own < .env < env_file in order < environment; nothing else of the host's", async t => {
    const project = await load(t, app('env_file: [one.env, two.env]\nenvironment:\n  FROM_ENVIRONMENT: yes\n  SHARED: environment'), {
      files: {
        '.env': 'FROM_DOTENV=1\nSHARED=dotenv\nIN_ONE=dotenv\n',
        'one.env': 'IN_ONE=one\nSHARED=one\nIN_BOTH=one\n',
        'two.env': 'IN_BOTH=two\nSHARED=two\n',
      },
      env: {SHARED: 'host', HOST_ONLY: 'h'},
    })
    const [web] = project.apps
    t.strictSame(web.input.environment, {FROM_DOTENV: '1', SHARED: 'environment', IN_ONE: 'one', IN_BOTH: 'two', FROM_ENVIRONMENT: 'yes'})
    t.strictSame(
      web.envFiles.map(path => path.slice(project.dir.length + 1)),
      ['.env', 'one.env', 'two.env'],
    )
    const resolved = await resolveRunOptions(web.input, web.command, host(project.dir, {SHARED: 'host', HOST_ONLY: 'h'}))
    t.notOk('HOST_ONLY' in resolved.env, 'the host environment is not passed (only KEY alone takes a host value)')
    t.equal(resolved.env.SHARED, 'environment')
    t.equal(resolved.env.PWD, project.dir, 'PWD is the working directory')
  })

  t.test('the list form, values of other types and KEY alone', async t => {
    const {apps} = await load(t, app('environment: [A=1, "B=x=y", C=, FROM_HOST, NOT_ON_HOST]'), {
      files: {'.env': 'NOT_ON_HOST=dotenv\n'},
      env: {FROM_HOST: 'h'},
    })
    t.strictSame(apps[0].input.environment, {NOT_ON_HOST: 'dotenv', A: '1', B: 'x=y', C: '', FROM_HOST: 'h'})
    const map = await load(t, app('environment: {PORT: 3000, DEBUG: true, RATIO: 0.5, EMPTY: "", FROM_HOST: ~}'), {env: {FROM_HOST: 'h'}})
    t.strictSame(map.apps[0].input.environment, {PORT: '3000', DEBUG: 'true', RATIO: '0.5', EMPTY: '', FROM_HOST: 'h'})
  })

  t.test('no .env and no environment: no env flag', async t => {
    t.equal((await load(t, app(''))).apps[0].input.environment, undefined)
  })

  t.test('env_file errors point at the entry', async t => {
    const missing = await loadError(t, app('env_file: [a.env, missing.env]'), {files: {'a.env': 'A=1\n'}})
    t.match(missing.text, /^apps\.web\.env_file\[1\]: .*missing\.env does not exist$/)
    t.strictSame([missing.line, missing.column], [4, 23])
    t.match(missing.fix, /required: false/)
    const binary = await loadError(t, app('env_file: bin.env'), {files: {'bin.env': 'A=\0'}})
    t.match(binary.text, /^apps\.web\.env_file: .*bin\.env is not a text file/)
  })

  t.test('an optional env_file may be missing', async t => {
    const {apps} = await load(t, app('env_file: [{path: missing.env, required: false}, {path: b.env}]'), {files: {'b.env': 'B=1\n'}})
    t.strictSame(apps[0].input.environment, {B: '1'})
    t.equal(apps[0].envFiles.length, 1)
  })

  t.test('a .env that cannot be read is an error', async t => {
    const dir = tempDir(t, {'contain.yml': app(''), '.env': {}})
    const error = await rejection(loadProject(join(dir, 'contain.yml'), options(dir)))
    t.equal(error.message, `${join(dir, '.env')}: cannot read ${join(dir, '.env')} (EISDIR)`)
  })
})

t.test('supervision', async t => {
  t.test('defaults, as Docker has them', async t => {
    const {apps} = await load(t, app(''))
    t.strictSame(apps[0].supervision, defaultSupervision())
    t.strictSame(defaultSupervision(), {
      restart: {policy: 'no'},
      backoff: {initialMs: 100, maxMs: 60_000, factor: 2, jitter: 0.1, resetAfterMs: 10_000},
      stopSignal: 'SIGTERM',
      stopGraceMs: 10_000,
      logging: {maxSizeBytes: 10 * MiB, maxFiles: 5},
      replicas: 1,
    })
    t.strictSame(DEFAULT_HEALTHCHECK_TIMING, {intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0})
  })

  t.test('restart', async t => {
    t.strictSame(parseRestart('restart', 'no'), {policy: 'no'})
    t.strictSame(parseRestart('restart', 'always'), {policy: 'always'})
    t.strictSame(parseRestart('restart', 'unless-stopped'), {policy: 'unless-stopped'})
    t.strictSame(parseRestart('restart', 'on-failure'), {policy: 'on-failure'})
    t.strictSame(parseRestart('restart', 'on-failure:5'), {policy: 'on-failure', maxRetries: 5})
    t.match(thrown(() => parseRestart('restart', 'sometimes')).message, /unknown restart policy/)
    t.match(thrown(() => parseRestart('restart', 'always:3')).message, /only on-failure takes a retry count/)
    t.match(thrown(() => parseRestart('restart', 'on-failure:0')).message, /whole number from 1/)
    t.match(thrown(() => parseRestart('restart', 'on-failure:x')).message, /whole number from 1/)
    const f = await loadError(t, app('restart: never'))
    t.strictSame([f.text, f.column], ['apps.web.restart: unknown restart policy (got "never")', 14])
  })

  t.test('replicas: replicas, scale or deploy.replicas, at least 1', async t => {
    const replicas = async (body: string) => (await load(t, app(body))).apps[0].supervision.replicas
    t.equal(await replicas(''), 1)
    t.equal(await replicas('replicas: 3'), 3)
    t.equal(await replicas('scale: 2'), 2, "compose's scale")
    t.equal(await replicas('deploy: {replicas: 4}'), 4, "compose's deploy.replicas")
    for (const [body, column] of [
      ['replicas: 0', 15],
      ['replicas: -2', 15],
      ['scale: 0', 12],
    ] as const) {
      const f = await loadError(t, app(body))
      t.match(f.text, /must be a whole number from 1 to 256 \(got "-?\d"\)/, `${body} is refused`)
      t.equal(f.line, 4, `${body}: its line`)
      t.equal(f.column, column, `${body}: its column`)
      t.match(f.fix, /at least 1 instance/)
    }
    const zero = await loadError(t, app('deploy: {replicas: 0}'))
    t.match(zero.text, /^apps\.web\.deploy\.replicas: must be a whole number from 1/)
    const both = await loadError(t, app('replicas: 2\nscale: 2'))
    t.match(both.text, /replicas and scale both give the number of instances/)
    const resources = await loadError(t, app('deploy: {resources: {limits: {memory: 1g}}}'))
    t.match(resources.text, /deploy\.resources: docker-compose's resources does not apply: contain reads limits directly under the app/)
  })

  t.test('restart_mode', async t => {
    const mode = async (body: string) => (await load(t, app(body))).apps[0].supervision.restartMode
    t.equal(await mode(''), undefined, 'unset: listen: decides')
    t.equal(await mode('restart_mode: rolling'), 'rolling')
    t.equal(await mode('restart_mode: start-first'), 'rolling', "compose's update order name")
    t.equal(await mode('restart_mode: stop-first'), 'stop-first')
    const f = await loadError(t, app('restart_mode: blue-green'))
    t.match(f.text, /apps\.web\.restart_mode: unknown restart mode/)
    t.equal(restartModeOf(undefined, true), 'rolling', 'with listen: sockets the default rolls')
    t.equal(restartModeOf(undefined, false), 'stop-first', 'without, it stops first')
    t.equal(restartModeOf('stop-first', true), 'stop-first')
  })

  t.test('healthcheck test forms', async t => {
    const test = async (yaml: string) => (await load(t, app(`healthcheck: {test: ${yaml}}`))).apps[0].supervision.healthcheck
    t.match(await test('["CMD", "curl", "-f", "http://127.0.0.1:3000/up"]'), {kind: 'command', target: ['curl', '-f', 'http://127.0.0.1:3000/up']})
    t.match(await test('["CMD-SHELL", "curl -f localhost || exit 1"]'), {kind: 'shell', target: 'curl -f localhost || exit 1'})
    t.match(await test('"pg_isready -q"'), {kind: 'shell', target: 'pg_isready -q'})
    t.match(await test('{http: "http://127.0.0.1:3000/up"}'), {kind: 'http', target: 'http://127.0.0.1:3000/up'})
    t.match(await test('{tcp: "127.0.0.1:5432"}'), {kind: 'tcp', target: '127.0.0.1:5432'})
    t.match(await test('{tcp: "[::1]:5432"}'), {kind: 'tcp', target: '[::1]:5432'})
    t.match(await test('{tcp: 6379}'), {kind: 'tcp', target: '127.0.0.1:6379'}, 'a bare port is on 127.0.0.1')
    t.equal(await test('["NONE"]'), undefined)
    t.equal((await load(t, app('healthcheck: {test: [CMD, x], disable: true}'))).apps[0].supervision.healthcheck, undefined)
    t.strictSame(await test('[CMD, x]'), {kind: 'command', target: ['x'], ...DEFAULT_HEALTHCHECK_TIMING}, "Docker's timing by default")
  })

  t.test('healthcheck errors', async t => {
    const cases: [string, string, number][] = [
      ['healthcheck: {interval: 5s}', 'apps.web.healthcheck: has no test', 5],
      ['healthcheck: {test: []}', 'apps.web.healthcheck.test: is empty', 25],
      ['healthcheck: {test: [CURL, x]}', 'apps.web.healthcheck.test[0]: must start with CMD, CMD-SHELL or NONE, not the string "CURL"', 26],
      ['healthcheck: {test: [CMD]}', 'apps.web.healthcheck.test: CMD has no command after it', 25],
      ['healthcheck: {test: [CMD-SHELL, a, b]}', 'apps.web.healthcheck.test: CMD-SHELL takes one shell string, not 2', 25],
      [
        'healthcheck: {test: {http: "https://x/up"}}',
        'apps.web.healthcheck.test.http: https is not supported: the probe talks plain http to the app (got "https://x/up")',
        32,
      ],
      ['healthcheck: {test: {http: "localhost:3000/up"}}', 'apps.web.healthcheck.test.http: not an http URL (got "localhost:3000/up")', 32],
      ['healthcheck: {test: {tcp: "localhost"}}', 'apps.web.healthcheck.test.tcp: not a HOST:PORT address (got "localhost")', 31],
      ['healthcheck: {test: {tcp: "h:70000"}}', 'apps.web.healthcheck.test.tcp: not a HOST:PORT address (got "h:70000")', 31],
      ['healthcheck: {test: {http: "http://a", tcp: "a:1"}}', 'apps.web.healthcheck.test: has both http and tcp', 25],
      ['healthcheck: {test: [NONE], interval: 5}', 'apps.web.healthcheck: has no test', 5],
      ['healthcheck: {test: [CMD, x], interval: 5}', 'apps.web.healthcheck.interval: has no unit (got "5")', 45],
      ['healthcheck: {test: [CMD, x], interval: 0s}', 'apps.web.healthcheck.interval: must be longer than 0', 45],
      ['healthcheck: {test: [CMD, x], retries: 0}', 'apps.web.healthcheck.retries: must be a whole number from 1 to 1000000 (got "0")', 44],
    ]
    for (const [body, text, column] of cases.filter(([body]) => !body.includes('[NONE]'))) {
      const f = await loadError(t, app(body))
      t.strictSame([f.text, f.line, f.column], [text, 4, column], body)
    }
    const interval = await loadError(t, app('healthcheck: {test: [CMD, x], interval: 5}'))
    t.equal(interval.fix, 'add a unit: 5s for seconds, 5ms for milliseconds')
  })

  t.test('stop signal and grace period', async t => {
    const {apps} = await load(t, app('stop_signal: SIGQUIT\nstop_grace_period: 1m30s'))
    t.equal(apps[0].supervision.stopSignal, 'SIGQUIT')
    t.equal(apps[0].supervision.stopGraceMs, 90_000)
    t.equal(parseSignal('stop_signal', 'int'), 'SIGINT')
    t.equal(parseSignal('stop_signal', '15'), 'SIGTERM')
    t.equal((await load(t, app('stop_signal: 9'))).apps[0].supervision.stopSignal, 'SIGKILL')
    const f = await loadError(t, app('stop_signal: SIGNOPE'))
    t.strictSame([f.text, f.column], ['apps.web.stop_signal: unknown signal (got "SIGNOPE")', 18])
    const grace = await loadError(t, app('stop_grace_period: 10'))
    t.strictSame([grace.text, grace.fix], ['apps.web.stop_grace_period: has no unit (got "10")', 'add a unit: 10s for seconds, 10ms for milliseconds'])
  })

  t.test("logging, in contain's form and compose's", async t => {
    t.strictSame((await load(t, app('logging: {max_size: 1m, max_files: 2}'))).apps[0].supervision.logging, {maxSizeBytes: MiB, maxFiles: 2})
    t.strictSame((await load(t, app('logging: {max_size: 4096}'))).apps[0].supervision.logging, {maxSizeBytes: 4096, maxFiles: 5}, 'a number is bytes')
    t.strictSame((await load(t, app('logging: {driver: json-file, options: {max-size: 20m, max-file: "3"}}'))).apps[0].supervision.logging, {
      maxSizeBytes: 20 * MiB,
      maxFiles: 3,
    })
    t.equal(
      (await loadError(t, app('logging: {driver: syslog}'))).text,
      'apps.web.logging.driver: contain writes its own rotated log files, not the "syslog" driver\'s',
    )
    t.equal((await loadError(t, app('logging: {max_size: 1m, options: {max-size: 2m}}'))).text, 'apps.web.logging.options.max-size: repeats max_size')
    t.equal((await loadError(t, app('logging: {options: {compress: "true"}}'))).text, 'apps.web.logging.options.compress: unknown key')
    t.equal((await loadError(t, app('logging: {max_size: 10}'))).text, 'apps.web.logging.max_size: is below 1 KiB (got "10")')
    t.equal((await loadError(t, app('logging: {max_files: 0}'))).text, 'apps.web.logging.max_files: must be a whole number from 1 to 1000 (got "0")')
  })

  t.test('backoff', async t => {
    const {apps} = await load(t, app('backoff: {initial: 1s, max: 5m, factor: 1.5, jitter: 0, reset_after: 1h}'))
    t.strictSame(apps[0].supervision.backoff, {initialMs: 1000, maxMs: 300_000, factor: 1.5, jitter: 0, resetAfterMs: 3_600_000})
    t.equal((await loadError(t, app('backoff: {initial: 2m}'))).text, 'apps.web.backoff.initial: max (60000 ms) is shorter than initial (120000 ms)')
    t.equal((await loadError(t, app('backoff: {jitter: 2}'))).text, 'apps.web.backoff.jitter: must be a number from 0 to 1 (got "2")')
    t.equal((await loadError(t, app('backoff: {factor: 0.5}'))).text, 'apps.web.backoff.factor: must be a number from 1 to 100 (got "0.5")')
  })
})

t.test('parseDuration', async t => {
  const cases: [string, number][] = [
    ['10s', 10_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['2.5s', 2500],
    ['1h2m3s4ms', 3_723_004],
    ['.5s', 500],
    ['1500us', 1.5],
    ['0', 0],
    ['0s', 0],
    [' 10s ', 10_000],
  ]
  for (const [text, ms] of cases) t.equal(parseDuration('interval', text), ms, text)
  const errors: [string, RegExp, RegExp][] = [
    ['10', /has no unit/, /^add a unit: 10s for seconds, 10ms for milliseconds$/],
    ['2.5', /has no unit/, /add a unit/],
    ['1d', /unknown unit "d"/, /24h/],
    ['10S', /unknown unit "S"/, /h, m, s, ms/],
    ['1m30', /a number without a unit/, /h, m, s, ms/],
    ['-5s', /must not be negative/, /h, m, s, ms/],
    ['soon', /not a duration/, /h, m, s, ms/],
    ['', /not a duration/, /h, m, s, ms/],
    ['1m abc', /not a duration/, /h, m, s, ms/],
  ]
  for (const [text, problem, fix] of errors) {
    const error = thrown(() => parseDuration('apps.web.healthcheck.interval', text)) as InvalidValueError
    t.type(error, InvalidValueError)
    t.match(error.message, problem, text)
    t.match(error.fix, fix, text)
    t.equal(error.field, 'apps.web.healthcheck.interval')
  }
})

t.test('the project', async t => {
  t.test('its name is the directory name made safe, or name:', async t => {
    t.equal(projectNameOf('/srv/My Shop.v2'), 'myshopv2')
    t.equal(projectNameOf('/srv/_x'), 'x')
    t.equal(projectNameOf(`/srv/${'a'.repeat(300)}`), 'a'.repeat(63), 'at most 63 characters: it names a cgroup and a lock')
    t.equal(projectNameOf('/'), 'default')
    t.equal((await load(t, 'name: shop\napps: {web: {command: x}}\n')).name, 'shop')
    const f = await loadError(t, 'name: My Shop\napps: {web: {command: x}}\n')
    t.strictSame([f.text, f.line, f.column], ['name: not a valid project name ("My Shop")', 1, 7])
    const long = await loadError(t, `name: ${'s'.repeat(64)}\napps: {web: {command: x}}\n`)
    t.strictSame([long.line, long.column], [1, 7], 'a name longer than 63 characters is refused at its value')
    t.equal((await load(t, `name: ${'s'.repeat(63)}\napps: {web: {command: x}}\n`)).name, 's'.repeat(63))
  })

  t.test('version: is ignored, as compose ignores it', async t => {
    t.equal((await load(t, 'version: "3.8"\nservices: {web: {command: x}}\n')).apps.length, 1)
  })

  t.test('findProjectFile prefers contain.yml, then contain.yaml, then a Procfile', async t => {
    const both = tempDir(t, {'contain.yml': '', Procfile: ''})
    t.equal(findProjectFile(both), join(both, 'contain.yml'))
    const yaml = tempDir(t, {'contain.yaml': '', Procfile: ''})
    t.equal(findProjectFile(yaml), join(yaml, 'contain.yaml'))
    const procfile = tempDir(t, {Procfile: '', 'contain.yml': {}})
    t.equal(findProjectFile(procfile), join(procfile, 'Procfile'), 'a directory named contain.yml does not count')
    t.equal(findProjectFile(tempDir(t, {'docker-compose.yml': ''})), undefined)
    t.match(thrown(() => findProjectFile(tempDir(t, {'contain.yml': '', 'contain.yaml': ''}))).message, /sits next to contain.yml/)
  })

  t.test('a Procfile is loaded by its name', async t => {
    const project = await loadProject(join(fixtures, 'Procfile'), options(fixtures))
    t.strictSame(
      project.apps.map(app => app.name),
      ['web', 'worker', 'clock'],
    )
  })

  t.test("the resolver is called with each app's input, command, the host and the file's naming", async t => {
    const dir = tempDir(t, {'contain.yml': 'apps:\n  a: {command: x, cpus: 1}\n  b: {command: [y, z]}\n'})
    const calls: [OptionInput, string[], HostFacts, OptionNaming][] = []
    const facts = host(dir)
    const resolved = {} as RunOptions
    const project = await loadProject(join(dir, 'contain.yml'), {env: {}, host: facts, resolve: async (...args) => (calls.push(args), resolved)})
    t.strictSame(
      calls.map(([input, command]) => [input.name, input.cpus, command]),
      [
        ['a', '1', ['x']],
        ['b', undefined, ['y', 'z']],
      ],
    )
    t.equal(calls[0][2], facts)
    t.equal(calls[0][3].name('memory'), 'mem_limit', 'the naming names options by their keys')
    t.equal(project.apps[0].options, resolved, 'the loaded app holds the resolved options')
  })

  t.test('loading leaves the project directory as it was', async t => {
    const dir = join(fixtures, 'rails')
    const before = readdirSync(dir, {recursive: true}).sort()
    await loadProject(join(dir, 'contain.yml'), options(dir))
    t.strictSame(readdirSync(dir, {recursive: true}).sort(), before)
  })

  t.test('errors render with the fix', async t => {
    const dir = tempDir(t, {'contain.yml': app('cpus: abc')})
    const error = await rejection(loadProject(join(dir, 'contain.yml'), options(dir)))
    const {renderError} = await import('../../../src/errors.js')
    t.equal(
      renderError(error).message,
      `contain: ${join(dir, 'contain.yml')}:4:11: apps.web.cpus: not a number (got "abc")\n  fix: use a decimal number of CPUs, e.g. 0.5 or 2`,
    )
  })
})

t.test('volumes, view and shm_size', async t => {
  t.test('short and long forms become -v values; relative host paths start at contain.yml', async t => {
    const project = await load(t, app('volumes:\n  - ./:/srv/data:ro\n  - {type: bind, source: ., target: /srv/again}\nview: contained\nshm_size: 128m'))
    t.strictSame(project.apps[0].input.volume, ['./:/srv/data:ro', '.:/srv/again:rw'])
    t.equal(project.apps[0].input.view, 'contained')
    t.equal(project.apps[0].input['shm-size'], '128m')
  })

  t.test('bad volumes are reported at their item, with the fix', async t => {
    const cases: [string, RegExp, number][] = [
      ['volumes:\n  - ./missing:/srv/data', /^apps\.web\.volumes\[0\]: the host path .*\/missing does not exist/, 5],
      ['volumes:\n  - ./:srv/data', /^apps\.web\.volumes\[0\]: the container path "srv\/data" must be absolute/, 5],
      ['volumes:\n  - ./:/srv/data:rx', /^apps\.web\.volumes\[0\]: unknown mode "rx"/, 5],
      ['volumes:\n  - cache:/srv/data', /^apps\.web\.volumes\[0\]: "cache" is a named volume, and contain has none/, 5],
      ['volumes:\n  - {type: volume, source: x, target: /x}', /^apps\.web\.volumes\[0\]\.type: contain has only bind volumes/, 5],
      ['volumes:\n  - {source: ., target: /x, mode: ro}', /^apps\.web\.volumes\[0\]\.mode: unknown key/, 5],
    ]
    for (const [body, message, line] of cases) {
      const f = await loadError(t, app(body))
      t.match(f.text, message, body)
      t.equal(f.line, line, `${body}: line`)
    }
  })

  t.test('view takes contained or host', async t => {
    const f = await loadError(t, app('view: nonsense'))
    t.match(f.text, /^apps\.web\.view: unknown view \(got "nonsense"\)$/)
    t.strictSame([f.line, f.column], [4, 11])
    t.match(f.fix, /use contained .* or host/)
  })
})
