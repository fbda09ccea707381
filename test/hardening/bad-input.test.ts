/**
 * Part 2 of the hardening suite: a corpus of malformed input — `contain run` flags, contain.yml
 * files, Procfiles, env files and seccomp profiles. Every one must exit 125 with a message that
 * names the flag or file, the field and the fix, print no stack trace, and leave nothing behind.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {cli, crashed, figure, requireRoot, settledLeftovers, token} from './helpers.js'

const mark = token('bi')
const app = `w${mark}`

interface Case {
  title: string
  /** `run`: contain run ARGS -- true (a --name with the mark is added unless the case sets one). */
  run?: string[]
  /** `up`: contain up in a directory holding these files (contain.yml unless named). */
  files?: Record<string, string | Buffer>
  upArgs?: string[]
  /** Each must appear in stderr: the flag or file, the field. */
  names: (string | RegExp)[]
}

const yml = (body: string) => ({'contain.yml': `apps:\n  ${app}:\n    command: sleep 1\n${body}`})
const ymlAt = (key: string) => new RegExp(`contain\\.yml:\\d+:\\d+: apps\\.${app}\\.${key.replace(/[.[\]]/g, '\\$&')}`)
const profile = (json: unknown) => (typeof json === 'string' ? json : JSON.stringify(json))
const allow = {defaultAction: 'SCMP_ACT_ALLOW'}
const garbage = Buffer.from(Array.from({length: 4096}, (_, i) => (i * 7919 + 13) % 256))
const huge = `# ${'x'.repeat(2 ** 21)}\n`

