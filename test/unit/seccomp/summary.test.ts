import {existsSync, readFileSync} from 'node:fs'
import t from 'tap'
import {CAPABILITIES, DOCKER_DEFAULT_CAPABILITIES} from '../../../src/capabilities.js'
import {FileError, InvalidValueError} from '../../../src/errors.js'
import {parseProfile, type ParsedProfile} from '../../../src/seccomp/profile.js'
import {coveredArches, errnoName, formatSummary, profilePath, summarizeProfile, type SummaryInputs} from '../../../src/seccomp/summary.js'
import {closestSyscallNames, formatSyscallReport, parseSyscallArgs, reportSyscall, validateSyscallName} from '../../../src/seccomp/syscall-report.js'
import {syscallTable} from '../../../src/seccomp/syscalls.js'
import {thrown} from '../helpers/errors.js'

const DOCKER_DEFAULT = new URL('../../fixtures/seccomp/docker-default.json', import.meta.url).pathname
const TEMPLATE = new URL('../../../templates/seccomp/default.json', import.meta.url).pathname
const KERNEL = {major: 6, minor: 18}
const X86_DEFAULTS: SummaryInputs = {capabilities: DOCKER_DEFAULT_CAPABILITIES, kernel: KERNEL, hostArch: 'x86_64', arches: ['x86_64']}

const read = (file: string, strict = false): ParsedProfile => parseProfile(readFileSync(file, 'utf8'), {file, strict})
const parse = (document: object, file = '/profiles/test.json', strict = false) => parseProfile(JSON.stringify(document), {file, strict})

/** A clock that advances 2.5 ms per reading, so compileMs is exact. */
function fakeClock(): () => number {
  let now = 0
  return () => (now += 2.5)
}

t.test("contain's default profile on x86_64 with Docker's default capabilities", async t => {
  const summary = summarizeProfile(read(TEMPLATE), X86_DEFAULTS)
  t.equal(summary.architectures.length, 1)
  const [x86] = summary.architectures
  // The same 384 entries the BPF test runs through the interpreter: ALLOW 309 there includes
  // socket, clone and personality, which are conditional here.
  t.same(x86.counts, {
    total: 384,
    allowed: 306,
    denied: 70,
    deniedByErrno: {EPERM: 70},
    enosys: 5,
    enosysNewerThanProfile: 4,
    killed: 0,
    trapped: 0,
    logged: 0,
    traced: 0,
    conditional: 3,
  })
  t.same(x86.conditionalSyscalls, ['socket', 'clone', 'personality'])
  t.equal(x86.enosysAbove, 466)
  t.same(summary.defaultAction, {action: 'SCMP_ACT_ERRNO', errno: 1})
  t.same(summary.unknownSyscalls, [])
  t.same(summary.warnings, [])
  t.ok(x86.instructions > 10 && x86.instructions < 4096, `${x86.instructions} instructions`)
  t.same(
    x86.dropped.map(rule => rule.reason),
    [
      'SYS_ADMIN',
      'SYS_PTRACE',
      'DAC_READ_SEARCH',
      'SYS_BOOT',
      'SYS_MODULE',
      'SYS_PACCT',
      'SYS_RAWIO',
      'SYS_TIME',
      'SYS_TTY_CONFIG',
      'SYS_NICE',
      'SYSLOG',
      'BPF',
      'PERFMON',
    ].map(cap => `includes.caps: the app lacks CAP_${cap}`),
  )
})

t.test("Docker's default profile gives the same counts on x86_64", {skip: existsSync(DOCKER_DEFAULT) ? false : `${DOCKER_DEFAULT} is missing`}, async t => {
  const ours = summarizeProfile(read(TEMPLATE), X86_DEFAULTS).architectures[0]
  const docker = summarizeProfile(read(DOCKER_DEFAULT), X86_DEFAULTS).architectures[0]
  t.same(docker.counts, ours.counts)
  t.same(docker.conditionalSyscalls, ours.conditionalSyscalls)
  t.equal(docker.enosysAbove, ours.enosysAbove)
  // The same decisions compile to the same program (default-profile.test.ts compares the bytes).
  t.equal(docker.instructions, ours.instructions)
})

