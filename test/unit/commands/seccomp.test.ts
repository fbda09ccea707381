/**
 * `contain seccomp check` and `contain seccomp explain` through oclif: flags parsed, one library
 * call, output printed, and failures turned into contain's message and exit code 125.
 */
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Command, Config} from '@oclif/core'
import t from 'tap'
import {commands} from '../../../src/cli/oclif.js'
import type {ProfileSummary} from '../../../src/seccomp/summary.js'
import type {SyscallReport} from '../../../src/seccomp/syscall-report.js'
import {seccompArchOf} from '../../../src/seccomp/host.js'
import type {TestContext} from '../helpers/tap.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const TEMPLATE = join(ROOT, 'templates/seccomp/default.json')
const config = await Config.load({root: ROOT})
const Check = commands['seccomp:check']
const Explain = commands['seccomp:explain']
const hostArch = seccompArchOf()

interface Result {
  stdout: string
  stderr: string
  exitCode: number
}

/** Run a command as oclif would; the output is captured and process.exitCode is reset. */
async function run(t: TestContext, command: Command.Class, argv: string[]): Promise<Result> {
  const stdout = t.capture(Command.prototype, 'log')
  const stderr = t.capture(process.stderr, 'write', () => true)
  try {
    await command.run(argv, config)
  } finally {
    stdout.restore()
    stderr.restore()
  }
  const exitCode = Number(process.exitCode ?? 0)
  process.exitCode = undefined
  return {
    stdout: stdout
      .args()
      .map(args => `${String(args[0] ?? '')}\n`)
      .join(''),
    stderr: stderr
      .args()
      .map(args => String(args[0]))
      .join(''),
    exitCode,
  }
}

t.test('check default --json prints a summary that parses', async t => {
  const result = await run(t, Check, ['default', '--json'])
  t.equal(result.exitCode, 0)
  t.equal(result.stderr, '')
  const summary = JSON.parse(result.stdout) as ProfileSummary
  t.equal(summary.file, TEMPLATE)
  t.same(
    summary.architectures.map(arch => arch.arch),
    ['x86_64', 'aarch64'],
  )
  t.equal(summary.hostArch, hostArch)
  const x86 = summary.architectures[0]
  t.match(x86.counts, {total: 384, allowed: 306, denied: 70, deniedByErrno: {EPERM: 70}, enosys: 5, conditional: 3})
  t.same([...new Set(x86.thirtyTwoBit.map(({name, index}) => `${name} arg${index}`))], ['socket arg0', 'personality arg0', 'clone arg0'])
  t.match(
    x86.thirtyTwoBit.find(({name}) => name === 'socket'),
    {label: 'syscalls[15] ("socket")', declaration: /int family/},
  )
  t.equal(summary.capabilities.length, 11, "contain's default capabilities: Docker's 14 without NET_RAW, MKNOD, AUDIT_WRITE")
})

t.test('check default prints the summary for people', async t => {
  const result = await run(t, Check, ['default'])
  t.equal(result.exitCode, 0)
  t.match(result.stdout, `${TEMPLATE}: valid\n`)
  t.match(result.stdout, /x86_64.*: 384 syscalls\n {2}allowed +306\n/)
  t.match(result.stdout, /rules left out \(13\):/)
  t.match(
    result.stdout,
    /\n {2}compared on their low 32 bits, all the kernel reads of them \(Docker compares 64, so a high bit slips past its rules\): socket arg0, personality arg0, clone arg0\n/,
  )
})

t.test('check: capability flags change which rules apply', async t => {
  const added = JSON.parse((await run(t, Check, ['default', '--json', '--cap-add', 'SYS_ADMIN'])).stdout) as ProfileSummary
  t.ok(added.capabilities.includes('CAP_SYS_ADMIN'))
  t.same(added.architectures[0].conditionalSyscalls, ['socket', 'personality'])
  const privileged = JSON.parse((await run(t, Check, ['default', '--json', '--privileged'])).stdout) as ProfileSummary
  t.equal(privileged.capabilities.length, 41)
  const dropped = JSON.parse((await run(t, Check, ['default', '--json', '--cap-drop', 'SYS_CHROOT'])).stdout) as ProfileSummary
  t.ok(dropped.architectures[0].dropped.some(rule => rule.label === 'syscalls[23] ("chroot")'))

  // Flags may come before the profile: --cap-add takes one value each time.
  const before = JSON.parse((await run(t, Check, ['--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE', 'default', '--json'])).stdout) as ProfileSummary
  t.equal(before.file, TEMPLATE)
  t.ok(before.capabilities.includes('CAP_SYS_PTRACE'))
  const explained = JSON.parse((await run(t, Explain, ['--arg', '0=40', '--arg', '1=1', 'socket', '--json'])).stdout) as SyscallReport
  t.same(explained.args, ['40', '1'])

  const bad = await run(t, Check, ['default', '--cap-add', 'SYS_ADMN'])
  t.equal(bad.exitCode, 125)
  t.match(bad.stderr, /^contain: --cap-add: unknown capability; did you mean SYS_ADMIN\? \(got "SYS_ADMN"\)\n {2}fix: /)
})