const RUN_CASES: Case[] = [
  {title: 'a flag without its value', run: ['--memory'], names: ['--memory']},
  {title: 'a size that is not one', run: ['--memory', 'abc'], names: ['--memory', 'not a size']},
  {title: 'memory below 6m', run: ['--memory', '1k'], names: ['--memory', '6 MiB']},
  {title: 'memory beyond any host', run: ['--memory', '99999999999999999999g'], names: ['--memory', 'too large']},
  {title: 'a negative memory', run: ['--memory', '-5m'], names: ['--memory']},
  {title: 'swap below memory', run: ['--memory', '10m', '--memory-swap', '8m'], names: ['--memory-swap']},
  {title: 'swap without memory', run: ['--memory-swap', '1g'], names: ['--memory-swap', 'needs --memory']},
  {title: 'reservation above memory', run: ['--memory', '1g', '--memory-reservation', '2g'], names: ['--memory-reservation']},
  {title: 'cpus not a number', run: ['--cpus', 'abc'], names: ['--cpus']},
  {title: 'cpus 0', run: ['--cpus', '0'], names: ['--cpus', 'range']},
  {title: 'cpus beyond the host', run: ['--cpus', '1000'], names: ['--cpus', 'range']},
  {title: 'cpus in exponent form', run: ['--cpus', '1e3'], names: ['--cpus']},
  {title: 'negative cpus', run: ['--cpus', '-1'], names: ['--cpus']},
  {title: 'cpu shares too small', run: ['--cpu-shares', '1'], names: ['--cpu-shares']},
  {title: 'cpu shares too large', run: ['--cpu-shares', '999999'], names: ['--cpu-shares']},
  {title: 'a CPU the host lacks', run: ['--cpuset-cpus', '99'], names: ['--cpuset-cpus', 'does not exist']},
  {title: 'a backwards CPU range', run: ['--cpuset-cpus', '1-0'], names: ['--cpuset-cpus']},
  {title: 'a CPU list of letters', run: ['--cpuset-cpus', 'a,b'], names: ['--cpuset-cpus']},
  {title: 'a fractional pids limit', run: ['--pids-limit', '1.5'], names: ['--pids-limit']},
  {title: 'a pids limit below -1', run: ['--pids-limit', '-2'], names: ['--pids-limit']},
  {title: 'a pids limit beyond the kernel', run: ['--pids-limit', '99999999'], names: ['--pids-limit']},
  {title: 'a hostname with an empty label', run: ['--hostname', 'a..b'], names: ['--hostname']},
  {title: 'a hostname starting with -', run: ['--hostname', 'x-', '--hostname', '-bad'], names: ['--hostname']},
  {title: 'a hostname of 65 characters', run: ['--hostname', 'h'.repeat(65)], names: ['--hostname']},
  {title: 'an unknown namespace', run: ['--namespaces', 'foo'], names: ['--namespaces', 'unknown namespace']},
  {title: 'an unknown namespace among edits', run: ['--namespaces', '-pid,+bogus'], names: ['--namespaces', 'bogus']},
  {title: 'pid without mount', run: ['--namespaces', 'pid,uts'], names: ['--namespaces']},
  {title: 'an unknown network mode', run: ['--network', 'bridge'], names: ['--network']},
  {title: 'host network with a net namespace', run: ['--network', 'host', '--namespaces', '+net'], names: ['--network', 'conflicts']},
  {title: 'a user that does not exist', run: ['--user', `nouser${mark}`], names: ['--user', 'no user named']},
  {title: 'a UID past 32 bits (would be root)', run: ['--user', '4294967296'], names: ['--user', 'UID 4294967296 is out of range']},
  {title: 'UID (uid_t)-1 (would leave root)', run: ['--user', '4294967295'], names: ['--user', 'out of range']},
  {title: 'a GID past 32 bits', run: ['--user', '0:4294967296'], names: ['--user', 'GID']},
  {title: 'a user with two colons', run: ['--user', 'a:b:c'], names: ['--user']},
  {title: 'a group that does not exist', run: ['--user', `root:nogroup${mark}`], names: ['--user', 'no group named']},
  {title: 'a workdir that does not exist', run: ['--workdir', `/nonexistent-${mark}`], names: ['--workdir']},
  {title: 'a workdir that is a file', run: ['--workdir', '/etc/passwd'], names: ['--workdir', 'not an existing directory']},
  {title: 'a relative tmpfs path', run: ['--tmpfs', 'relative'], names: ['--tmpfs', 'absolute']},
  // The contained view makes a missing tmpfs target; the host's filesystem must have it.
  {title: 'a tmpfs path that does not exist, with --view host', run: ['--view', 'host', '--tmpfs', `/nonexistent-${mark}`], names: ['--tmpfs']},
  {title: 'an unknown tmpfs option', run: ['--tmpfs', '/tmp:suid'], names: ['--tmpfs', 'unknown option']},
  {title: 'an unknown view', run: ['--view', 'nonsense'], names: ['--view', 'unknown view', 'contained']},
  {title: 'the contained view without a mount namespace', run: ['--view', 'contained', '--namespaces', 'uts'], names: ['--view', 'mount namespace']},
  {title: 'a volume whose host path is missing', run: ['-v', `/nonexistent-${mark}:/data`], names: ['--volume', 'does not exist', 'mkdir -p']},
  {title: 'a volume with a relative container path', run: ['-v', '/tmp:data'], names: ['--volume', 'must be absolute']},
  {title: 'a volume with an unknown mode', run: ['-v', '/tmp:/data:rx'], names: ['--volume', 'unknown mode "rx"']},
  {title: 'a named volume', run: ['-v', 'cache:/data'], names: ['--volume', 'named volume']},
  {title: 'a volume without a container path', run: ['-v', '/tmp'], names: ['--volume', 'HOST:CONTAINER']},
  {title: 'a volume with --view host', run: ['--view', 'host', '-v', '/tmp:/data'], names: ['--volume', 'contained view']},
  {title: 'a shm size that is not one', run: ['--shm-size', 'big'], names: ['--shm-size']},
  {title: '--writable without --read-only', run: ['--writable', '/tmp'], names: ['--writable', '--read-only']},
  {title: 'an unknown capability', run: ['--cap-add', 'NOPE'], names: ['--cap-add']},
  {title: 'an unknown capability to drop', run: ['--cap-drop', 'FOO'], names: ['--cap-drop']},
  {title: 'an AppArmor option', run: ['--security-opt', 'apparmor=x'], names: ['--security-opt', 'AppArmor']},
  {title: 'no-new-privileges=maybe', run: ['--security-opt', 'no-new-privileges=maybe'], names: ['--security-opt', 'true or false']},
  {title: 'an unknown seccomp mode', run: ['--seccomp-mode', 'lax'], names: ['--seccomp-mode']},
  {title: 'complain mode without a profile', run: ['--seccomp', 'unconfined', '--seccomp-mode', 'complain'], names: ['--seccomp-mode']},
  {title: 'an empty seccomp profile name', run: ['--seccomp', ''], names: ['--seccomp', 'empty']},
  {title: 'two different seccomp profiles', run: ['--seccomp', 'default', '--security-opt', 'seccomp=unconfined'], names: ['--seccomp', 'conflicts']},
  {title: 'an unknown long flag', run: ['--bogus'], names: ['--bogus']},
  {title: 'an unknown short flag', run: ['-z'], names: ['-z']},
  {title: 'a value on a boolean flag', run: ['--read-only=yes'], names: ['--read-only']},
  {title: 'an env entry without a name', run: ['-e', '=x'], names: ['--env']},
  {title: 'a name with ../', run: ['--name', '../x'], names: ['--name']},
  {title: 'a name with /', run: ['--name', 'a/b'], names: ['--name']},
  {title: 'a name with a newline', run: ['--name', 'a\nb'], names: ['--name', 'a\\nb']},
  {title: 'a name with a terminal escape', run: ['--name', 'a\u001b[31mred'], names: ['--name', '\\u001b']},
  {title: 'a name starting with a dot', run: ['--name', '.hidden'], names: ['--name']},
  {title: 'a name of 64 characters', run: ['--name', 'n'.repeat(64)], names: ['--name']},
  {title: 'an empty name', run: ['--name', ''], names: ['--name']},
  {title: 'no command at all', run: ['--memory', '8m', '--'], names: ['command', 'no command given']},
  {title: 'a missing env file', run: ['--env-file', `/nonexistent-${mark}.env`], names: [`/nonexistent-${mark}.env`, 'ENOENT']},
  {title: 'an env file that is a directory', run: ['--env-file', '/etc'], names: ['/etc', 'EISDIR']},
  {title: 'an env file that never ends', run: ['--env-file', '/dev/urandom'], names: ['/dev/urandom', 'larger than 1 MiB']},
  {title: 'an env file with a space in a missing path', run: ['--env-file', `/tmp/no such dir ${mark}/x.env`], names: [`no such dir ${mark}/x.env`]},
  {title: 'an env file with a newline in a missing path', run: ['--env-file', `/tmp/new\nline-${mark}.env`], names: [`new\\nline-${mark}.env`]},
  {title: 'a seccomp profile that never ends', run: ['--seccomp', '/dev/zero'], names: ['/dev/zero', 'larger than 1 MiB']},
  {title: 'a seccomp profile that is a directory', run: ['--seccomp', '/etc'], names: ['/etc', 'EISDIR']},
  {title: 'a missing seccomp profile with a space in its path', run: ['--seccomp', `/tmp/no such ${mark}.json`], names: [`no such ${mark}.json`]},
]

