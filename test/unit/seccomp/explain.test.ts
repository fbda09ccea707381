import {readFileSync} from 'node:fs'
import t from 'tap'
import {DOCKER_DEFAULT_CAPABILITIES} from '../../../src/capabilities.js'
import {describeCondition, explainSyscall, formatVerdict} from '../../../src/seccomp/explain.js'
import {parseProfile} from '../../../src/seccomp/profile.js'
import {resolvePolicy} from '../../../src/seccomp/resolve.js'

const TEMPLATE = new URL('../../../templates/seccomp/default.json', import.meta.url).pathname
const {profile} = parseProfile(readFileSync(TEMPLATE, 'utf8'), {file: TEMPLATE})
const policy = resolvePolicy(profile, {arch: 'x86_64', capabilities: DOCKER_DEFAULT_CAPABILITIES, kernel: {major: 6, minor: 18}})
const labelOf = (name: string) => profile.syscalls.find(rule => rule.names.includes(name))!.index

t.test('an allowed syscall names the rule that allows it', async t => {
  const explanation = explainSyscall(policy, 'getpid')
  t.equal(explanation.nr, 39)
  t.same(explanation.verdict, {action: 'SCMP_ACT_ALLOW'})
  t.equal(explanation.decidedBy, `syscalls[${labelOf('getpid')}] ("fork")`)
  t.same(explanation.dropped, [])
})

t.test('a denied syscall says which rules would have allowed it, and why they do not apply', async t => {
  const explanation = explainSyscall(policy, 'mount')
  t.equal(formatVerdict(explanation.verdict!), 'SCMP_ACT_ERRNO(1)')
  t.equal(explanation.decidedBy, undefined)
  t.match(explanation.reason, /default action/)
  t.same(
    explanation.dropped.map(rule => rule.reason),
    ['includes.caps: the app lacks CAP_SYS_ADMIN'],
  )
})

t.test('argument rules are evaluated against the given arguments', async t => {
  const thread = explainSyscall(policy, 'clone', [0x003d0f00n])
  t.same(thread.verdict, {action: 'SCMP_ACT_ALLOW'})
  t.match(thread.reason, /matches the arguments \(\(u32\)arg0 & 0x7e020000 == 0x0\)/)
  const namespace = explainSyscall(policy, 'clone', [0x04000000n])
  t.same(namespace.verdict, {action: 'SCMP_ACT_ERRNO', errno: 1})
  t.match(namespace.reason, /no rule matches the arguments/)
  t.equal(namespace.rules.length, 1)
  t.same(
    namespace.dropped.map(rule => rule.reason),
    ['includes.caps: the app lacks CAP_SYS_ADMIN'],
  )

  const socket = explainSyscall(policy, 'socket', [38])
  t.same(socket.verdict, {action: 'SCMP_ACT_ERRNO', errno: 1})
  t.same(socket.rules[0].conditions, ['(u32)arg0 < 38', '(u32)arg0 == 39', '(u32)arg0 > 40'], "socket's family is an int: compared on its low 32 bits")
  const vsock = explainSyscall(policy, 'socket', [(1n << 32n) | 40n])
  t.same(vsock.verdict, {action: 'SCMP_ACT_ERRNO', errno: 1}, 'a high bit does not turn AF_VSOCK into a family above 40')
  t.match(socket.rules[0].note, /alternatives/)
})

t.test("clone3 answers ENOSYS by its own rule; newer syscalls by runc's", async t => {
  const clone3 = explainSyscall(policy, 'clone3')
  t.equal(formatVerdict(clone3.verdict!), 'SCMP_ACT_ERRNO(38)')
  t.match(clone3.decidedBy, /^syscalls\[\d+\] \("clone3"\)$/)
  const listns = explainSyscall(policy, 'listns')
  t.equal(formatVerdict(listns.verdict!), 'SCMP_ACT_ERRNO(38)')
  t.match(listns.reason, /470 is above 466, the highest syscall the profile names/)
})

t.test('names that are not syscalls here', async t => {
  t.same(explainSyscall(policy, 'chown32'), {syscall: 'chown32', reason: 'chown32 is not a syscall on x86_64', rules: [], dropped: []})
  t.match(explainSyscall(policy, 'frobnicate').reason, /not a syscall contain knows/)
})

t.test('conditions read naturally', async t => {
  t.equal(describeCondition({index: 1, op: 'SCMP_CMP_MASKED_EQ', value: 0xffn, valueTwo: 0x10n}), 'arg1 & 0xff == 0x10')
  t.equal(describeCondition({index: 0, op: 'SCMP_CMP_GE', value: 5n, valueTwo: 0n}), 'arg0 >= 5')
})
