import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {DOCKER_DEFAULT_CAPABILITIES} from '../../../src/capabilities.js'
import {FileError} from '../../../src/errors.js'
import {clearCompileCache, compileFilter, compileProfile, MAX_INSTRUCTIONS, returnValue, SECCOMP_RET} from '../../../src/seccomp/bpf.js'
import {evaluateSyscall} from '../../../src/seccomp/explain.js'
import {parseProfile, SECCOMP_OPERATORS, type SeccompOperator} from '../../../src/seccomp/profile.js'
import {resolvePolicy, type ResolveInputs} from '../../../src/seccomp/resolve.js'
import {AUDIT_ARCH, syscallName, syscallNumber, type SeccompArch} from '../../../src/seccomp/syscalls.js'
import {decodeFilter, describeReturn, runFilter, validateFilter} from './bpf-interpreter.js'

const DOCKER_DEFAULT = new URL('../../fixtures/seccomp/docker-default.json', import.meta.url).pathname
const X86 = AUDIT_ARCH.x86_64
const I386 = 0x40000003

function policyOf(profile: object | string, inputs: Partial<ResolveInputs> = {}) {
  const text = typeof profile === 'string' ? profile : JSON.stringify(profile)
  const {profile: parsed} = parseProfile(text, {file: 'profile.json'})
  return resolvePolicy(parsed, {arch: 'x86_64', capabilities: DOCKER_DEFAULT_CAPABILITIES, kernel: {major: 6, minor: 18}, ...inputs})
}

function filterOf(profile: object | string, inputs: Partial<ResolveInputs> = {}): Buffer {
  const filter = compileFilter(policyOf(profile, inputs))
  validateFilter(filter)
  return filter
}

/** The verdict as text, e.g. ALLOW or ERRNO(13), for a syscall by name or number. */
function verdict(filter: Buffer, syscall: string | number, args: Array<bigint | number> = [], arch: SeccompArch = 'x86_64'): string {
  const nr = typeof syscall === 'number' ? syscall : syscallNumber(arch, syscall)!
  return describeReturn(runFilter(filter, {nr, arch: AUDIT_ARCH[arch], args}))
}

const allowOnly = (...names: string[]) => ({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names, action: 'SCMP_ACT_ALLOW'}]})

t.test('return values follow linux/seccomp.h', async t => {
  t.equal(SECCOMP_RET.KILL_PROCESS, 0x80000000)
  const cases: Array<[string, number | undefined, number]> = [
    ['SCMP_ACT_ALLOW', undefined, 0x7fff0000],
    ['SCMP_ACT_ERRNO', 13, 0x0005000d],
    ['SCMP_ACT_KILL', undefined, 0],
    ['SCMP_ACT_KILL_THREAD', undefined, 0],
    ['SCMP_ACT_KILL_PROCESS', undefined, 0x80000000],
    ['SCMP_ACT_TRAP', undefined, 0x00030000],
    ['SCMP_ACT_TRACE', 7, 0x7ff00007],
    ['SCMP_ACT_LOG', undefined, 0x7ffc0000],
  ]
  for (const [action, errno, value] of cases) t.equal(returnValue({action: action as never, errno}), value, action)

  for (const [action, errno, value] of cases) {
    const rule = errno === undefined ? {names: ['mkdir'], action} : {names: ['mkdir'], action, errnoRet: errno}
    const filter = filterOf({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [rule]})
    if (action !== 'SCMP_ACT_ALLOW') t.equal(runFilter(filter, {nr: 83, arch: X86}), value, `${action} in a filter`)
  }
  const defaults = filterOf({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      {names: ['mkdir'], action: 'SCMP_ACT_ERRNO'},
      {names: ['rmdir'], action: 'SCMP_ACT_TRACE'},
    ],
  })
  t.equal(verdict(defaults, 'mkdir'), 'ERRNO(1)', 'ERRNO defaults to EPERM')
  t.equal(verdict(defaults, 'rmdir'), 'TRACE(1)', 'TRACE defaults to EPERM too (runc)')
})