t.test('check: an invalid profile exits 125 naming the file, rule and field, with a fix', async t => {
  const dir = t.testdir({
    'typo.json': JSON.stringify({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALOW'}]}, null, 2),
    'unknown-name.json': JSON.stringify({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read', 'mkdri'], action: 'SCMP_ACT_ALLOW'}]}),
  })
  const typo = join(dir, 'typo.json')
  const result = await run(t, Check, [typo])
  t.equal(result.exitCode, 125)
  t.equal(result.stdout, '')
  t.match(result.stderr, `contain: ${typo}:8:7: syscalls[0] ("read"): action: unknown action "SCMP_ACT_ALOW"; did you mean SCMP_ACT_ALLOW?\n`)
  t.match(result.stderr, /\n {2}fix: use one of SCMP_ACT_ALLOW, /)

  const missing = await run(t, Check, [join(dir, 'nope.json')])
  t.equal(missing.exitCode, 125)
  t.match(missing.stderr, /nope\.json: cannot read the seccomp profile/)

  // An unknown name is a warning, and an error under --strict.
  const unknown = join(dir, 'unknown-name.json')
  const lenient = await run(t, Check, [unknown])
  t.equal(lenient.exitCode, 0)
  t.match(lenient.stdout, /warnings \(1; --strict makes them errors\):\n.*unknown syscall "mkdri" \(did you mean "mkdir"\?\)/)
  const strict = await run(t, Check, [unknown, '--strict'])
  t.equal(strict.exitCode, 125)
  t.match(strict.stderr, /syscalls\[0\] \("read"\): names\[1\]: unknown syscall "mkdri"/)
  t.match(strict.stderr, /strict mode turns this warning into an error/)
})

t.test('check without a profile is a usage error', async t => {
  const result = await run(t, Check, [])
  t.equal(result.exitCode, 125)
  t.match(result.stderr, /^contain: Missing 1 required arg/)
  t.match(result.stderr, /fix: see contain seccomp:check --help|fix: see contain .*--help/)
})

t.test('explain mkdir: allowed, and by which rule', async t => {
  const result = await run(t, Explain, ['mkdir', '--arch', 'x86_64'])
  t.equal(result.exitCode, 0)
  t.match(result.stdout, /^mkdir \(x86_64 syscall 83\): allowed \(SCMP_ACT_ALLOW\)\n {2}decided by syscalls\[1\] \("getcwd"\), which names getcwd, /)
  t.match(result.stdout, /comment: Paths and metadata/)

  const json = JSON.parse((await run(t, Explain, ['mkdir', '--arch', 'x86_64', '--json'])).stdout) as SyscallReport
  t.equal(json.outcome, 'allowed')
  t.equal(json.decider, 'rule')
  t.equal(json.decidingRule?.index, 1)
  t.ok(json.decidingRule?.names.includes('mkdir'))
})

t.test('explain keyctl: denied with EPERM by the default action, no rule names it', async t => {
  const result = await run(t, Explain, ['keyctl'])
  t.equal(result.exitCode, 0)
  t.match(result.stdout, /^keyctl \(\w+ syscall \d+\): denied: fails with EPERM \(SCMP_ACT_ERRNO\(1\)\)\n/)
  t.match(result.stdout, /decided by the default action, SCMP_ACT_ERRNO\(1\)/)
  const json = JSON.parse((await run(t, Explain, ['keyctl', '--json'])).stdout) as SyscallReport
  t.match(json, {
    syscall: 'keyctl',
    arch: hostArch,
    outcome: 'denied',
    decider: 'default action',
    verdict: {action: 'SCMP_ACT_ERRNO', errno: 1},
    rules: [],
    dropped: [],
  })
  t.equal(json.decidingRule, undefined)
})

t.test('explain clone3: ENOSYS, so C libraries fall back to clone', async t => {
  const result = await run(t, Explain, ['clone3'])
  t.match(result.stdout, /^clone3 \(\w+ syscall 435\): denied: fails with ENOSYS/)
  t.match(result.stdout, /decided by syscalls\[19\] \("clone3"\), which names clone3\n {4}comment: clone3\(\) passes its flags in memory/)
  t.match(result.stdout, /rules that name it but do not apply:\n {4}syscalls\[20\] \("bpf"\): includes\.caps: the app lacks CAP_SYS_ADMIN/)
  const json = JSON.parse((await run(t, Explain, ['clone3', '--json'])).stdout) as SyscallReport
  t.equal(json.outcome, 'enosys')
  t.same(json.verdict, {action: 'SCMP_ACT_ERRNO', errno: 38})
})

t.test('explain socket --arg 0=40: AF_VSOCK is denied, AF_INET allowed', async t => {
  const vsock = await run(t, Explain, ['socket', '--arg', '0=40'])
  t.equal(vsock.exitCode, 0)
  t.match(vsock.stdout, /^socket \(\w+ syscall \d+, arg0=40\): denied: fails with EPERM/)
  t.match(vsock.stdout, /why: no rule matches the arguments, so the default action applies/)
  t.match(vsock.stdout, /syscalls\[15\] \("socket"\): SCMP_ACT_ALLOW if \(u32\)arg0 < 38 or \(u32\)arg0 == 39 or \(u32\)arg0 > 40/)
  const inet = JSON.parse((await run(t, Explain, ['socket', '--arg', '0=2', '--json'])).stdout) as SyscallReport
  t.equal(inet.outcome, 'allowed')
  t.equal(inet.decidingRule?.index, 15)
  t.same(inet.args, ['2'])

  const bad = await run(t, Explain, ['socket', '--arg', '7=1'])
  t.equal(bad.exitCode, 125)
  t.match(bad.stderr, /^contain: --arg: must be N=VALUE.*\(got "7=1"\)\n {2}fix: /)
})

t.test('explain keyctl --profile P --cap-add SYS_ADMIN: a rule that needs the capability', async t => {
  const dir = t.testdir({
    'keys.json': JSON.stringify({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        {names: ['read', 'write'], action: 'SCMP_ACT_ALLOW'},
        {
          names: ['keyctl', 'add_key', 'request_key'],
          action: 'SCMP_ACT_ALLOW',
          includes: {caps: ['CAP_SYS_ADMIN']},
          comment: 'kernel keyring, for SYS_ADMIN only',
        },
      ],
    }),
  })
  const profile = join(dir, 'keys.json')

  const withCap = await run(t, Explain, ['keyctl', '--profile', profile, '--cap-add', 'SYS_ADMIN'])
  t.equal(withCap.exitCode, 0)
  t.match(
    withCap.stdout,
    /^keyctl \(\w+ syscall \d+\): allowed \(SCMP_ACT_ALLOW\)\n {2}decided by syscalls\[1\] \("keyctl"\), which names keyctl, add_key, request_key\n {4}comment: kernel keyring, for SYS_ADMIN only\n/,
  )
  t.match(withCap.stdout, `profile: ${profile}; capabilities: `)
  t.match(withCap.stdout, /SYS_ADMIN/)

  const without = JSON.parse((await run(t, Explain, ['keyctl', '--profile', profile, '--json'])).stdout) as SyscallReport
  // Without the rule, the highest number the profile names is write's (1): runc answers ENOSYS above it.
  t.equal(without.outcome, 'enosys')
  t.equal(without.decider, 'newer than the profile')
  t.same(without.dropped, [{label: 'syscalls[1] ("keyctl")', reason: 'includes.caps: the app lacks CAP_SYS_ADMIN'}])
})

t.test('explain: an unknown syscall is an error that suggests the closest names', async t => {
  const result = await run(t, Explain, ['mkdri'])
  t.equal(result.exitCode, 125)
  t.equal(result.stdout, '')
  t.equal(result.stderr, 'contain: SYSCALL: unknown syscall; did you mean mkdir? (got "mkdri")\n  fix: write mkdir\n')

  const far = await run(t, Explain, ['frobnicate'])
  t.equal(far.exitCode, 125)
  t.match(far.stderr, /unknown syscall \(got "frobnicate"\)\n {2}fix: use a name from syscalls\(2\)/)
})

t.test('explain: a syscall of another ABI is not an error', async t => {
  const result = await run(t, Explain, ['chown32', '--arch', 'x86_64'])
  t.equal(result.exitCode, 0)
  t.match(result.stdout, /^chown32 is not a syscall on x86_64: a program cannot call it here/)
})

t.test('explain: an invalid --profile exits 125 with the file and field', async t => {
  const dir = t.testdir({'bad.json': '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}'})
  const file = join(dir, 'bad.json')
  const result = await run(t, Explain, ['read', '--profile', file])
  t.equal(result.exitCode, 125)
  t.match(result.stderr, `contain: ${file}:1:`)
  t.match(result.stderr, /syscalls\[0\] \("read"\): errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return a code/)
  t.match(result.stderr, /\n {2}fix: remove "errnoRet"/)
})
