import {mkdirSync} from 'node:fs'
import {isAbsolute, join} from 'node:path'
import t from 'tap'
import type {RawRunFlags} from '../../../src/config/schema.js'
import {FileError, InvalidValueError} from '../../../src/errors.js'
import {resolveRunOptions} from '../../../src/config/resolve.js'
import type {HostFacts} from '../../../src/launch/options.js'
import {errnoError, rejection} from '../helpers/errors.js'
import type {TestContext} from '../helpers/tap.js'

const MiB = 2 ** 20

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n'
const GROUP = 'root:x:0:\nalice:x:1000:\ndocker:x:998:alice\n'

/**
 * A 2-CPU host whose cwd is a fresh temp dir. readFile serves `files` only; a relative key is a
 * file in the cwd.
 */
function host(t: TestContext, {env = {}, files = {}}: {env?: Record<string, string | undefined>; files?: Record<string, string>} = {}): HostFacts {
  const cwd = t.testdir({})
  const byPath = new Map(Object.entries(files).map(([path, text]) => [isAbsolute(path) ? path : join(cwd, path), text]))
  return {
    cpus: 2,
    env,
    cwd,
    readFile(path) {
      const text = byPath.get(path)
      if (text === undefined) throw errnoError('ENOENT', path)
      return text
    },
  }
}

const resolve = (t: TestContext, raw: RawRunFlags, facts: HostFacts = host(t), command = ['app']) => resolveRunOptions(raw, command, facts)

/** Asserts `promise` rejects with an InvalidValueError for `field`, whose message matches. */
async function rejectsInvalid(t: TestContext, promise: Promise<unknown>, field: string, problem: RegExp) {
  const error = await rejection(promise)
  t.type(error, InvalidValueError)
  t.equal((error as InvalidValueError).field, field)
  t.match(error.message, problem)
  t.ok((error as InvalidValueError).fix, 'has a fix')
}

t.test('the command', async t => {
  t.test('is required', async t => {
    await rejectsInvalid(t, resolveRunOptions({}, [], host(t)), 'command', /no command given/)
    await rejectsInvalid(t, resolveRunOptions({}, [''], host(t)), 'command', /no command given/)
  })

  t.test('is kept as given', async t => {
    t.strictSame((await resolve(t, {}, host(t), ['bundle', 'exec', 'rails', 's'])).command, ['bundle', 'exec', 'rails', 's'])
  })
})

t.test('the name', async t => {
  t.test('defaults to the command basename plus a random 6-hex suffix', async t => {
    t.match((await resolve(t, {}, host(t), ['/usr/local/bin/rails', 's'])).name, /^rails-[0-9a-f]{6}$/)
    t.match((await resolve(t, {}, host(t), ['./my app!'])).name, /^myapp-[0-9a-f]{6}$/, 'drops characters a name cannot hold')
    t.match((await resolve(t, {}, host(t), ['/'])).name, /^app-[0-9a-f]{6}$/, 'falls back to app')
    t.match((await resolve(t, {}, host(t), ['_-.x'])).name, /^x-[0-9a-f]{6}$/, 'starts with a letter or digit')
  })

  t.test('defaults differ from run to run', async t => {
    const names = new Set<string>()
    for (let i = 0; i < 5; i++) names.add((await resolve(t, {}, host(t), ['app'])).name)
    t.ok(names.size > 1)
  })

  t.test('default from a long command stays a valid name', async t => {
    const {name} = await resolve(t, {}, host(t), ['x'.repeat(100)])
    t.match(name, /^x{48}-[0-9a-f]{6}$/)
  })

  t.test('--name is kept when valid', async t => {
    t.equal((await resolve(t, {name: 'web.1_a-b'})).name, 'web.1_a-b')
    t.equal((await resolve(t, {name: 'a'.repeat(63)})).name, 'a'.repeat(63))
  })

  t.test('--name must start with a letter or digit and use only letters, digits, _ . -', async t => {
    for (const name of ['-web', '.web', 'my app', 'web/1', 'a'.repeat(64), '']) {
      await rejectsInvalid(t, resolve(t, {name}), '--name', /not a valid name/)
    }
  })
})