t.test('a custom profile denying mkdir with errnoRet 13', async t => {
  const filter = filterOf({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13}]})
  t.equal(verdict(filter, 'mkdir'), 'ERRNO(13)')
  t.equal(verdict(filter, 'mkdirat'), 'ERRNO(13)')
  t.equal(verdict(filter, 'rmdir'), 'ALLOW')
  t.equal(verdict(filter, 'read'), 'ALLOW')
  t.equal(verdict(filter, 1000), 'ALLOW', 'a permissive default gets no ENOSYS stub')
  const arm = filterOf({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13}]}, {arch: 'aarch64'})
  t.equal(verdict(arm, 'mkdirat', [], 'aarch64'), 'ERRNO(13)')
  t.equal(verdict(arm, 'unlinkat', [], 'aarch64'), 'ALLOW')
})

t.test('the arch is checked first; a foreign arch is killed as libseccomp does', async t => {
  const filter = filterOf(allowOnly('read'))
  t.same(decodeFilter(filter)[0], {code: 0x20, jt: 0, jf: 0, k: 4}, 'load seccomp_data.arch')
  t.equal(describeReturn(runFilter(filter, {nr: 0, arch: I386})), 'KILL_THREAD', 'i386 binaries')
  t.equal(describeReturn(runFilter(filter, {nr: 0, arch: AUDIT_ARCH.aarch64})), 'KILL_THREAD')
  const arm = filterOf(allowOnly('read'), {arch: 'aarch64'})
  t.equal(describeReturn(runFilter(arm, {nr: 63, arch: AUDIT_ARCH.aarch64})), 'ALLOW')
  t.equal(describeReturn(runFilter(arm, {nr: 63, arch: X86})), 'KILL_THREAD')
  t.equal(describeReturn(runFilter(arm, {nr: 63, arch: 0x40000028})), 'KILL_THREAD', '32-bit arm')
})

t.test('x32 is rejected on x86_64; -1 gets the default action', async t => {
  const filter = filterOf(allowOnly('read', 'getpid'))
  t.equal(verdict(filter, 'getpid'), 'ALLOW')
  t.equal(verdict(filter, 0x40000000 | 39), 'KILL_THREAD', 'x32 getpid')
  t.equal(verdict(filter, 0x40000000 | 512), 'KILL_THREAD', 'an x32-only number')
  t.equal(verdict(filter, 0x40000000), 'KILL_THREAD')
  t.equal(verdict(filter, 0xfffffffe), 'KILL_THREAD')
  t.equal(verdict(filter, 0xffffffff), 'ERRNO(1)', 'tracers skip calls with -1')
  const arm = filterOf(allowOnly('read'), {arch: 'aarch64'})
  t.equal(verdict(arm, 0x40000000 | 63, [], 'aarch64'), 'ERRNO(38)', 'no x32 on aarch64: just a number above the table')
})

t.test('numbers above the highest the profile names answer ENOSYS', async t => {
  const filter = filterOf(allowOnly('read', 'mkdir'))
  t.equal(verdict(filter, 'mkdir'), 'ALLOW')
  t.equal(verdict(filter, 82), 'ERRNO(1)', 'below: the default action')
  t.equal(verdict(filter, 84), 'ERRNO(38)')
  t.equal(verdict(filter, 'clone3'), 'ERRNO(38)')
  t.equal(verdict(filter, 0x3fffffff), 'ERRNO(38)')
  const kill = filterOf({defaultAction: 'SCMP_ACT_KILL_PROCESS', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ALLOW'}]})
  t.equal(verdict(kill, 'rmdir'), 'ERRNO(38)', 'above mkdir, even with a kill default')
  t.equal(verdict(kill, 'read'), 'KILL_PROCESS')
})

t.test('conditions on the same argument are ORed', async t => {
  const filter = filterOf({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      {
        names: ['socket'],
        action: 'SCMP_ACT_ALLOW',
        args: [
          {index: 0, value: 1, op: 'SCMP_CMP_EQ'},
          {index: 0, value: 10, op: 'SCMP_CMP_EQ'},
        ],
      },
    ],
  })
  t.equal(verdict(filter, 'socket', [1]), 'ALLOW')
  t.equal(verdict(filter, 'socket', [10]), 'ALLOW')
  t.equal(verdict(filter, 'socket', [2]), 'ERRNO(1)')
})

t.test('conditions on different arguments are ANDed', async t => {
  const filter = filterOf({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      {
        names: ['socket'],
        action: 'SCMP_ACT_ALLOW',
        args: [
          {index: 0, value: 2, op: 'SCMP_CMP_EQ'},
          {index: 1, value: 1, op: 'SCMP_CMP_EQ'},
          {index: 2, value: 5, op: 'SCMP_CMP_LT'},
        ],
      },
    ],
  })
  t.equal(verdict(filter, 'socket', [2, 1, 0]), 'ALLOW')
  t.equal(verdict(filter, 'socket', [2, 1, 5]), 'ERRNO(1)')
  t.equal(verdict(filter, 'socket', [2, 2, 0]), 'ERRNO(1)')
  t.equal(verdict(filter, 'socket', [3, 1, 0]), 'ERRNO(1)')
})

