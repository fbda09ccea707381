import {existsSync, readFileSync} from 'node:fs'
import t from 'tap'
import {DOCKER_DEFAULT_CAPABILITIES, type CapabilityName} from '../../../src/capabilities.js'
import {HostError} from '../../../src/errors.js'
import {parseProfile} from '../../../src/seccomp/profile.js'
import {currentKernelVersion, resolvePolicy, syscallDecisions, type ResolveInputs} from '../../../src/seccomp/resolve.js'

const DOCKER_DEFAULT = new URL('../../fixtures/seccomp/docker-default.json', import.meta.url).pathname
const noDockerProfile = existsSync(DOCKER_DEFAULT) ? false : `${DOCKER_DEFAULT} is missing`

function resolve(profile: object, inputs: Partial<ResolveInputs> = {}) {
  const {profile: parsed} = parseProfile(JSON.stringify(profile), {file: 'profile.json'})
  return resolvePolicy(parsed, {arch: 'x86_64', capabilities: DOCKER_DEFAULT_CAPABILITIES, kernel: {major: 6, minor: 1}, ...inputs})
}

/** Which syscall names survive, in order. */
function keptNames(profile: object, inputs: Partial<ResolveInputs> = {}): string[] {
  return resolve(profile, inputs).rules.map(rule => rule.name)
}

const profileWith = (...rules: object[]) => ({defaultAction: 'SCMP_ACT_ERRNO', syscalls: rules})