t.test('the hostname', async t => {
  t.test('defaults to the name, made a valid hostname', async t => {
    const options = await resolve(t, {name: 'web'})
    t.equal(options.hostname, 'web')
    t.equal(options.env.HOSTNAME, 'web')
    t.equal((await resolve(t, {name: 'my_app.v2'})).hostname, 'my-app-v2')
    t.equal((await resolve(t, {name: 'app_'})).hostname, 'app', 'no trailing dash')
  })

  t.test('default name gives a matching default hostname', async t => {
    const options = await resolve(t, {}, host(t), ['rails'])
    t.equal(options.hostname, options.name)
  })

  t.test('--hostname is kept and exported as HOSTNAME, over the host value', async t => {
    const options = await resolve(t, {hostname: 'web.example.com'}, host(t, {env: {HOSTNAME: 'build-host'}}))
    t.equal(options.hostname, 'web.example.com')
    t.equal(options.env.HOSTNAME, 'web.example.com')
  })

  t.test('--hostname must be a valid hostname', async t => {
    for (const hostname of ['-web', 'web-', 'a_b', 'a..b', 'x'.repeat(65), 'web example']) {
      await rejectsInvalid(t, resolve(t, {hostname}), '--hostname', /not a valid hostname/)
    }
  })

  t.test('--hostname needs the uts namespace', async t => {
    await rejectsInvalid(t, resolve(t, {hostname: 'web', namespaces: '-uts'}), '--hostname', /needs the uts namespace/)
  })

  t.test("without a uts namespace there is no hostname and HOSTNAME is the host's, not the caller's variable", async t => {
    const options = await resolve(t, {name: 'web', namespaces: '-uts'}, {...host(t, {env: {HOSTNAME: 'caller-variable'}}), hostname: 'build-host'})
    t.equal(options.hostname, undefined)
    t.equal(options.env.HOSTNAME, 'build-host')
    t.notOk('HOSTNAME' in (await resolve(t, {name: 'web', namespaces: '-uts'}, host(t, {env: {HOSTNAME: 'caller-variable'}}))).env, 'unknown host name: none')
  })
})