t.test('with a repeated argument every condition stands alone, as runc adds them', async t => {
  const filter = filterOf({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      {
        names: ['socket'],
        action: 'SCMP_ACT_ALLOW',
        args: [
          {index: 0, value: 2, op: 'SCMP_CMP_EQ'},
          {index: 0, value: 10, op: 'SCMP_CMP_EQ'},
          {index: 1, value: 1, op: 'SCMP_CMP_EQ'},
        ],
      },
    ],
  })
  t.equal(verdict(filter, 'socket', [3, 1]), 'ALLOW', 'arg1 == 1 alone is enough')
  t.equal(verdict(filter, 'socket', [10, 7]), 'ALLOW')
  t.equal(verdict(filter, 'socket', [3, 7]), 'ERRNO(1)')
})

t.test('separate rules for one syscall: first matching rule decides, then the default', async t => {
  const filter = filterOf({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      {names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 0, op: 'SCMP_CMP_EQ'}]},
      {names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{index: 0, value: 0x1000, op: 'SCMP_CMP_GE'}]},
    ],
  })
  t.equal(verdict(filter, 'personality', [0]), 'ALLOW')
  t.equal(verdict(filter, 'personality', [0x2000]), 'ERRNO(22)')
  t.equal(verdict(filter, 'personality', [8]), 'ERRNO(1)')
})

t.test('64-bit comparisons across the 32-bit boundary, every operator', async t => {
  const interesting = [
    0n,
    1n,
    0x7fffffffn,
    0x80000000n,
    0xfffffffen,
    0xffffffffn,
    0x100000000n,
    0x100000001n,
    0x1ffffffffn,
    0xdeadbeef00000001n,
    0xfffffffeffffffffn,
    0xffffffff00000000n,
    0xfffffffffffffffen,
    0xffffffffffffffffn,
  ]
  const compare: Record<SeccompOperator, (a: bigint, b: bigint) => boolean> = {
    SCMP_CMP_EQ: (a, b) => a === b,
    SCMP_CMP_NE: (a, b) => a !== b,
    SCMP_CMP_LT: (a, b) => a < b,
    SCMP_CMP_LE: (a, b) => a <= b,
    SCMP_CMP_GT: (a, b) => a > b,
    SCMP_CMP_GE: (a, b) => a >= b,
    SCMP_CMP_MASKED_EQ: () => false,
  }
  let checked = 0
  for (const op of SECCOMP_OPERATORS.filter(op => op !== 'SCMP_CMP_MASKED_EQ')) {
    for (const value of interesting) {
      const text = `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99, "args": [{"index": 3, "value": ${value}, "op": "${op}"}]}]}`
      const filter = filterOf(text)
      for (const argument of interesting) {
        const expected = compare[op](argument, value) ? 'ERRNO(99)' : 'ALLOW'
        const actual = verdict(filter, 'ioctl', [0, 0, 0, argument])
        if (actual !== expected) t.fail(`${op} ${value.toString(16)}: arg 0x${argument.toString(16)} gave ${actual}`)
        checked++
      }
    }
  }
  t.equal(checked, 6 * interesting.length ** 2)
})