/** Files for --env-file and --seccomp cases, written into the test directory (path: name). */
const FILE_RUN_CASES: (Case & {file: string; content: string | Buffer; flag: string[]})[] = [
  {title: 'an env file of binary garbage', file: 'garbage.env', content: garbage, flag: ['--env-file'], names: ['garbage.env', 'not a text file']},
  {title: 'an env file of 2 MiB', file: 'huge.env', content: huge, flag: ['--env-file'], names: ['huge.env', 'larger than 1 MiB']},
  {title: 'a profile that is not JSON', file: 'not-json.json', content: '{"defaultAction": ', flag: ['--seccomp'], names: [/not-json\.json:1:\d+/, 'JSON']},
  {title: 'a profile of binary garbage', file: 'garbage.json', content: garbage, flag: ['--seccomp'], names: ['garbage.json']},
  {title: 'an empty profile', file: 'empty.json', content: '', flag: ['--seccomp'], names: ['empty.json']},
  {
    title: 'a profile of 2 MiB',
    file: 'huge.json',
    content: `{"defaultAction": "SCMP_ACT_ALLOW"${' '.repeat(2 ** 21)}}`,
    flag: ['--seccomp'],
    names: ['huge.json', 'larger than 1 MiB'],
  },
  {title: 'a profile that is a list', file: 'list.json', content: '[]', flag: ['--seccomp'], names: ['list.json']},
  {
    title: 'defaultAction of the wrong type',
    file: 'type.json',
    content: profile({defaultAction: 1}),
    flag: ['--seccomp'],
    names: ['type.json', 'defaultAction'],
  },
  {
    title: 'a misspelt key, with a suggestion',
    file: 'typo.json',
    content: profile({defaultActions: 'SCMP_ACT_ALLOW'}),
    flag: ['--seccomp'],
    names: ['typo.json', 'defaultActions', 'did you mean'],
  },
  {
    title: 'an unknown action',
    file: 'action.json',
    content: profile({...allow, syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_MAYBE'}]}),
    flag: ['--seccomp'],
    names: ['action.json', /syscalls\[0\].*action/],
  },
  {
    title: 'syscalls that is not a list',
    file: 'syscalls.json',
    content: profile({...allow, syscalls: {mkdir: 1}}),
    flag: ['--seccomp'],
    names: ['syscalls.json', 'syscalls'],
  },
  {
    title: 'names that are not strings',
    file: 'names.json',
    content: profile({...allow, syscalls: [{names: [1], action: 'SCMP_ACT_ERRNO'}]}),
    flag: ['--seccomp'],
    names: ['names.json', 'names'],
  },
  {
    title: 'an errno past MAX_ERRNO',
    file: 'errno.json',
    content: profile({...allow, syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 99999}]}),
    flag: ['--seccomp'],
    names: ['errno.json', 'errnoRet'],
  },
  {
    title: 'an argument index of 7',
    file: 'index.json',
    content: profile({...allow, syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{index: 7, value: 0, op: 'SCMP_CMP_EQ'}]}]}),
    flag: ['--seccomp'],
    names: ['index.json', 'index'],
  },
  {
    title: 'an unknown comparison',
    file: 'op.json',
    content: profile({...allow, syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{index: 0, value: 0, op: 'SCMP_CMP_ALMOST'}]}]}),
    flag: ['--seccomp'],
    names: ['op.json', 'op'],
  },
  {
    title: 'an unknown syscall under --seccomp-strict',
    file: 'strict.json',
    content: profile({...allow, syscalls: [{names: ['not_a_syscall'], action: 'SCMP_ACT_ERRNO'}]}),
    flag: ['--seccomp-strict', '--seccomp'],
    names: ['strict.json', 'not_a_syscall'],
  },
  {
    title: 'both name and names',
    file: 'both.json',
    content: profile({...allow, syscalls: [{name: 'mkdir', names: ['rmdir'], action: 'SCMP_ACT_ERRNO'}]}),
    flag: ['--seccomp'],
    names: ['both.json', 'name'],
  },
]