t.test('limits', async t => {
  t.test('no flags, no limits', async t => {
    t.strictSame((await resolve(t, {})).limits, {})
  })

  t.test('every limit flag becomes kernel units', async t => {
    const {limits} = await resolve(t, {
      cpus: '0.5',
      'cpu-shares': '512',
      'cpuset-cpus': '0-1',
      memory: '64m',
      'memory-swap': '128m',
      'memory-reservation': '32m',
      'pids-limit': '100',
    })
    t.strictSame(limits, {
      cpuQuotaMicros: 50_000,
      cpuPeriodMicros: 100_000,
      cpuShares: 512,
      cpusetCpus: '0-1',
      memoryBytes: 64 * MiB,
      memorySwapBytes: 128 * MiB,
      memoryReservationBytes: 32 * MiB,
      pidsMax: 100,
    })
  })

  t.test('--cpus uses the host CPU count as its bound', async t => {
    t.equal((await resolve(t, {cpus: '2'})).limits.cpuQuotaMicros, 200_000)
    t.equal((await resolve(t, {cpus: '0.01'})).limits.cpuQuotaMicros, 1000)
    await rejectsInvalid(t, resolve(t, {cpus: '3'}), '--cpus', /0\.01 to 2/)
  })

  t.test('--cpu-shares must be 2..262144', async t => {
    await rejectsInvalid(t, resolve(t, {'cpu-shares': '1'}), '--cpu-shares', /2 to 262144/)
    await rejectsInvalid(t, resolve(t, {'cpu-shares': '262145'}), '--cpu-shares', /2 to 262144/)
  })

  t.test('--cpuset-cpus must name CPUs of this host', async t => {
    await rejectsInvalid(t, resolve(t, {'cpuset-cpus': '9'}), '--cpuset-cpus', /CPU 9 does not exist/)
  })

  t.test('--memory has a 6 MiB floor', async t => {
    await rejectsInvalid(t, resolve(t, {memory: '5m'}), '--memory', /6 MiB/)
  })

  t.test('--memory-swap needs --memory', async t => {
    await rejectsInvalid(t, resolve(t, {'memory-swap': '1g'}), '--memory-swap', /needs --memory/)
    await rejectsInvalid(t, resolve(t, {'memory-swap': '-1'}), '--memory-swap', /needs --memory/)
  })

  t.test('--memory-swap must be at least --memory', async t => {
    await rejectsInvalid(t, resolve(t, {memory: '64m', 'memory-swap': '32m'}), '--memory-swap', /must be at least --memory/)
    t.equal((await resolve(t, {memory: '64m', 'memory-swap': '64m'})).limits.memorySwapBytes, 64 * MiB, 'equal means no swap')
  })

  t.test('--memory-swap -1 is unlimited', async t => {
    t.equal((await resolve(t, {memory: '64m', 'memory-swap': '-1'})).limits.memorySwapBytes, 'unlimited')
  })

  t.test('--memory-reservation must not exceed --memory', async t => {
    await rejectsInvalid(t, resolve(t, {memory: '64m', 'memory-reservation': '65m'}), '--memory-reservation', /must not exceed --memory/)
    t.equal((await resolve(t, {memory: '64m', 'memory-reservation': '64m'})).limits.memoryReservationBytes, 64 * MiB)
    t.equal((await resolve(t, {'memory-reservation': '1g'})).limits.memoryReservationBytes, 1024 * MiB, 'alone it has no bound')
  })

  t.test('--pids-limit -1 and 0 mean unlimited', async t => {
    t.equal((await resolve(t, {'pids-limit': '-1'})).limits.pidsMax, 'unlimited')
    t.equal((await resolve(t, {'pids-limit': '0'})).limits.pidsMax, 'unlimited')
    t.equal((await resolve(t, {'pids-limit': '1'})).limits.pidsMax, 1)
  })

  t.test('--pids-limit below -1 or not a number is rejected', async t => {
    await rejectsInvalid(t, resolve(t, {'pids-limit': '-2'}), '--pids-limit', /whole number from -1/)
    await rejectsInvalid(t, resolve(t, {'pids-limit': 'many'}), '--pids-limit', /whole number/)
  })
})

t.test('namespaces', async t => {
  t.test('default to pid, mount, uts, ipc, cgroup', async t => {
    t.strictSame((await resolve(t, {})).namespaces, ['pid', 'mount', 'uts', 'ipc', 'cgroup'])
  })

  t.test('--namespaces replaces or edits the set', async t => {
    t.strictSame((await resolve(t, {namespaces: 'pid,mount'})).namespaces, ['pid', 'mount'])
    t.strictSame((await resolve(t, {namespaces: '-ipc'})).namespaces, ['pid', 'mount', 'uts', 'cgroup'])
    await rejectsInvalid(t, resolve(t, {namespaces: 'pid,bogus'}), '--namespaces', /unknown namespace "bogus"/)
  })

  t.test('a pid namespace needs a mount namespace (for /proc)', async t => {
    await rejectsInvalid(t, resolve(t, {namespaces: 'pid,uts'}), '--namespaces', /needs the mount namespace/)
    await rejectsInvalid(t, resolve(t, {namespaces: '-mount'}), '--namespaces', /needs the mount namespace/)
    t.strictSame((await resolve(t, {namespaces: 'uts'})).namespaces, ['uts'], 'no pid, no need')
  })

  t.test('--network none adds a net namespace', async t => {
    t.ok((await resolve(t, {network: 'none'})).namespaces.includes('net'))
  })

  t.test('--network host keeps the host network', async t => {
    t.notOk((await resolve(t, {network: 'host'})).namespaces.includes('net'))
  })

  t.test('--network host conflicts with net in --namespaces', async t => {
    await rejectsInvalid(t, resolve(t, {network: 'host', namespaces: '+net'}), '--network', /conflicts with the net namespace/)
  })

  t.test('--network accepts only host and none', async t => {
    await rejectsInvalid(t, resolve(t, {network: 'bridge'}), '--network', /unknown network mode/)
  })

  t.test('--userns adds a user namespace', async t => {
    t.ok((await resolve(t, {userns: true})).namespaces.includes('user'))
    t.notOk((await resolve(t, {userns: false})).namespaces.includes('user'))
  })
})

