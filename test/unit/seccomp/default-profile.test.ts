/**
 * templates/seccomp/default.json is contain's own profile; on x86_64 it must decide every syscall
 * exactly as Docker's default does. Both are compiled and run through the interpreter.
 */
import {existsSync, readFileSync} from 'node:fs'
import t from 'tap'
import {CAPABILITIES, DOCKER_DEFAULT_CAPABILITIES, type CapabilityName} from '../../../src/capabilities.js'
import {compileFilter} from '../../../src/seccomp/bpf.js'
import {parseProfile} from '../../../src/seccomp/profile.js'
import {resolvePolicy} from '../../../src/seccomp/resolve.js'
import {AUDIT_ARCH, syscallNumber, syscallTable, type SeccompArch} from '../../../src/seccomp/syscalls.js'
import {decodeFilter, describeReturn, runFilter, type Instruction} from './bpf-interpreter.js'

const DOCKER_DEFAULT = new URL('../../fixtures/seccomp/docker-default.json', import.meta.url).pathname
const TEMPLATE = new URL('../../../templates/seccomp/default.json', import.meta.url).pathname
const KERNEL = {major: 6, minor: 18}

/** `64-bit` compiles as libseccomp, and so Docker, compares arguments: every one on 64 bits. */
function compile(file: string, capabilities: readonly CapabilityName[], arch: SeccompArch = 'x86_64', argumentWidth: 'kernel' | '64-bit' = 'kernel'): Buffer {
  const {profile} = parseProfile(readFileSync(file, 'utf8'), {file})
  return compileFilter(resolvePolicy(profile, {arch, capabilities, kernel: KERNEL, argumentWidth}))
}

const CLONE_NEWNS = 0x00020000n
const namespaceFlags = [CLONE_NEWNS, 0x02000000n, 0x04000000n, 0x08000000n, 0x10000000n, 0x20000000n, 0x40000000n]
const CLONE_THREAD_FLAGS = 0x003d0f00n // what glibc passes for pthread_create
const SIGCHLD = 17n
const argumentCases: Record<string, bigint[][]> = {
  clone: [
    [0n],
    [SIGCHLD],
    [CLONE_THREAD_FLAGS],
    [0x80n],
    ...namespaceFlags.map(flag => [flag | SIGCHLD]),
    [0x7e020000n],
    [1n << 32n],
    [0xffffffffffffffffn],
    [0n, CLONE_NEWNS],
  ],
  socket: [...Array.from({length: 64}, (_, family) => [BigInt(family)]), [2n | (1n << 32n)], [0xffffffffn], [0xffffffffffffffffn]],
  personality: [[0n], [8n], [0x20000n], [0x20008n], [0xffffffffn], [0x40000n], [1n], [0x0400000n], [1n << 32n], [0xffffffffffffffffn], [0x20009n]],
}