t.test('MASKED_EQ is (arg & value) == valueTwo on both halves', async t => {
  // ioctl's arg2 is an unsigned long the kernel reads whole, so it is compared on 64 bits.
  const text =
    '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 2, "value": 18446744069414649855, "valueTwo": 4294967296, "op": "SCMP_CMP_MASKED_EQ"}]}]}'
  // mask 0xffffffff0000ffff, wanted 0x0000000100000000
  const filter = filterOf(text)
  t.equal(verdict(filter, 'ioctl', [0, 0, 0x100000000n]), 'ERRNO(1)')
  t.equal(verdict(filter, 'ioctl', [0, 0, 0x1abcd0000n]), 'ERRNO(1)', 'bits outside the mask do not matter')
  t.equal(verdict(filter, 'ioctl', [0, 0, 0x100000001n]), 'ALLOW', 'a masked low bit differs')
  t.equal(verdict(filter, 'ioctl', [0, 0, 0x300000000n]), 'ALLOW', 'a masked high bit differs')
  t.equal(verdict(filter, 'ioctl', [0, 0, 0n]), 'ALLOW')
})

t.test('32-bit arguments are compared on their low word, as the kernel reads them', async t => {
  const high = 1n << 32n
  // Docker's socket rules: a family above 40 is allowed, AF_VSOCK (40) is not.
  const socket = {defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 40, op: 'SCMP_CMP_GT'}]}]}
  const ours = filterOf(socket)
  const docker = filterOf(socket, {argumentWidth: '64-bit'})
  t.equal(verdict(ours, 'socket', [high | 40n]), 'ERRNO(1)', 'the kernel reads AF_VSOCK: denied')
  t.equal(verdict(docker, 'socket', [high | 40n]), 'ALLOW', 'a 64-bit compare lets it through')
  t.equal(verdict(ours, 'socket', [41n]), 'ALLOW')
  t.equal(verdict(ours, 'socket', [high | 41n]), 'ALLOW', 'the kernel reads 41')
  t.equal(verdict(ours, 'socket', [0xffffffffn]), 'ALLOW', 'unsigned, as libseccomp compares')
  t.equal(decodeFilter(ours).filter(instruction => instruction.code === 0x20 && instruction.k === 20).length, 0, 'arg0 high word never loaded')
  t.ok(
    decodeFilter(docker).some(instruction => instruction.code === 0x20 && instruction.k === 20),
    'the 64-bit filter loads it',
  )

  const ops: Array<[string, number, bigint, string, string]> = [
    // op, value, argument, verdict on the low word, verdict on 64 bits
    ['SCMP_CMP_EQ', 8, high | 8n, 'ALLOW', 'ERRNO(1)'],
    ['SCMP_CMP_NE', 8, high | 8n, 'ERRNO(1)', 'ALLOW'],
    ['SCMP_CMP_LT', 8, high | 7n, 'ALLOW', 'ERRNO(1)'],
    ['SCMP_CMP_LE', 8, high | 8n, 'ALLOW', 'ERRNO(1)'],
    ['SCMP_CMP_GE', 8, high | 7n, 'ERRNO(1)', 'ALLOW'],
    ['SCMP_CMP_GT', 8, high | 8n, 'ERRNO(1)', 'ALLOW'],
  ]
  for (const [op, value, argument, low, full] of ops) {
    const profile = {defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value, op}]}]}
    t.equal(verdict(filterOf(profile), 'personality', [argument]), low, `${op} ${value} on 0x${argument.toString(16)}: low word`)
    t.equal(verdict(filterOf(profile, {argumentWidth: '64-bit'}), 'personality', [argument]), full, `${op}: 64 bits`)
    for (const plain of [7n, 8n, 9n])
      t.equal(
        verdict(filterOf(profile), 'personality', [plain]),
        verdict(filterOf(profile, {argumentWidth: '64-bit'}), 'personality', [plain]),
        `${op} on ${plain}: the same either way`,
      )
  }

  // clone's flags are an unsigned long, but the kernel keeps lower_32_bits(clone_flags).
  const clone = filterOf({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [{names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ'}]}],
  })
  t.equal(verdict(clone, 'clone', [high | 17n]), 'ALLOW')
  t.equal(verdict(clone, 'clone', [high | 0x20000n]), 'ERRNO(1)')

  // A value written sign-extended (an int -1) means the same 32 bits.
  const negative = filterOf(
    '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 18446744073709551615, "op": "SCMP_CMP_EQ"}]}]}',
  )
  t.equal(verdict(negative, 'kill', [0, 0xffffffffn]), 'ALLOW')
  t.equal(verdict(negative, 'kill', [0, 0xffffffffffffffffn]), 'ALLOW')

  // Arguments the kernel reads whole keep the 64-bit compare (unshare rejects high bits itself).
  const unshare = filterOf({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [{names: ['unshare'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 0x200, op: 'SCMP_CMP_EQ'}]}],
  })
  t.equal(verdict(unshare, 'unshare', [high | 0x200n]), 'ERRNO(1)')
})