t.test('filesystem flags', async t => {
  t.test('off by default', async t => {
    const options = await resolve(t, {})
    t.equal(options.readOnly, false)
    t.strictSame(options.tmpfs, [])
    t.strictSame(options.writable, [])
  })

  t.test('--tmpfs and --writable take existing absolute directories', async t => {
    const facts = host(t)
    const cache = join(facts.cwd, 'cache')
    const data = join(facts.cwd, 'data')
    mkdirSync(cache)
    mkdirSync(data)
    const options = await resolve(t, {'read-only': true, tmpfs: [cache], writable: [data]}, facts)
    t.equal(options.readOnly, true)
    t.strictSame(options.tmpfs, [{path: cache, exec: false}])
    t.strictSame(options.writable, [data])
  })

  t.test('--tmpfs takes :exec, :noexec and :size=', async t => {
    const options = await resolve(t, {tmpfs: ['/a:exec', '/b:noexec,size=1m', '/c']})
    t.strictSame(options.tmpfs, [
      {path: '/a', exec: true},
      {path: '/b', exec: false, sizeBytes: 2 ** 20},
      {path: '/c', exec: false},
    ])
    await rejectsInvalid(t, resolve(t, {tmpfs: ['/a:suid']}), '--tmpfs', /unknown option "suid"/)
  })

  t.test('--tmpfs must be absolute', async t => {
    await rejectsInvalid(t, resolve(t, {tmpfs: ['tmp']}), '--tmpfs', /must be an absolute path/)
  })

  t.test('--tmpfs must be an existing directory with --view host (the contained view makes it)', async t => {
    const facts = host(t)
    await rejectsInvalid(t, resolve(t, {tmpfs: [join(facts.cwd, 'missing')], view: 'host'}, facts), '--tmpfs', /is not an existing directory/)
    t.strictSame((await resolve(t, {tmpfs: [join(facts.cwd, 'missing')]}, facts)).tmpfs, [{path: join(facts.cwd, 'missing'), exec: false}])
  })

  t.test('--tmpfs needs a mount namespace', async t => {
    const facts = host(t)
    await rejectsInvalid(t, resolve(t, {tmpfs: [facts.cwd], namespaces: 'uts'}, facts), '--tmpfs', /needs the mount namespace/)
  })

  t.test('a tmpfs that would hide the working directory is refused at plan time, with the reason', async t => {
    const facts = host(t)
    await rejectsInvalid(t, resolve(t, {tmpfs: [facts.cwd]}, facts), '--tmpfs', /is the working directory itself/)
    // The host view mounts over the host's tree: a working directory below the tmpfs would be gone.
    await rejectsInvalid(
      t,
      resolve(t, {tmpfs: ['/tmp'], view: 'host'}, {...facts, cwd: '/tmp'}),
      '--tmpfs',
      /hides the working directory \/tmp, which is below it, in the host view/,
    )
    // The contained view binds the working directory back over a tmpfs above it.
    t.strictSame((await resolve(t, {tmpfs: [join(facts.cwd, '..')]}, facts)).tmpfs, [{path: join(facts.cwd, '..'), exec: false}])
  })

  t.test("a tmpfs at a volume's target would hide the volume: refused", async t => {
    const facts = host(t)
    await rejectsInvalid(t, resolve(t, {tmpfs: ['/srv/data'], volume: ['.:/srv/data']}, facts), '--tmpfs', /also the target of the volume/)
  })

  t.test('a mount point that cannot be made in a read-only directory of the view is refused at plan time', async t => {
    const facts = host(t)
    await rejectsInvalid(
      t,
      resolve(t, {volume: ['.:/usr/share/contain-no-such-dir']}, facts),
      '--volume',
      /the mount point \/usr\/share\/contain-no-such-dir does not exist, and \/usr is read-only/,
    )
    await rejectsInvalid(t, resolve(t, {tmpfs: ['/proc/contain-no-such-dir']}, facts), '--tmpfs', /\/proc is read-only/)
    // One that exists there is mounted over; a new top-level directory is made in the view's own root.
    t.equal((await resolve(t, {volume: ['.:/usr/share']}, facts)).volumes[0].target, '/usr/share')
    t.equal((await resolve(t, {volume: ['.:/srv/contain-no-such-dir']}, facts)).volumes[0].target, '/srv/contain-no-such-dir')
    // With the host view nothing is made: the path must exist anyway.
    await rejectsInvalid(t, resolve(t, {tmpfs: ['/usr/contain-no-such-dir'], view: 'host'}, facts), '--tmpfs', /is not an existing directory/)
  })

  t.test('--read-only needs a mount namespace', async t => {
    await rejectsInvalid(t, resolve(t, {'read-only': true, namespaces: 'uts'}), '--read-only', /needs the mount namespace/)
  })

  t.test('--writable only applies with --read-only', async t => {
    const facts = host(t)
    await rejectsInvalid(t, resolve(t, {writable: [facts.cwd]}, facts), '--writable', /only applies with --read-only/)
  })
})