const capabilitySets: Record<string, readonly CapabilityName[]> = {
  "Docker's default 14": DOCKER_DEFAULT_CAPABILITIES,
  none: [],
  'default + SYS_ADMIN': [...DOCKER_DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'],
  'default + SYS_PTRACE + SYS_TIME + SYS_NICE': [...DOCKER_DEFAULT_CAPABILITIES, 'CAP_SYS_PTRACE', 'CAP_SYS_TIME', 'CAP_SYS_NICE'],
  'BPF + PERFMON + SYSLOG, no SYS_CHROOT': ['CAP_BPF', 'CAP_PERFMON', 'CAP_SYSLOG'],
  privileged: CAPABILITIES,
}

/** Every number in the table and its neighbourhood, the gaps, x32 and -1. */
function numbersToTry(arch: SeccompArch): number[] {
  const numbers = new Set<number>()
  for (let nr = 0; nr < 1024; nr++) numbers.add(nr)
  for (const nr of syscallTable(arch).byNumber.keys()) numbers.add(nr)
  for (const nr of [0x3fffffff, 0x40000000, 0x40000027, 0x40000200, 0x7fffffff, 0xfffffffe, 0xffffffff]) numbers.add(nr)
  return [...numbers]
}

t.test(
  'same verdict as Docker for every syscall number and the interesting arguments',
  {skip: existsSync(DOCKER_DEFAULT) ? false : `${DOCKER_DEFAULT} is missing`},
  async t => {
    for (const arch of ['x86_64', 'aarch64'] as const) {
      for (const [setName, capabilities] of Object.entries(capabilitySets)) {
        const docker = compile(DOCKER_DEFAULT, capabilities, arch)
        const ours = compile(TEMPLATE, capabilities, arch)
        const differences: string[] = []
        const check = (nr: number, args: bigint[]) => {
          const expected = describeReturn(runFilter(docker, {nr, arch: AUDIT_ARCH[arch], args}))
          const actual = describeReturn(runFilter(ours, {nr, arch: AUDIT_ARCH[arch], args}))
          if (expected !== actual)
            differences.push(`nr ${nr} args ${args.map(arg => `0x${arg.toString(16)}`).join(',')}: docker ${expected}, contain ${actual}`)
        }
        for (const nr of numbersToTry(arch)) check(nr, [])
        for (const [name, cases] of Object.entries(argumentCases)) for (const args of cases) check(syscallNumber(arch, name)!, args)
        t.same(differences, [], `${arch}, ${setName}`)
      }
    }
  },
)

// Both profiles through contain's compiler. The filter Docker itself loads (libseccomp's 64-bit
// comparisons) differs by design, instruction by instruction as the next test lists.
t.test(
  'on x86_64 with the default capabilities both compile to the same bytes',
  {skip: existsSync(DOCKER_DEFAULT) ? false : `${DOCKER_DEFAULT} is missing`},
  async t => {
    t.same(compile(TEMPLATE, DOCKER_DEFAULT_CAPABILITIES), compile(DOCKER_DEFAULT, DOCKER_DEFAULT_CAPABILITIES))
  },
)

t.test(
  "where contain's filter differs from Docker's 64-bit comparisons, by design: the high words of 32-bit arguments",
  {skip: existsSync(DOCKER_DEFAULT) ? false : `${DOCKER_DEFAULT} is missing`},
  async t => {
    const docker = decodeFilter(compile(DOCKER_DEFAULT, DOCKER_DEFAULT_CAPABILITIES, 'x86_64', '64-bit'))
    const ours = decodeFilter(compile(TEMPLATE, DOCKER_DEFAULT_CAPABILITIES))
    const ARG0_HIGH = 20 // offsetof(struct seccomp_data, args[0]) + 4
    const show = ({code, k}: Instruction) =>
      ({
        0x20: `ld [${k === ARG0_HIGH ? 'arg0 high' : k}]`,
        0x54: `and #0x${k.toString(16)}`,
        0x15: `jeq #0x${k.toString(16)}`,
        0x25: `jgt #0x${k.toString(16)}`,
      })[code] ?? `0x${code.toString(16)} #${k}`

    // Docker's filter tests each argument's high word first; contain leaves out exactly those groups
    // (the load of arg0's high word and the jumps on it, up to the load of the low word) and nothing else.
    const removed: string[] = []
    const kept: Instruction[] = []
    for (let pc = 0; pc < docker.length; pc++) {
      if (docker[pc].code === 0x20 && docker[pc].k === ARG0_HIGH) {
        const group = [docker[pc]]
        while (docker[pc + 1].code !== 0x20) group.push(docker[++pc])
        removed.push(group.map(show).join('; '))
      } else {
        kept.push(docker[pc])
      }
    }
    const count = (list: string[]) => Object.fromEntries([...new Set(list)].sort().map(entry => [entry, list.filter(other => other === entry).length]))
    t.same(count(removed), {
      // socket arg0 == 39 (AF_KCM) and personality arg0 == 0, 8, 0x20000, 0x20008, 0xffffffff.
      'ld [arg0 high]; jeq #0x0': 6,
      // socket arg0 < 38 and arg0 > 40: "high word above 0" decides before the low word is read.
      'ld [arg0 high]; jgt #0x0; jeq #0x0': 2,
      // clone arg0 & 0x7e020000 == 0: the mask's high word is 0, so this group never fails in Docker's filter either.
      'ld [arg0 high]; and #0x0; jeq #0x0': 1,
    })
    const bare = (program: Instruction[]) => program.filter(instruction => instruction.code !== 0x05).map(({code, k}) => `${code}:${k}`)
    t.same(bare(ours), bare(kept), 'everything else is the same instructions in the same order (jump offsets aside)')
    t.equal(docker.length - ours.length, 21, '21 instructions fewer')

    // What that changes for a caller: only calls with a high bit in a 32-bit argument, each listed here.
    const HIGH = 1n << 32n
    const cases: Array<[string, bigint]> = [
      ...[2n, 16n, 37n, 38n, 39n, 40n, 41n, 44n].map((family): [string, bigint] => ['socket', HIGH | family]),
      ...[0n, 8n, 0x20000n, 0x20008n, 0xffffffffn, 0x40000n, 1n].map((persona): [string, bigint] => ['personality', HIGH | persona]),
      ...[17n, 0x003d0f00n, 0x20000n | 17n, 0x10000000n | 17n].map((flags): [string, bigint] => ['clone', HIGH | flags]),
      ['socket', 0xffffffff00000028n],
    ]
    const differences = cases.flatMap(([name, arg]) => {
      const data = {nr: syscallNumber('x86_64', name)!, arch: AUDIT_ARCH.x86_64, args: [arg]}
      const [theirs, mine] = [
        describeReturn(runFilter(Buffer.concat(docker.map(encode)), data)),
        describeReturn(runFilter(Buffer.concat(ours.map(encode)), data)),
      ]
      return theirs === mine ? [] : [`${name}(0x${arg.toString(16)}): docker ${theirs}, contain ${mine}`]
    })
    t.same(differences, [
      // The kernel creates an AF_ALG (38) and an AF_VSOCK (40) socket, which Docker's rules mean to deny.
      'socket(0x100000026): docker ALLOW, contain ERRNO(1)',
      'socket(0x100000028): docker ALLOW, contain ERRNO(1)',
      // The kernel reads persona 0 (PER_LINUX), 8, 0x20000, 0x20008 and 0xffffffff (a query), which Docker's rules allow.
      'personality(0x100000000): docker ERRNO(1), contain ALLOW',
      'personality(0x100000008): docker ERRNO(1), contain ALLOW',
      'personality(0x100020000): docker ERRNO(1), contain ALLOW',
      'personality(0x100020008): docker ERRNO(1), contain ALLOW',
      'personality(0x1ffffffff): docker ERRNO(1), contain ALLOW',
      // A sign-extended family: still AF_VSOCK for the kernel.
      'socket(0xffffffff00000028): docker ALLOW, contain ERRNO(1)',
    ])
  },
)

function encode({code, jt, jf, k}: Instruction): Buffer {
  const buffer = Buffer.alloc(8)
  buffer.writeUInt16LE(code, 0)
  buffer.writeUInt8(jt, 2)
  buffer.writeUInt8(jf, 3)
  buffer.writeUInt32LE(k >>> 0, 4)
  return buffer
}

t.test('what the default profile does on x86_64', async t => {
  const filter = compile(TEMPLATE, DOCKER_DEFAULT_CAPABILITIES)
  const verdict = (name: string, args: bigint[] = []) => describeReturn(runFilter(filter, {nr: syscallNumber('x86_64', name)!, arch: AUDIT_ARCH.x86_64, args}))

  const counts: Record<string, number> = {}
  for (const nr of syscallTable('x86_64').byNumber.keys()) {
    const result = describeReturn(runFilter(filter, {nr, arch: AUDIT_ARCH.x86_64}))
    counts[result] = (counts[result] ?? 0) + 1
  }
  // 384 table entries through listns (470). socket, clone and personality are allowed for
  // the zero arguments counted here, and denied for the ones checked below.
  t.same(counts, {ALLOW: 309, 'ERRNO(1)': 70, 'ERRNO(38)': 5})

  t.equal(verdict('clone3'), 'ERRNO(38)')
  for (const name of ['open_tree_attr', 'file_getattr', 'file_setattr', 'listns']) t.equal(verdict(name), 'ERRNO(38)', `${name} is newer than the profile`)
  t.equal(verdict('socket', [2n]), 'ALLOW', 'AF_INET')
  t.equal(verdict('socket', [38n]), 'ERRNO(1)', 'AF_ALG')
  t.equal(verdict('socket', [39n]), 'ALLOW')
  t.equal(verdict('socket', [40n]), 'ERRNO(1)', 'AF_VSOCK')
  t.equal(verdict('socket', [(1n << 32n) | 40n]), 'ERRNO(1)', 'AF_VSOCK with a high bit: the kernel reads 40')
  t.equal(verdict('socket', [(1n << 32n) | 38n]), 'ERRNO(1)', 'AF_ALG with a high bit')
  t.equal(verdict('socket', [(1n << 32n) | 2n]), 'ALLOW', 'AF_INET with a high bit is still AF_INET')
  t.equal(verdict('personality', [(1n << 32n) | 0x40000n]), 'ERRNO(1)', 'ADDR_NO_RANDOMIZE with a high bit')
  t.equal(verdict('clone', [(1n << 32n) | 0x10000000n | SIGCHLD]), 'ERRNO(1)', 'CLONE_NEWUSER with a high bit')
  t.equal(verdict('clone', [SIGCHLD]), 'ALLOW')
  t.equal(verdict('clone', [CLONE_THREAD_FLAGS]), 'ALLOW')
  for (const flag of namespaceFlags) t.equal(verdict('clone', [flag | SIGCHLD]), 'ERRNO(1)', `clone 0x${flag.toString(16)}`)
  for (const persona of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn]) t.equal(verdict('personality', [persona]), 'ALLOW', `personality 0x${persona.toString(16)}`)
  for (const persona of [0x40000n, 1n, 0x20009n]) t.equal(verdict('personality', [persona]), 'ERRNO(1)', `personality 0x${persona.toString(16)}`)
  for (const name of ['mount', 'unshare', 'setns', 'bpf', 'kexec_load', 'io_uring_setup', 'keyctl', 'userfaultfd', 'reboot'])
    t.equal(verdict(name), 'ERRNO(1)', name)
  for (const name of ['ptrace', 'chroot', 'arch_prctl', 'modify_ldt', 'mkdir', 'execve', 'uretprobe']) t.equal(verdict(name), 'ALLOW', name)
})