t.test('which architectures are summarized', async t => {
  const template = read(TEMPLATE)
  t.same(coveredArches(template.profile, 'x86_64'), ['x86_64', 'aarch64'])
  t.same(
    summarizeProfile(template, {...X86_DEFAULTS, arches: undefined}).architectures.map(arch => arch.arch),
    ['x86_64', 'aarch64'],
  )

  // No architectures at all: libseccomp filters the native one.
  const bare = parse({defaultAction: 'SCMP_ACT_ALLOW'})
  t.same(coveredArches(bare.profile, 'aarch64'), ['aarch64'])
  t.same(coveredArches(parse({defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_NATIVE']}).profile, 'x86_64'), ['x86_64'])

  const withSubArches = parse({
    defaultAction: 'SCMP_ACT_ERRNO',
    archMap: [
      {architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32']},
      {architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390']},
    ],
    syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW'}],
  })
  const summary = summarizeProfile(withSubArches, {...X86_DEFAULTS, hostArch: 'aarch64', arches: undefined})
  t.same(
    summary.architectures.map(arch => arch.arch),
    ['x86_64', 'aarch64'],
    'the host arch is always filtered',
  )
  t.same(summary.architectures[0].killedAbis, ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'])
  t.same(summary.otherArchitectures, ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'])
  t.match(formatSummary(summary), /SCMP_ARCH_X86, SCMP_ARCH_X32 calls are killed/)
  t.match(formatSummary(summary), /also lists SCMP_ARCH_S390X, SCMP_ARCH_S390: contain runs on x86_64 and aarch64 only/)
})

const MIXED = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  archMap: [{architecture: 'SCMP_ARCH_X86_64', subArchitectures: []}],
  syscalls: [
    {names: ['read', 'write', 'frobnicate'], action: 'SCMP_ACT_ALLOW'},
    {names: ['mount', 'umount2'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_ADMIN']}, comment: 'only with SYS_ADMIN'},
    {names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: {arches: ['arm64']}},
    {names: ['chroot'], action: 'SCMP_ACT_ALLOW', excludes: {caps: ['CAP_SYS_CHROOT']}},
    {names: ['getpid'], action: 'SCMP_ACT_ALLOW', includes: {minKernel: '99.0'}},
    {names: ['openat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13},
    {names: ['uname'], action: 'SCMP_ACT_TRAP'},
    {names: ['getuid'], action: 'SCMP_ACT_LOG'},
    {names: ['ptrace'], action: 'SCMP_ACT_KILL_PROCESS'},
    {names: ['kill'], action: 'SCMP_ACT_KILL'},
    {names: ['getppid'], action: 'SCMP_ACT_TRACE'},
    {names: ['fcntl'], action: 'SCMP_ACT_ALLOW', args: [{index: 1, value: 1, op: 'SCMP_CMP_EQ'}]},
    {names: ['close'], action: 'SCMP_ACT_ERRNO', comment: 'same as the default: runc leaves it out'},
    {names: ['chown32', 'clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38},
  ],
}

t.test('a profile with dropped rules, unknown names and every action', async t => {
  const summary = summarizeProfile(parse(MIXED), {...X86_DEFAULTS, now: fakeClock()})
  const [x86] = summary.architectures
  t.same(summary.unknownSyscalls, [{rule: 'syscalls[0] ("read")', name: 'frobnicate'}])
  t.equal(summary.warnings.length, 1)
  t.match(summary.warnings[0], /\/profiles\/test\.json: syscalls\[0\] \("read"\): names\[2\]: unknown syscall "frobnicate"/)
  t.same(x86.dropped, [
    {rule: 1, label: 'syscalls[1] ("mount")', names: ['mount', 'umount2'], reason: 'includes.caps: the app lacks CAP_SYS_ADMIN'},
    {rule: 2, label: 'syscalls[2] ("arch_prctl")', names: ['arch_prctl'], reason: 'includes.arches (arm64) does not list amd64'},
    {rule: 3, label: 'syscalls[3] ("chroot")', names: ['chroot'], reason: 'excludes.caps: the app has CAP_SYS_CHROOT'},
    {rule: 4, label: 'syscalls[4] ("getpid")', names: ['getpid'], reason: 'includes.minKernel 99.0: the kernel is 6.18'},
  ])
  t.same(x86.absent, ['chown32'], 'a 32-bit name: known, but no number on x86_64')
  // clone3 (435) is the highest number named: the 35 table entries above it answer ENOSYS.
  t.equal(x86.enosysAbove, 435)
  const newer = [...syscallTable('x86_64').byNumber.keys()].filter(nr => nr > 435).length
  t.equal(newer, 35)
  // Everything no kept rule decides gets the default, EPERM; close's rule is the default anyway.
  const decidedOtherwise = 2 + 1 + (1 + newer) + 2 + 1 + 1 + 1 + 1
  t.same(x86.counts, {
    total: 384,
    allowed: 2, // read, write
    denied: 384 - decidedOtherwise + 1,
    deniedByErrno: {EPERM: 384 - decidedOtherwise, EACCES: 1}, // openat
    enosys: 1 + newer, // clone3
    enosysNewerThanProfile: newer,
    killed: 2, // ptrace (process), kill (thread)
    trapped: 1, // uname
    logged: 1, // getuid
    traced: 1, // getppid
    conditional: 1, // fcntl
  })
  t.same(x86.conditionalSyscalls, ['fcntl'])
  t.equal(x86.compileMs, 2.5)

  const text = formatSummary(summary)
  t.match(text, /^\/profiles\/test\.json: valid\n/)
  t.match(text, /^x86_64 \(this host\): 384 syscalls$/m)
  t.match(text, /^ {2}allowed +2$/m)
  t.match(text, /^ {2}denied +340 {2}EPERM 339, EACCES 1$/m)
  t.match(text, /^ {2}ENOSYS +36 {2}35 newer than the profile \(above 435\)$/m)
  t.match(text, /^ {2}killed +2$/m)
  t.match(text, /^ {2}trapped +1$/m)
  t.match(text, /^ {2}logged +1$/m)
  t.match(text, /^ {2}traced +1$/m)
  t.match(text, /^ {2}conditional +1 {2}decided by arguments: fcntl$/m)
  t.match(text, /filter: \d+ BPF instructions, compiled in 2\.5 ms/)
  t.match(text, /rules left out \(4\):\n {4}syscalls\[1\] \("mount"\): includes\.caps: the app lacks CAP_SYS_ADMIN\n/)
  t.match(text, /1 names are not syscalls on x86_64 and are ignored: chown32/)
  t.match(text, /warnings \(1; --strict makes them errors\):\n {2}\/profiles\/test\.json: .*frobnicate/)
  t.notMatch(text, /aarch64/)

  const error = thrown(() => summarizeProfile(parse(MIXED, '/profiles/test.json', true), X86_DEFAULTS))
  t.type(error, FileError, 'strict mode fails at parse time')
})

t.test('more capabilities keep more rules', async t => {
  const [x86] = summarizeProfile(read(TEMPLATE), {...X86_DEFAULTS, capabilities: CAPABILITIES}).architectures
  t.same(
    x86.dropped.map(rule => rule.reason),
    ['excludes.caps: the app has CAP_SYS_ADMIN', 'excludes.caps: the app has CAP_SYS_ADMIN'],
  )
  t.same(x86.conditionalSyscalls, ['socket', 'personality'], 'with SYS_ADMIN, clone is allowed whatever its flags')
  t.equal(x86.counts.enosys, 4, 'clone3 is allowed too')
})

t.test('formatSummary of the default profile', async t => {
  const text = formatSummary(summarizeProfile(read(TEMPLATE), {...X86_DEFAULTS, arches: undefined, now: fakeClock()}))
  t.match(text, /34 rules; default action: denied: fails with EPERM \(SCMP_ACT_ERRNO\(1\)\)/)
  t.match(text, /capabilities: CHOWN, DAC_OVERRIDE, .*SETFCAP; kernel 6\.18/)
  t.match(
    text,
    /x86_64 \(this host\): 384 syscalls\n {2}allowed +306\n {2}denied +70 {2}EPERM 70\n {2}ENOSYS +5 {2}4 newer than the profile \(above 466\)\n {2}conditional +3 {2}decided by arguments: socket, clone, personality\n/,
  )
  t.match(text, /\naarch64: \d+ syscalls\n/)
  t.match(text, /syscalls\[17\] \("arch_prctl"\): includes\.arches \(amd64\) does not list arm64/)
  t.notMatch(text, /warnings/)
})

t.test('explaining one syscall', async t => {
  const {profile} = read(TEMPLATE)
  const inputs = {capabilities: DOCKER_DEFAULT_CAPABILITIES, kernel: KERNEL, arch: 'x86_64' as const}

  const keyctl = reportSyscall(profile, 'keyctl', inputs)
  t.equal(keyctl.outcome, 'denied')
  t.equal(keyctl.decider, 'default action')
  t.equal(keyctl.decidingRule, undefined)
  t.match(
    formatSyscallReport(keyctl),
    /^keyctl \(x86_64 syscall 250\): denied: fails with EPERM \(SCMP_ACT_ERRNO\(1\)\)\n {2}decided by the default action, SCMP_ACT_ERRNO\(1\)/,
  )

  const clone3 = reportSyscall(profile, 'clone3', inputs)
  t.equal(clone3.outcome, 'enosys')
  t.same(clone3.decidingRule, {index: 19, label: 'syscalls[19] ("clone3")', names: ['clone3'], comment: profile.syscalls[19].comment})
  t.match(formatSyscallReport(clone3), /decided by syscalls\[19\] \("clone3"\), which names clone3\n {4}comment: clone3\(\) passes its flags in memory/)

  const listns = reportSyscall(profile, 'listns', inputs)
  t.equal(listns.outcome, 'enosys')
  t.equal(listns.decider, 'newer than the profile')
  t.match(formatSyscallReport(listns), /decided by runc's rule for syscalls newer than the profile/)

  const vsock = reportSyscall(profile, 'socket', {...inputs, args: [40n]})
  t.equal(vsock.outcome, 'denied')
  t.same(vsock.args, ['40'])
  t.match(formatSyscallReport(vsock), /^socket \(x86_64 syscall 41, arg0=40\): denied/)
  t.match(formatSyscallReport(vsock), /syscalls\[15\] \("socket"\): SCMP_ACT_ALLOW if \(u32\)arg0 < 38 or \(u32\)arg0 == 39 or \(u32\)arg0 > 40/)
  t.equal(reportSyscall(profile, 'socket', {...inputs, args: [2n]}).decidingRule?.index, 15)

  const chown32 = reportSyscall(profile, 'chown32', inputs)
  t.equal(chown32.outcome, undefined)
  t.match(formatSyscallReport(chown32), /chown32 is not a syscall on x86_64: a program cannot call it here/)
})

t.test('syscall names, arguments and errno names', async t => {
  t.same(closestSyscallNames('mkdri'), ['mkdir'])
  t.equal(closestSyscallNames('keyctll')[0], 'keyctl')
  t.same(closestSyscallNames('xyzzyplugh'), [])
  t.doesNotThrow(() => validateSyscallName('openat'))
  const error = thrown(() => validateSyscallName('opnat'))
  t.type(error, InvalidValueError)
  t.match(error.message, /^SYSCALL: unknown syscall; did you mean openat.*\(got "opnat"\)$/)

  t.same(parseSyscallArgs([]), [])
  t.same(parseSyscallArgs(['0=40']), [40n])
  t.same(parseSyscallArgs(['2=0x10', '0=-1']), [0xffffffffffffffffn, 0n, 16n])
  for (const bad of ['6=1', '0=', 'x=1', '0=AF_VSOCK', '0=18446744073709551616']) {
    t.match(thrown(() => parseSyscallArgs([bad])).message, /^--arg: must be N=VALUE/, bad)
  }
  t.match(thrown(() => parseSyscallArgs(['0=1', '0=2'])).message, /^--arg: argument 0 is given twice/)

  t.equal(errnoName(1), 'EPERM')
  t.equal(errnoName(38), 'ENOSYS')
  t.equal(errnoName(95), 'EOPNOTSUPP')
  t.equal(errnoName(133), 'EHWPOISON')
  t.equal(errnoName(41), 'errno 41')
  t.equal(errnoName(4000), 'errno 4000')
})

t.test('"default" names the template in the package', async t => {
  t.equal(profilePath('default', '/opt/contain'), '/opt/contain/templates/seccomp/default.json')
  t.equal(profilePath('./default.json', '/opt/contain'), './default.json')
  t.equal(profilePath('default'), TEMPLATE)
})

t.test('check says which arguments are compared on 32 bits, once each, and warns about values that cannot fit', async t => {
  const parsed = parseProfile(
    '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["socket", "mprotect"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 4294967306, "op": "SCMP_CMP_EQ"}, {"index": 2, "value": 1, "op": "SCMP_CMP_EQ"}]}]}',
    {file: '/profiles/wide.json'},
  )
  const summary = summarizeProfile(parsed, X86_DEFAULTS)
  const [x86] = summary.architectures
  t.same(
    x86.thirtyTwoBit.map(({name, index}) => `${name} arg${index}`),
    ['socket arg0', 'socket arg2'],
    "one entry per argument; mprotect's are unsigned longs",
  )
  t.same(x86.warnings, ['syscalls[0] ("socket"): socket arg0 is a 32-bit argument; 0x10000000a does not fit in 32 bits, so only its low 32 bits are compared'])
  t.same(summary.warnings, [], 'not a parser warning: --strict does not refuse it')
  const text = formatSummary(summary)
  t.match(
    text,
    /\n {2}compared on their low 32 bits, all the kernel reads of them \(Docker compares 64, so a high bit slips past its rules\): socket arg0, socket arg2\n/,
  )
  t.match(text, /\n {2}warning: syscalls\[0\] \("socket"\): socket arg0 is a 32-bit argument; 0x10000000a does not fit/)
})
