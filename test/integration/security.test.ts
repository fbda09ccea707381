import {existsSync} from 'node:fs'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {assertNothingLeftBehind, contain, requireRoot, root, skipFile, tapLoader} from './helpers.js'

const EPERM = 1
const EACCES = 13
const ENOSYS = 38
const syscallProbe = join(root, 'test/integration/fixtures/syscalls.py')
const dockerProfile = join(root, 'test/fixtures/seccomp/docker-default.json')
const DENIED_BY_DEFAULT = ['keyctl', 'add_key', 'unshare', 'mount', 'setns', 'bpf', 'io_uring_setup', 'socket_vsock']

/** Runs the probe inside contain and returns errno per syscall. */
async function probe(t: Test, flags: string[], calls: string[]): Promise<Record<string, number>> {
  const result = await contain(['run', ...flags, '--', '/usr/bin/python3', syscallProbe, ...calls])
  t.equal(result.exitCode, 0, result.stderr)
  return Object.fromEntries(
    result.stdout
      .trim()
      .split('\n')
      .map(line => line.split(' '))
      .map(([name, errno]) => [name, Number(errno)]),
  )
}

function capabilityMask(status: string, field: string): string {
  return new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1] ?? ''
}

if (process.arch !== 'x64') {
  skipFile(t, `the syscall probe uses x86_64 numbers, this is ${process.arch}`)
} else if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  t.test('under the default profile the dangerous calls get EPERM, clone3 ENOSYS, ptrace stays allowed', async t => {
    const errno = await probe(t, [], [...DENIED_BY_DEFAULT, 'clone3', 'ptrace', 'socket_inet'])
    for (const name of DENIED_BY_DEFAULT) t.equal(errno[name], EPERM, `${name} denied with EPERM`)
    t.equal(errno.clone3, ENOSYS, 'clone3 answers ENOSYS so glibc falls back to clone')
    t.not(errno.ptrace, EPERM, 'ptrace is allowed (kernel >= 4.8), as in Docker')
    t.equal(errno.socket_inet, 0, 'an ordinary socket works')
  })

  t.test('unconfined with --cap-add SYS_ADMIN, seccomp denies none of them', async t => {
    const errno = await probe(t, ['--seccomp', 'unconfined', '--cap-add', 'SYS_ADMIN'], [...DENIED_BY_DEFAULT, 'clone3'])
    for (const name of DENIED_BY_DEFAULT) t.not(errno[name], EPERM, `${name} not denied`)
    t.not(errno.clone3, ENOSYS, 'clone3 reaches the kernel')
  })

  t.test('sh, python3 and node run normally under the default profile', async t => {
    for (const command of [
      ['sh', '-c', 'echo ok'],
      ['/usr/bin/python3', '-c', 'print("ok")'],
      [process.execPath, '-e', 'console.log("ok")'],
    ]) {
      const result = await contain(['run', ...tapLoader, '--', ...command])
      t.equal(result.exitCode, 0, `${command[0]}: ${result.stderr}`)
      t.equal(result.stdout.trim(), 'ok')
    }
  })

  t.test(
    "Docker's own profile runs unchanged as --seccomp PATH, with the same verdicts",
    {skip: existsSync(dockerProfile) ? false : `no ${dockerProfile}`},
    async t => {
      const errno = await probe(t, ['--seccomp', dockerProfile], [...DENIED_BY_DEFAULT, 'clone3', 'ptrace'])
      for (const name of DENIED_BY_DEFAULT) t.equal(errno[name], EPERM, `${name} denied`)
      t.equal(errno.clone3, ENOSYS)
      const node = await contain(['run', ...tapLoader, '--seccomp', dockerProfile, '--', process.execPath, '-e', 'console.log("ok")'])
      t.equal(node.stdout.trim(), 'ok', node.stderr)
    },
  )

  t.test('a custom profile that denies mkdir with errnoRet 13 makes mkdir fail with EACCES', async t => {
    const dir = t.testdir({
      'deny-mkdir.json': JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: EACCES}],
      }),
    })
    const errno = await probe(t, ['--seccomp', join(dir, 'deny-mkdir.json'), '--tmpfs', '/tmp'], ['mkdir'])
    t.equal(errno.mkdir, EACCES)
  })

  t.test('capability sets in /proc/self/status match the request, and no_new_privs is on', async t => {
    const status = async (flags: string[]) => (await contain(['run', ...flags, '--', 'cat', '/proc/self/status'])).stdout
    const defaults = await status([])
    t.equal(capabilityMask(defaults, 'CapBnd'), '00000000800405fb', "podman's 11 capabilities bound (Docker's 14 without NET_RAW, MKNOD, AUDIT_WRITE)")
    t.equal(capabilityMask(defaults, 'CapEff'), '00000000800405fb', 'and effective for root')
    t.equal(capabilityMask(defaults, 'CapInh'), '0000000000000000')
    t.match(defaults, /^NoNewPrivs:\s*1$/m)
    t.match(defaults, /^Seccomp:\s*2$/m)
    const dropped = await status(['--cap-drop', 'ALL', '--cap-add', 'chown', '--cap-add', 'CAP_KILL'])
    t.equal(capabilityMask(dropped, 'CapBnd'), '0000000000000021', 'only CHOWN (0) and KILL (5)')
    const nonRoot = await status(['-u', 'nobody', '--cap-add', 'NET_BIND_SERVICE'])
    t.equal(capabilityMask(nonRoot, 'CapEff'), '0000000000000400', 'a non-root app holds only what --cap-add granted')
    t.equal(capabilityMask(nonRoot, 'CapAmb'), '0000000000000400')
    const allowed = await status(['--security-opt', 'no-new-privileges=false'])
    t.match(allowed, /^NoNewPrivs:\s*0$/m)
  })

  t.test('after --cap-drop CHOWN root cannot chown a file it does not own', async t => {
    const dir = t.testdir({'owned-by-root': 'x'})
    const file = join(dir, 'owned-by-root')
    const withCap = await contain(['run', '--', 'chown', 'nobody', file])
    t.equal(withCap.exitCode, 0, withCap.stderr)
    const withoutCap = await contain(['run', '--cap-drop', 'CHOWN', '--', 'chown', 'root', file])
    t.not(withoutCap.exitCode, 0)
    t.match(withoutCap.stderr, /Operation not permitted/)
  })

  t.test('a non-root --user cannot bind port 80 without NET_BIND_SERVICE and can with it', async t => {
    const bind = ['/usr/bin/python3', '-c', 'import socket; socket.socket().bind(("127.0.0.1", 80)); print("bound")']
    const without = await contain(['run', '--network', 'none', '-u', 'nobody', '--', ...bind])
    t.not(without.exitCode, 0)
    t.match(without.stderr, /Permission denied/)
    const granted = await contain(['run', '--network', 'none', '-u', 'nobody', '--cap-add', 'NET_BIND_SERVICE', '--', ...bind])
    t.equal(granted.exitCode, 0, granted.stderr)
    t.equal(granted.stdout.trim(), 'bound')
  })

  t.test('complain mode lets the app run and names the syscalls the profile would deny', async t => {
    const result = await contain(['run', '--seccomp-mode', 'complain', '--', '/usr/bin/python3', syscallProbe, 'unshare', 'keyctl'])
    t.equal(result.exitCode, 0, result.stderr)
    t.match(result.stdout, /unshare 0/, 'unshare was not denied')
    t.match(result.stderr, /would have denied these system calls/)
    t.match(result.stderr, /unshare \(1 call\): allow with --cap-add SYS_ADMIN/)
    t.match(result.stderr, /keyctl \(1 call\): allow with a rule/)
  })

  t.test('--privileged warns and turns the filter off', async t => {
    const result = await contain(['run', '--privileged', '--', '/usr/bin/python3', syscallProbe, 'unshare'])
    t.match(result.stderr, /warning: --privileged/)
    t.equal(result.stdout.trim(), 'unshare 0')
  })

  t.test('bad profiles exit 125 naming the file, the rule and the field', async t => {
    const dir = t.testdir({
      'not-json.json': '{"defaultAction": ',
      'unknown-action.json': JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_MAYBE'}]}),
      'errno-on-allow.json': JSON.stringify({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 1}]}),
      'arg-index-6.json': JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{index: 6, value: 0, op: 'SCMP_CMP_EQ'}]}],
      }),
      'name-and-names.json': JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{name: 'mkdir', names: ['rmdir'], action: 'SCMP_ACT_ERRNO'}]}),
    })
    const expectations: Array<[string, RegExp]> = [
      ['not-json.json', /not-json\.json:1:\d+/],
      ['unknown-action.json', /syscalls\[0\].*action/],
      ['errno-on-allow.json', /syscalls\[0\].*errnoRet/],
      ['arg-index-6.json', /syscalls\[0\].*index/],
      ['name-and-names.json', /syscalls\[0\].*name/],
    ]
    for (const [file, message] of expectations) {
      const result = await contain(['run', '--seccomp', join(dir, file), '--', 'true'])
      t.equal(result.exitCode, 125, file)
      t.match(result.stderr, file)
      t.match(result.stderr, message)
      t.match(result.stderr, /fix: /)
      t.notMatch(result.stderr, / {4}at /, 'no stack trace')
    }
  })
}