t.test('includes.caps needs every listed capability', async t => {
  const profile = profileWith({names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']}})
  t.same(keptNames(profile, {capabilities: ['CAP_SYS_ADMIN']}), [])
  t.same(keptNames(profile, {capabilities: ['CAP_SYS_PTRACE']}), [])
  t.same(keptNames(profile, {capabilities: ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']}), ['ptrace'])
  t.same(resolve(profile).dropped, [{rule: 0, label: 'syscalls[0] ("ptrace")', names: ['ptrace'], reason: 'includes.caps: the app lacks CAP_SYS_ADMIN'}])
})

t.test('excludes.caps drops the rule if any listed capability is present', async t => {
  const profile = profileWith({names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: {caps: ['CAP_SYS_ADMIN', 'CAP_BPF']}})
  t.same(keptNames(profile, {capabilities: []}), ['clone3'])
  t.same(keptNames(profile, {capabilities: ['CAP_BPF']}), [])
  t.equal(resolve(profile, {capabilities: ['CAP_SYS_ADMIN']}).dropped[0].reason, 'excludes.caps: the app has CAP_SYS_ADMIN')
})

t.test("arches are matched against Docker's native arch name", async t => {
  const profile = profileWith(
    {names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: {arches: ['amd64', 'x32']}},
    {names: ['getpid'], action: 'SCMP_ACT_ALLOW', excludes: {arches: ['arm64']}},
    {names: ['gettid'], action: 'SCMP_ACT_ALLOW', includes: {arches: ['x86_64']}},
  )
  t.same(keptNames(profile, {arch: 'x86_64'}), ['arch_prctl', 'getpid'], 'amd64 matches, the kernel spelling x86_64 does not (as in Docker)')
  const arm = resolve(profile, {arch: 'aarch64'})
  t.same(
    arm.rules.map(rule => rule.name),
    [],
  )
  t.same(
    arm.dropped.map(rule => rule.reason),
    ['includes.arches (amd64, x32) does not list arm64', 'excludes.arches lists arm64', 'includes.arches (x86_64) does not list arm64'],
  )
})

t.test('minKernel compares major.minor with the running kernel', async t => {
  const profile = profileWith(
    {names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: {minKernel: '4.8'}},
    {names: ['getpid'], action: 'SCMP_ACT_ALLOW', excludes: {minKernel: '5.10'}},
  )
  t.same(keptNames(profile, {kernel: {major: 4, minor: 7}}), ['getpid'])
  t.same(keptNames(profile, {kernel: {major: 4, minor: 8}}), ['ptrace', 'getpid'])
  t.same(keptNames(profile, {kernel: {major: 5, minor: 10}}), ['ptrace'])
  t.same(keptNames(profile, {kernel: {major: 10, minor: 0}}), ['ptrace'], '10.0 is newer than 4.8 and 5.10')
  t.equal(resolve(profile, {kernel: {major: 4, minor: 7}}).dropped[0].reason, 'includes.minKernel 4.8: the kernel is 4.7')
})

t.test('names without a number on this arch are set aside, not errors', async t => {
  const policy = resolve(profileWith({names: ['open', 'openat', 'chown32'], action: 'SCMP_ACT_ALLOW'}), {arch: 'aarch64'})
  t.same(
    policy.rules.map(rule => [rule.name, rule.nr]),
    [['openat', 56]],
  )
  t.same(
    policy.absent.map(entry => entry.name),
    ['open', 'chown32'],
  )
})

t.test('ENOSYS above the highest named syscall, as runc patches it', async t => {
  t.equal(resolve(profileWith({names: ['read', 'mkdir'], action: 'SCMP_ACT_ALLOW'})).enosysAbove, 83)
  t.equal(
    resolve({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO'}]}).enosysAbove,
    undefined,
    'not with a permissive default',
  )
  t.equal(resolve({defaultAction: 'SCMP_ACT_LOG', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO'}]}).enosysAbove, undefined)
  t.equal(resolve({defaultAction: 'SCMP_ACT_KILL_PROCESS', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ALLOW'}]}).enosysAbove, 83)
  t.equal(resolve({defaultAction: 'SCMP_ACT_ERRNO'}).enosysAbove, undefined, 'no syscall named, no stub')
  const dropped = profileWith({names: ['mkdir'], action: 'SCMP_ACT_ALLOW'}, {names: ['listns'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_ADMIN']}})
  t.equal(resolve(dropped).enosysAbove, 83, 'dropped rules do not count')
})

t.test('rules with the default verdict are ignored, as runc does', async t => {
  const policy = resolve(profileWith({names: ['mkdir'], action: 'SCMP_ACT_ERRNO'}, {names: ['mkdir'], action: 'SCMP_ACT_ALLOW'}))
  t.same(
    policy.rules.map(rule => rule.sameAsDefault),
    [true, false],
  )
  t.same(syscallDecisions(policy).get(83)?.unconditional?.rule, 1, 'so the later ALLOW decides')
  const errno13 = resolve(profileWith({names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13}))
  t.same(errno13.rules[0].sameAsDefault, false, 'a different errno is a different verdict')
})

t.test('the first unconditional rule wins over argument rules (libseccomp)', async t => {
  const policy = resolve(
    profileWith(
      {names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 1, op: 'SCMP_CMP_EQ'}]},
      {names: ['socket'], action: 'SCMP_ACT_KILL_PROCESS'},
      {names: ['socket'], action: 'SCMP_ACT_TRAP'},
    ),
  )
  const decision = syscallDecisions(policy).get(41)!
  t.equal(decision.unconditional?.rule, 1)
  t.same(decision.alternatives, [])
})

t.test('conditions: different arguments AND, a repeated argument turns every condition into an alternative (runc)', async t => {
  const and = resolve(
    profileWith({
      names: ['socket'],
      action: 'SCMP_ACT_ALLOW',
      args: [
        {index: 0, value: 2, op: 'SCMP_CMP_EQ'},
        {index: 1, value: 1, op: 'SCMP_CMP_EQ'},
      ],
    }),
  )
  t.same(
    syscallDecisions(and)
      .get(41)!
      .alternatives.map(alternative => alternative.conditions.length),
    [2],
  )
  const or = resolve(
    profileWith({
      names: ['socket'],
      action: 'SCMP_ACT_ALLOW',
      args: [
        {index: 0, value: 2, op: 'SCMP_CMP_EQ'},
        {index: 0, value: 10, op: 'SCMP_CMP_EQ'},
        {index: 1, value: 1, op: 'SCMP_CMP_EQ'},
      ],
    }),
  )
  t.same(
    syscallDecisions(or)
      .get(41)!
      .alternatives.map(alternative => alternative.conditions.length),
    [1, 1, 1],
  )
})

t.test("Docker's default profile with Docker's default capabilities", {skip: noDockerProfile}, async t => {
  const {profile} = parseProfile(readFileSync(DOCKER_DEFAULT, 'utf8'), {file: DOCKER_DEFAULT})
  const policy = resolvePolicy(profile, {arch: 'x86_64', capabilities: DOCKER_DEFAULT_CAPABILITIES, kernel: {major: 6, minor: 18}})
  t.same(policy.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'])
  t.equal(policy.enosysAbove, 466, 'removexattrat')
  const kept = new Set(policy.rules.map(rule => rule.rule))
  t.same([...kept], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 18, 20, 22], 'CAP_SYS_CHROOT is a default capability, so chroot stays')
  const reasons = Object.fromEntries(policy.dropped.map(rule => [rule.rule, rule.reason]))
  t.equal(reasons[17], 'includes.caps: the app lacks CAP_SYS_ADMIN')
  t.equal(reasons[19], 'includes.arches (s390, s390x) does not list amd64')
  t.equal(reasons[11], 'includes.arches (arm, arm64) does not list amd64')

  const admin = resolvePolicy(profile, {
    arch: 'x86_64',
    capabilities: [...DOCKER_DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'] as CapabilityName[],
    kernel: {major: 6, minor: 18},
  })
  const adminReasons = Object.fromEntries(admin.dropped.map(rule => [rule.rule, rule.reason]))
  t.equal(adminReasons[18], 'excludes.caps: the app has CAP_SYS_ADMIN')
  t.equal(adminReasons[20], 'excludes.caps: the app has CAP_SYS_ADMIN')

  const arm = resolvePolicy(profile, {arch: 'aarch64', capabilities: DOCKER_DEFAULT_CAPABILITIES, kernel: {major: 6, minor: 18}})
  t.same(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'])
  t.ok(arm.rules.some(rule => rule.rule === 11) === false, 'the arm names of rule 11 have no aarch64 numbers')
  t.ok(arm.absent.some(entry => entry.name === 'arm_fadvise64_64'))
})

t.test('currentKernelVersion reads uname releases', async t => {
  t.same(currentKernelVersion('6.1.0-18-amd64'), {major: 6, minor: 1})
  t.same(currentKernelVersion('3.12-1-amd64'), {major: 3, minor: 12})
  t.same(currentKernelVersion('6.18.44-fc-v657'), {major: 6, minor: 18})
  t.throws(() => currentKernelVersion('unknown'), HostError)
  t.ok(currentKernelVersion().major >= 3, 'the running kernel')
})