const UP_CASES: Case[] = [
  {title: 'a volume whose host path is missing', files: yml('    volumes: ["./missing:/data"]\n'), names: [ymlAt('volumes[0]'), 'does not exist']},
  {title: 'a volume with a relative container path', files: yml('    volumes: ["./:data"]\n'), names: [ymlAt('volumes[0]'), 'must be absolute']},
  {title: 'a volume with an unknown mode', files: yml('    volumes: ["./:/data:rx"]\n'), names: [ymlAt('volumes[0]'), 'unknown mode']},
  {
    title: 'a long-form volume of another type',
    files: yml('    volumes: [{type: volume, source: x, target: /x}]\n'),
    names: [ymlAt('volumes[0].type'), 'bind'],
  },
  {title: 'view: nonsense', files: yml('    view: nonsense\n'), names: [ymlAt('view'), 'unknown view']},
  {title: 'a volume whose host path is missing', files: yml('    volumes: ["./missing:/data"]\n'), names: [ymlAt('volumes[0]'), 'does not exist']},
  {title: 'a volume with a relative container path', files: yml('    volumes: ["./:data"]\n'), names: [ymlAt('volumes[0]'), 'must be absolute']},
  {title: 'a volume with an unknown mode', files: yml('    volumes: ["./:/data:rx"]\n'), names: [ymlAt('volumes[0]'), 'unknown mode']},
  {
    title: 'a long-form volume of another type',
    files: yml('    volumes: [{type: volume, source: x, target: /x}]\n'),
    names: [ymlAt('volumes[0].type'), 'bind'],
  },
  {title: 'view: nonsense', files: yml('    view: nonsense\n'), names: [ymlAt('view'), 'unknown view']},
  {title: 'a misspelt key, with a suggestion', files: yml('    mem_limt: 64m\n'), names: [ymlAt('mem_limt'), 'did you mean mem_limit']},
  {title: 'a misspelt top-level key', files: {'contain.yml': `aps:\n  ${app}:\n    command: sleep 1\n`}, names: [/contain\.yml:1:1: aps/, 'did you mean apps']},
  {title: 'a CLI flag name as a key', files: yml('    memory: 64m\n'), names: [ymlAt('memory'), 'mem_limit']},
  {title: 'memory below 6m', files: yml('    mem_limit: 5m\n'), names: [ymlAt('mem_limit'), '6 MiB']},
  {title: 'memory that is not a size', files: yml('    mem_limit: lots\n'), names: [ymlAt('mem_limit'), 'not a size']},
  {title: 'cpus as a list', files: yml('    cpus: [1]\n'), names: [ymlAt('cpus'), 'must be']},
  {title: 'cpus beyond the host', files: yml('    cpus: 100\n'), names: [ymlAt('cpus'), 'range']},
  {title: 'a pids limit of -7', files: yml('    pids_limit: -7\n'), names: [ymlAt('pids_limit')]},
  {
    title: 'duplicate app names',
    files: {'contain.yml': `apps:\n  ${app}:\n    command: sleep 1\n  ${app}:\n    command: sleep 2\n`},
    names: [/contain\.yml:4:3/, 'duplicate app name'],
  },
  {title: 'a duplicate key', files: yml('    cpus: 1\n    cpus: 2\n'), names: [ymlAt('cpus'), 'duplicate key']},
  {title: 'apps as a list', files: {'contain.yml': 'apps: [1, 2]\n'}, names: [/contain\.yml:1:\d+: apps/, 'map']},
  {title: 'invalid YAML', files: {'contain.yml': '{{{\n'}, names: [/contain\.yml:\d+:\d+: invalid YAML/, 'indented']},
  {title: 'tab indentation', files: {'contain.yml': `apps:\n\t${app}:\n\t\tcommand: sleep 1\n`}, names: [/contain\.yml:2:\d+/, 'YAML']},
  {title: 'two YAML documents', files: {'contain.yml': `apps:\n  ${app}:\n    command: sleep 1\n---\napps: {}\n`}, names: [/contain\.yml:\d+:\d+/, 'document']},
  {
    title: 'an app name with ../',
    files: {'contain.yml': 'apps:\n  ../x:\n    command: sleep 1\n'},
    names: [/contain\.yml:2:3: apps\["\.\.\/x"\]/, 'not a valid app name'],
  },
  {title: 'an app name with /', files: {'contain.yml': 'apps:\n  a/b:\n    command: sleep 1\n'}, names: [/apps\["a\/b"\]/, 'not a valid app name']},
  {title: 'an app name with a newline', files: {'contain.yml': 'apps:\n  "a\\nb":\n    command: sleep 1\n'}, names: ['apps["a\\nb"]', 'not a valid app name']},
  {title: 'an app name with ..', files: {'contain.yml': 'apps:\n  a..b:\n    command: sleep 1\n'}, names: ['apps["a..b"]', 'not a valid app name']},
  {title: 'an app name with a control character', files: {'contain.yml': 'apps:\n  "a\\u0007b":\n    command: sleep 1\n'}, names: ['not a valid app name']},
  {title: 'an empty file', files: {'contain.yml': ''}, names: ['contain.yml', 'is empty']},
  {title: 'no apps', files: {'contain.yml': 'apps: {}\n'}, names: ['contain.yml', 'has no apps']},
  {title: 'an app without a body', files: {'contain.yml': `apps:\n  ${app}:\n`}, names: [new RegExp(`apps\\.${app}`), 'is empty']},
  {title: 'an app without a command', files: {'contain.yml': `apps:\n  ${app}:\n    cpus: 1\n`}, names: [new RegExp(`apps\\.${app}`), 'has no command']},
  {title: 'a command that is a number', files: {'contain.yml': `apps:\n  ${app}:\n    command: 5\n`}, names: [ymlAt('command'), 'must be']},
  {
    title: 'a command with shell syntax',
    files: {'contain.yml': `apps:\n  ${app}:\n    command: echo $HOME && ls\n`},
    names: [ymlAt('command'), 'shell syntax'],
  },
  {title: 'a command with an open quote', files: {'contain.yml': `apps:\n  ${app}:\n    command: echo "open\n`}, names: [ymlAt('command'), 'unterminated']},
  {title: 'an unknown restart policy', files: yml('    restart: sometimes\n'), names: [ymlAt('restart'), 'restart policy']},
  {title: 'on-failure:0', files: yml('    restart: on-failure:0\n'), names: [ymlAt('restart')]},
  {title: 'an unknown stop signal', files: yml('    stop_signal: SIGFOO\n'), names: [ymlAt('stop_signal'), 'unknown signal']},
  {title: 'a duration without a unit', files: yml('    stop_grace_period: 10\n'), names: [ymlAt('stop_grace_period'), 'no unit']},
  {title: 'a duration past what a timer holds', files: yml('    stop_grace_period: 99999999999999999999h\n'), names: [ymlAt('stop_grace_period'), 'too long']},
  {title: 'a health URL that is not http', files: yml('    healthcheck: {test: {http: "ftp://x"}}\n'), names: [ymlAt('healthcheck.test.http'), 'http URL']},
  {title: 'a health check without a test', files: yml('    healthcheck: {interval: 5s}\n'), names: [ymlAt('healthcheck'), 'no test']},
  {title: 'a health interval of 0', files: yml('    healthcheck: {test: "true", interval: 0s}\n'), names: [ymlAt('healthcheck.interval')]},
  {title: 'a health port of 70000', files: yml('    healthcheck: {test: {tcp: "127.0.0.1:70000"}}\n'), names: [ymlAt('healthcheck.test.tcp')]},
  {title: 'a log size of 0', files: yml('    logging: {max_size: 0}\n'), names: [ymlAt('logging.max_size')]},
  {title: 'no log files kept', files: yml('    logging: {max_files: 0}\n'), names: [ymlAt('logging.max_files')]},
  {title: 'a log driver contain does not have', files: yml('    logging: {driver: syslog}\n'), names: [ymlAt('logging.driver')]},
  {title: 'a backoff factor of 1000', files: yml('    backoff: {factor: 1000}\n'), names: [ymlAt('backoff.factor')]},
  {title: 'a backoff max below initial', files: yml('    backoff: {initial: 10s, max: 1s}\n'), names: [ymlAt('backoff.max'), 'shorter']},
  {title: 'an environment entry without a name', files: yml('    environment: ["=x"]\n'), names: [ymlAt('environment[0]'), 'no variable name']},
  {title: 'an environment value that is a list', files: yml('    environment: {A: [1]}\n'), names: [ymlAt('environment.A')]},
  {title: 'a missing env_file', files: yml(`    env_file: missing-${mark}.env\n`), names: [ymlAt('env_file'), `missing-${mark}.env`, 'does not exist']},
  {title: 'an env_file that is a directory', files: {...yml('    env_file: sub\n'), 'sub/keep': ''}, names: [ymlAt('env_file'), 'EISDIR']},
  {
    title: 'an env_file of binary garbage',
    files: {...yml('    env_file: garbage.env\n'), 'garbage.env': garbage},
    names: [ymlAt('env_file'), 'not a text file'],
  },
  {title: 'an env_file that never ends', files: yml('    env_file: /dev/urandom\n'), names: [ymlAt('env_file'), 'larger than 1 MiB']},
  {title: 'an env_file with a space in a missing path', files: yml('    env_file: "no such dir/x.env"\n'), names: [ymlAt('env_file'), 'no such dir/x.env']},
  {title: 'a .env that is a directory', files: {...yml(''), '.env/keep': ''}, names: ['.env', 'EISDIR']},
  {title: "docker-compose's image", files: yml('    image: nginx\n'), names: [ymlAt('image'), 'does not apply']},
  {title: "docker-compose's ports", files: yml('    ports: ["80:80"]\n'), names: [ymlAt('ports'), 'does not apply']},
  {
    title: 'a project name with ../',
    files: {'contain.yml': `name: "../../etc"\napps:\n  ${app}:\n    command: sleep 1\n`},
    names: [/contain\.yml:1:\d+: name/, 'project name'],
  },
  {title: 'a UID past 32 bits', files: yml('    user: "4294967296"\n'), names: [ymlAt('user'), 'out of range']},
  {title: 'a user that does not exist', files: yml(`    user: nouser${mark}\n`), names: [ymlAt('user'), 'no user named']},
  {title: 'a CPU the host lacks', files: yml('    cpuset: "99"\n'), names: [ymlAt('cpuset'), 'does not exist']},
  {title: 'an unknown namespace', files: yml('    namespaces: [bogus]\n'), names: [ymlAt('namespaces'), 'unknown namespace']},
  {title: 'an unknown network mode', files: yml('    network_mode: bridge\n'), names: [ymlAt('network_mode')]},
  {title: 'an unknown capability', files: yml('    cap_add: [NOPE]\n'), names: [ymlAt('cap_add'), 'capability']},
  {title: 'a missing seccomp profile', files: yml(`    seccomp: missing-${mark}.json\n`), names: [`missing-${mark}.json`]},
  {title: 'a security option contain lacks', files: yml('    security_opt: [apparmor=x]\n'), names: [ymlAt('security_opt'), 'AppArmor']},
  {title: 'a boolean that is a string', files: yml('    read_only: "yes"\n'), names: [ymlAt('read_only'), 'true or false']},
  {title: 'a contain.yml of 2 MiB', files: {'contain.yml': huge}, names: ['contain.yml', '1 MiB']},
  {title: 'a contain.yml of binary garbage', files: {'contain.yml': garbage}, names: ['contain.yml', 'not a text file']},
  {
    title: 'a contain.yml that is not UTF-8',
    files: {'contain.yml': Buffer.from([0x61, 0x70, 0x70, 0x73, 0x3a, 0x20, 0xff, 0xfe, 0x0a])},
    names: ['contain.yml', 'UTF-8'],
  },
  {title: 'a !!binary value', files: yml('    cpus: !!binary aGVsbG8=\n'), names: [ymlAt('cpus'), 'binary']},
  {
    title: 'an alias bomb',
    files: {
      'contain.yml': `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\napps:\n  ${app}:\n    command: sleep 1\n`,
    },
    names: ['contain.yml'],
  },
  {title: 'nesting 5000 deep', files: {'contain.yml': `${'['.repeat(5000)}${']'.repeat(5000)}\n`}, names: ['contain.yml']},
  {title: '-f naming a directory', files: {'sub/keep': ''}, upArgs: ['-f', 'sub'], names: ['sub', 'directory']},
  {title: '-f naming a file that never ends', files: {}, upArgs: ['-f', '/dev/zero'], names: ['/dev/zero', '1 MiB']},
  {title: '-f with a space in a missing path', files: {}, upArgs: ['-f', 'no such dir/contain.yml'], names: ['no such dir/contain.yml', 'does not exist']},
  {title: 'an app that is not in the file', files: yml(''), upArgs: [`other${mark}`], names: [`other${mark}`, 'no app named']},
  {title: 'a Procfile line without a name', files: {Procfile: 'just a command\n'}, names: [/Procfile:1:1/, 'not a process line']},
  {title: 'a Procfile name with ../', files: {Procfile: '../x: sleep 1\n'}, names: [/Procfile:1:1/, 'not a valid process name']},
  {title: 'a Procfile with a duplicate name', files: {Procfile: `${app}: sleep 1\n${app}: sleep 2\n`}, names: [/Procfile:2:1/, 'duplicate process type']},
  {title: 'a Procfile without processes', files: {Procfile: '# nothing\n'}, names: ['Procfile', 'has no processes']},
  {title: 'a Procfile with a bad PORT', files: {Procfile: `${app}: sleep 1\n`, '.env': 'PORT=http\n'}, names: ['.env', 'PORT']},
]