t.test('a 32-bit argument compared with a value that no 32-bit value equals warns', async t => {
  const policy = policyOf({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      {
        names: ['socket'],
        action: 'SCMP_ACT_ALLOW',
        args: [
          {index: 0, value: 4294967298, op: 'SCMP_CMP_EQ'},
          {index: 1, value: 1, op: 'SCMP_CMP_EQ'},
        ],
      },
    ],
  })
  t.same(policy.warnings, [
    'syscalls[0] ("socket"): socket arg0 is a 32-bit argument; 0x100000002 does not fit in 32 bits, so only its low 32 bits are compared',
  ])
  t.same(
    policy.thirtyTwoBit.map(({name, index}) => `${name} arg${index}`),
    ['socket arg0', 'socket arg1'],
  )
  t.same(
    policyOf(
      '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 18446744073709551615, "op": "SCMP_CMP_EQ"}]}]}',
    ).warnings,
    [],
    'a sign-extended int fits',
  )
})

t.test('long programs: jumps past 255 instructions go through ja', async t => {
  // 300 syscalls, each allowed only for one argument value: a deep search with bodies.
  const rules = Array.from({length: 300}, (_, nr) => ({
    names: [syscallName('x86_64', nr)!],
    action: 'SCMP_ACT_ALLOW',
    args: [{index: 0, value: nr, op: 'SCMP_CMP_EQ'}],
  }))
  const filter = filterOf({defaultAction: 'SCMP_ACT_ERRNO', syscalls: rules})
  const program = validateFilter(filter)
  t.ok(
    program.some(instruction => instruction.code === 0x05),
    'has long jumps',
  )
  t.ok(program.every(instruction => instruction.jt <= 255 && instruction.jf <= 255))
  for (let nr = 0; nr < 300; nr++) {
    if (verdict(filter, nr, [nr]) !== 'ALLOW' || verdict(filter, nr, [nr + 1]) !== 'ERRNO(1)') t.fail(`syscall ${nr}`)
  }
  t.equal(verdict(filter, 300), 'ERRNO(38)')
})

t.test('more than 4096 instructions is refused with a clear error', async t => {
  // mprotect's prot is an unsigned long: 64-bit compares, four instructions each.
  const families = Array.from({length: 900}, (_, family) => ({index: 2, value: family * 2, op: 'SCMP_CMP_EQ'}))
  const policy = policyOf({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['mprotect'], action: 'SCMP_ACT_ALLOW', args: families}]})
  t.throws(() => compileFilter(policy), FileError)
  t.throws(
    () => compileFilter(policy),
    new RegExp(`^profile\\.json: the compiled seccomp filter has \\d+ instructions; the kernel accepts at most ${MAX_INSTRUCTIONS}$`),
  )
  const fits = policyOf({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['mprotect'], action: 'SCMP_ACT_ALLOW', args: families.slice(0, 500)}]})
  t.equal(verdict(compileFilter(fits), 'mprotect', [0, 0, 998]), 'ALLOW')
})