t.test('the working directory', async t => {
  t.test('defaults to the current directory', async t => {
    const facts = host(t)
    t.equal((await resolve(t, {}, facts)).workdir, facts.cwd)
  })

  t.test('--workdir is resolved against the current directory', async t => {
    const facts = host(t)
    mkdirSync(join(facts.cwd, 'app'))
    t.equal((await resolve(t, {workdir: 'app'}, facts)).workdir, join(facts.cwd, 'app'))
    t.equal((await resolve(t, {workdir: join(facts.cwd, 'app')}, facts)).workdir, join(facts.cwd, 'app'))
  })

  t.test('--workdir must exist', async t => {
    await rejectsInvalid(t, resolve(t, {workdir: 'missing'}), '--workdir', /is not an existing directory/)
  })
})

t.test('the environment', async t => {
  const files = {
    'one.env': 'SHARED=one\nONLY_ONE=1\n',
    'two.env': 'SHARED=two\n# comment\nQUOTED="a b"\n',
  }

  t.test("is built, not inherited: PATH, the user's HOME, USER and LOGNAME, the caller's locale, PWD, HOSTNAME", async t => {
    const caller = {
      PATH: '/root/bin:/usr/bin',
      LANG: 'C.UTF-8',
      LANGUAGE: 'en',
      LC_ALL: 'C',
      LC_TIME: 'en_GB.UTF-8',
      TZ: 'Europe/Paris',
      UNSET: undefined,
      SSH_AUTH_SOCK: '/tmp/ssh-x/agent.1',
      AWS_SECRET_ACCESS_KEY: 'secret',
      GITHUB_TOKEN: 'ghp',
      PWD: '/home/operator',
      OLDPWD: '/',
      HOME: '/home/operator',
      USER: 'operator',
      NODE_OPTIONS: '--require /tmp/evil.js',
      LD_PRELOAD: '/tmp/evil.so',
      LD_LIBRARY_PATH: '/tmp',
      TERM: 'xterm',
      HOSTNAME: 'caller',
      CONTAIN_STATE_DIR: '/tmp/state',
      NOTIFY_SOCKET: '/run/systemd/notify',
    }
    const facts = {...host(t, {env: caller, files: {'/etc/passwd': PASSWD, '/etc/group': GROUP}}), uid: 0, ownerOf: () => ({uid: 1000, gid: 1000})}
    const options = await resolve(t, {name: 'web'}, facts)
    t.strictSame(options.env, {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/home/alice',
      USER: 'alice',
      LOGNAME: 'alice',
      LANG: 'C.UTF-8',
      LANGUAGE: 'en',
      LC_ALL: 'C',
      LC_TIME: 'en_GB.UTF-8',
      TZ: 'Europe/Paris',
      PWD: facts.cwd,
      HOSTNAME: 'web',
    })
  })

  t.test("TERM only when the app's stdin or stdout is a terminal", async t => {
    const facts = host(t, {env: {TERM: 'xterm-256color'}})
    t.notOk('TERM' in (await resolve(t, {}, facts)).env)
    t.equal((await resolve(t, {}, {...facts, terminal: true})).env.TERM, 'xterm-256color')
    t.notOk('TERM' in (await resolve(t, {}, {...host(t), terminal: true})).env, 'none when the caller has none')
  })

  t.test("PWD is the working directory, not the caller's", async t => {
    const facts = host(t, {env: {PWD: '/home/operator'}})
    mkdirSync(join(facts.cwd, 'app'))
    t.equal((await resolve(t, {workdir: 'app'}, facts)).env.PWD, join(facts.cwd, 'app'))
  })

  t.test("the configuration sets PATH, HOME and the rest over contain's", async t => {
    const options = await resolve(t, {env: ['PATH=/opt/ruby/bin:/usr/bin', 'HOME=/srv', 'PWD=/elsewhere']})
    t.equal(options.env.PATH, '/opt/ruby/bin:/usr/bin')
    t.equal(options.env.HOME, '/srv')
    t.equal(options.env.PWD, '/elsewhere')
  })

  t.test("contain's < --env-file files in order < -e; the caller's own variables are not among them", async t => {
    const facts = host(t, {env: {SHARED: 'host', HOST_ONLY: 'h'}, files})
    const options = await resolve(t, {'env-file': ['one.env', 'two.env']}, facts)
    t.equal(options.env.SHARED, 'two', 'the later file wins over the earlier')
    t.equal(options.env.ONLY_ONE, '1')
    t.equal(options.env.QUOTED, 'a b')
    t.notOk('HOST_ONLY' in options.env)
    t.equal((await resolve(t, {'env-file': ['two.env', 'one.env']}, facts)).env.SHARED, 'one', 'order matters')
    t.equal((await resolve(t, {'env-file': ['one.env', 'two.env'], env: ['SHARED=flag']}, facts)).env.SHARED, 'flag', '-e wins')
  })

  t.test('-e KEY=VALUE sets, later -e wins, and the value may hold =', async t => {
    const options = await resolve(t, {env: ['A=1', 'B=x=y', 'A=2', 'EMPTY=']})
    t.equal(options.env.A, '2')
    t.equal(options.env.B, 'x=y')
    t.equal(options.env.EMPTY, '')
  })

  t.test('-e KEY passes the host value through, even over an env file', async t => {
    const facts = host(t, {env: {SHARED: 'host'}, files})
    t.equal((await resolve(t, {'env-file': ['one.env'], env: ['SHARED']}, facts)).env.SHARED, 'host')
  })

  t.test('-e KEY of a variable the host lacks sets nothing', async t => {
    t.notOk('NOT_THERE' in (await resolve(t, {env: ['NOT_THERE']})).env)
  })

  t.test('-e needs a variable name', async t => {
    await rejectsInvalid(t, resolve(t, {env: ['=value']}), '--env', /has no variable name/)
  })

  t.test('-e overrides HOSTNAME', async t => {
    t.equal((await resolve(t, {name: 'web', env: ['HOSTNAME=custom']})).env.HOSTNAME, 'custom')
  })

  t.test('an unreadable --env-file is a FileError naming the file', async t => {
    const error = await rejection(resolve(t, {'env-file': ['missing.env']}))
    t.type(error, FileError)
    t.equal((error as FileError).file, 'missing.env')
    t.match(error.message, /^missing\.env: cannot read env file: ENOENT/)
    t.match((error as FileError).fix, /--env-file/)
  })

  t.test('a binary --env-file is a FileError', async t => {
    const facts = host(t, {files: {'bin.env': 'A=1\0\0'}})
    const error = await rejection(resolve(t, {'env-file': ['bin.env']}, facts))
    t.type(error, FileError)
    t.match(error.message, /is not a text file/)
  })
})