/** Runs up to `width` at a time; the host has two cores and other suites run beside this one. */
async function pool<T>(items: T[], width: number, each: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({length: width}, async () => {
      while (next < items.length) {
        const index = next++
        await each(items[index], index)
      }
    }),
  )
}

function writeTree(dir: string, files: Record<string, string | Buffer>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), {recursive: true})
    writeFileSync(join(dir, name), content)
  }
}

if (requireRoot(t)) {
  t.test('every malformed input exits 125, names flag or file, field and fix, and leaves nothing', async t => {
    const dir = t.testdir({})
    const stateRoot = join(dir, 'state')
    const env = {CONTAIN_STATE_DIR: stateRoot}
    type Attempt = {title: string; args: string[]; cwd: string; names: (string | RegExp)[]}
    const attempts: Attempt[] = []
    RUN_CASES.forEach((item, index) => {
      const args = item.run ?? []
      const named = args.includes('--name') ? args : ['--name', `r${index}${mark}`, ...args]
      const command = named.at(-1) === '--' ? [] : [...(named.includes('--') ? [] : ['--']), 'true']
      attempts.push({title: `run: ${item.title}`, args: ['run', ...named, ...command], cwd: dir, names: item.names})
    })
    FILE_RUN_CASES.forEach((item, index) => {
      writeFileSync(join(dir, item.file), item.content)
      attempts.push({
        title: `run: ${item.title}`,
        args: ['run', '--name', `f${index}${mark}`, ...item.flag, join(dir, item.file), '--', 'true'],
        cwd: dir,
        names: item.names,
      })
    })
    UP_CASES.forEach((item, index) => {
      const project = join(dir, `up-${index}`)
      mkdirSync(project)
      writeTree(project, item.files ?? {})
      attempts.push({title: `up: ${item.title}`, args: ['up', '--no-color', ...(item.upArgs ?? [])], cwd: project, names: item.names})
    })

    let clear = 0
    let crashes = 0
    await pool(attempts, 3, async attempt => {
      const result = await startAndWait(attempt.args, attempt.cwd, env)
      const output = `${result.stdout}\n${result.stderr}`
      const problems: string[] = []
      if (result.exitCode !== 125) problems.push(`exit ${result.exitCode}, not 125`)
      if (crashed(output)) {
        crashes++
        problems.push('printed a stack trace or an internal error')
      }
      if (!/\n {2}fix: \S/.test(result.stderr)) problems.push('no fix line')
      if (output.includes('\u001b')) problems.push('printed a raw terminal escape')
      for (const name of attempt.names)
        if (!(typeof name === 'string' ? result.stderr.includes(name) : name.test(result.stderr))) problems.push(`does not name ${name}`)
      if (problems.length === 0) clear++
      t.same(problems, [], `${attempt.title} (${result.ms} ms): ${result.stderr.trim().split('\n')[0]?.slice(0, 150)}`)
    })

    const left = await settledLeftovers(mark, stateRoot)
    t.same(left, {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind: no cgroup, process or state file')
    figure(
      t,
      `bad input: ${attempts.length} tried, ${clear} clear errors, ${crashes} crashes, ${left.cgroups.length + left.processes.length + left.stateFiles.length} leftovers`,
    )
    t.ok(attempts.length >= 100, `at least 100 inputs (${attempts.length})`)
  })
}

async function startAndWait(args: string[], cwd: string, env: Record<string, string>) {
  return cli(args, {cwd, env, timeoutMs: 30_000})
}