t.test(
  "the compiled filter and the readable evaluation agree on Docker's default",
  {skip: existsSync(DOCKER_DEFAULT) ? false : `${DOCKER_DEFAULT} is missing`},
  async t => {
    const high = 1n << 32n
    const argumentSets: bigint[][] = [
      [],
      [0x7e020000n],
      [38n],
      [40n],
      [0x40000n],
      [0xffffffffn],
      [high],
      [0x11n],
      [high | 40n],
      [high | 8n],
      [high | 0x10000011n],
      [0xffffffff00000028n],
    ]
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const policy = policyOf(readFileSync(DOCKER_DEFAULT, 'utf8'), {arch})
      const filter = compileFilter(policy)
      let mismatches = 0
      for (let nr = 0; nr < 1100; nr++) {
        for (const args of argumentSets) {
          const expected = returnValue(evaluateSyscall(policy, nr, args).verdict)
          if (runFilter(filter, {nr, arch: AUDIT_ARCH[arch], args}) !== expected) mismatches++
        }
      }
      t.equal(mismatches, 0, arch)
    }
  },
)

t.test('compileProfile caches by content hash, in memory and on disk', async t => {
  clearCompileCache()
  const cacheDir = t.testdir()
  const text = JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      {names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13},
      {names: ['mkdri'], action: 'SCMP_ACT_ERRNO'},
    ],
  })
  const options = {file: 'custom.json', text, capabilities: DOCKER_DEFAULT_CAPABILITIES, arch: 'x86_64', kernel: {major: 6, minor: 1}, cacheDir} as const

  const cold = await compileProfile(options)
  t.equal(cold.cache, 'miss')
  t.match(cold.hash, /^[0-9a-f]{16}$/)
  t.equal(cold.warnings.length, 1, 'the typo warns')
  t.equal(verdict(cold.filter, 'mkdir'), 'ERRNO(13)')
  t.same(readdirSync(cacheDir), [`${cold.hash}.bpf`], 'written atomically, no temp file left')

  const warm = await compileProfile(options)
  t.equal(warm.cache, 'memory')
  t.same(warm.filter, cold.filter)
  t.equal(warm.warnings.length, 1)
  warm.filter.fill(0)
  t.same((await compileProfile(options)).filter, cold.filter, 'callers get copies')

  clearCompileCache()
  const fromDisk = await compileProfile(options)
  t.equal(fromDisk.cache, 'disk')
  t.same(fromDisk.filter, cold.filter)

  const otherCaps = await compileProfile({...options, capabilities: ['CAP_SYS_ADMIN']})
  t.not(otherCaps.hash, cold.hash, 'the capabilities are part of the key')
  t.not((await compileProfile({...options, kernel: {major: 4, minor: 4}})).hash, cold.hash, 'so is the kernel')
  t.not((await compileProfile({...options, text: text.replace('13', '14')})).hash, cold.hash, 'and the text')

  clearCompileCache()
  writeFileSync(join(cacheDir, `${cold.hash}.bpf`), Buffer.alloc(5))
  t.equal((await compileProfile(options)).cache, 'miss', 'a torn cache file is not trusted')

  // The name is a short hash: a file under it that holds another key's filter (a collision) is not used.
  clearCompileCache()
  const otherDir = join(cacheDir, 'other')
  const other = await compileProfile({...options, cacheDir: otherDir, capabilities: ['CAP_SYS_ADMIN'], text: text.replace('13', '1')})
  writeFileSync(join(cacheDir, `${cold.hash}.bpf`), readFileSync(join(otherDir, `${other.hash}.bpf`)))
  clearCompileCache()
  const collided = await compileProfile(options)
  t.equal(collided.cache, 'miss', "another key's filter under this name is recompiled, not loaded")
  t.same(collided.filter, cold.filter)
})

t.test('compileProfile reads the file and reports its problems', async t => {
  clearCompileCache()
  await t.rejects(compileProfile({file: '/nonexistent/profile.json', capabilities: []}), {
    name: 'FileError',
    message: /^\/nonexistent\/profile\.json: cannot read/,
  })
  await t.rejects(
    compileProfile({
      file: 'typo.json',
      text: '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdri"], "action": "SCMP_ACT_ERRNO"}]}',
      capabilities: [],
      arch: 'x86_64',
      strict: true,
    }),
    {name: 'FileError', message: /unknown syscall "mkdri"/},
  )
})