t.test('the user', async t => {
  /** A root contain (unless uid says otherwise) whose working directory belongs to `owner`. */
  const etc = (
    t: TestContext,
    {env = {}, owner = {uid: 0, gid: 0}, uid = 0}: {env?: Record<string, string>; owner?: {uid: number; gid: number}; uid?: number} = {},
  ): HostFacts => ({
    ...host(t, {env, files: {'/etc/passwd': PASSWD, '/etc/group': GROUP}}),
    uid,
    ownerOf: () => owner,
  })

  t.test("a root contain runs the app as the owner of its working directory, with the owner's groups", async t => {
    const options = await resolve(t, {}, etc(t, {owner: {uid: 1000, gid: 50}}))
    t.strictSame(options.user, {uid: 1000, gid: 1000, groups: [998], name: 'alice', home: '/home/alice'}, "the primary group from passwd, not the directory's")
    t.equal(options.userReason, 'directory-owner')
    t.same([options.env.HOME, options.env.USER, options.env.LOGNAME], ['/home/alice', 'alice', 'alice'])
  })

  t.test("an owner without a passwd entry: its uid, the directory's group, HOME=/ and no USER", async t => {
    const options = await resolve(t, {}, etc(t, {owner: {uid: 4242, gid: 4343}, env: {HOME: '/root', USER: 'root'}}))
    t.strictSame(options.user, {uid: 4242, gid: 4343, groups: [], name: undefined, home: undefined})
    t.equal(options.env.HOME, '/')
    t.notOk('USER' in options.env)
    t.notOk('LOGNAME' in options.env)
  })

  t.test("the owner of --workdir, not of the caller's directory", async t => {
    const facts = etc(t)
    mkdirSync(join(facts.cwd, 'app'))
    const options = await resolve(
      t,
      {workdir: 'app'},
      {...facts, ownerOf: path => (path === join(facts.cwd, 'app') ? {uid: 1000, gid: 1000} : {uid: 0, gid: 0})},
    )
    t.equal(options.user?.uid, 1000)
  })

  t.test('a root-owned working directory keeps host root, and says why', async t => {
    const options = await resolve(t, {}, etc(t))
    t.equal(options.user, undefined)
    t.equal(options.userReason, 'directory-root')
    t.same([options.env.HOME, options.env.USER, options.env.LOGNAME], ['/root', 'root', 'root'])
  })

  t.test('-u 0 and -u root are root on purpose', async t => {
    for (const user of ['0', 'root']) {
      const options = await resolve(t, {user}, etc(t, {owner: {uid: 1000, gid: 1000}}))
      t.equal(options.user?.uid, 0, user)
      t.equal(options.userReason, 'given')
    }
  })

  t.test('--userns keeps root inside the user namespace, whoever owns the directory', async t => {
    const options = await resolve(t, {userns: true}, etc(t, {owner: {uid: 1000, gid: 1000}}))
    t.equal(options.user, undefined)
    t.equal(options.userReason, 'user-namespace')
    t.equal(options.env.HOME, '/root')
  })

  t.test('a non-root contain keeps its own uid', async t => {
    const options = await resolve(t, {}, etc(t, {uid: 1000, owner: {uid: 4242, gid: 4242}}))
    t.equal(options.user, undefined)
    t.equal(options.userReason, 'caller')
    t.equal(options.env.USER, 'alice')
  })

  t.test("--user resolves from the host /etc files and sets HOME, USER and LOGNAME over the caller's", async t => {
    const options = await resolve(t, {user: 'alice'}, etc(t, {env: {HOME: '/root', USER: 'root'}}))
    t.strictSame(options.user, {uid: 1000, gid: 1000, groups: [998], name: 'alice', home: '/home/alice'})
    t.equal(options.userReason, 'given')
    t.same([options.env.HOME, options.env.USER, options.env.LOGNAME], ['/home/alice', 'alice', 'alice'])
  })

  t.test("a numeric user outside /etc/passwd gets HOME=/ and no USER, as Docker's", async t => {
    const options = await resolve(t, {user: '4242:4242'}, etc(t, {env: {HOME: '/root', USER: 'root'}}))
    t.strictSame(options.user, {uid: 4242, gid: 4242, groups: [], name: undefined, home: undefined})
    t.equal(options.env.HOME, '/')
    t.notOk('USER' in options.env)
  })

  t.test('-e wins over the HOME from --user', async t => {
    t.equal((await resolve(t, {user: 'alice', env: ['HOME=/srv']}, etc(t))).env.HOME, '/srv')
  })

  t.test('an unknown --user is rejected', async t => {
    await rejectsInvalid(t, resolve(t, {user: 'mallory'}, etc(t)), '--user', /no user named "mallory"/)
  })
})
