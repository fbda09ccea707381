import t from 'tap'
import {compileDeviceProgram, deviceProgram, encodeProgram, Op} from '../../../src/devices/ebpf.js'
import {DEFAULT_DEVICE_RULES, type DeviceRule} from '../../../src/devices/rules.js'
import {decodeProgram, runDeviceProgram, type DeviceAccess} from './ebpf-interpreter.js'

/** What an allow-list means, written independently of the program: some rule covers the whole access. */
function allowedByRules(rules: readonly DeviceRule[], request: DeviceAccess): boolean {
  return rules.some(
    rule =>
      (rule.type === 'a' || rule.type === request.type) &&
      (rule.major === '*' || rule.major === request.major) &&
      (rule.minor === '*' || rule.minor === request.minor) &&
      [...request.access].every(letter => rule.access.includes(letter)),
  )
}

t.test("the instructions for one rule: prologue, the rule's tests jumping past it, then deny", async t => {
  const program = deviceProgram([{type: 'c', major: 10, minor: 229, access: 'rw'}])
  t.same(program, [
    // r2 = type (low 16 bits of access_type), r3 = access (high 16), r4 = major, r5 = minor
    {code: Op.LDX_MEM_W, dst: 2, src: 1, off: 0, imm: 0},
    {code: Op.ALU32_AND_K, dst: 2, src: 0, off: 0, imm: 0xffff},
    {code: Op.LDX_MEM_W, dst: 3, src: 1, off: 0, imm: 0},
    {code: Op.ALU32_RSH_K, dst: 3, src: 0, off: 0, imm: 16},
    {code: Op.LDX_MEM_W, dst: 4, src: 1, off: 4, imm: 0},
    {code: Op.LDX_MEM_W, dst: 5, src: 1, off: 8, imm: 0},
    // the rule: char device, access within rw, major 10, minor 229 -> return 1
    {code: Op.JNE_K, dst: 2, src: 0, off: 7, imm: 2},
    {code: Op.ALU32_MOV_X, dst: 1, src: 3, off: 0, imm: 0},
    {code: Op.ALU32_AND_K, dst: 1, src: 0, off: 0, imm: 6},
    {code: Op.JNE_X, dst: 1, src: 3, off: 4, imm: 0},
    {code: Op.JNE_K, dst: 4, src: 0, off: 3, imm: 10},
    {code: Op.JNE_K, dst: 5, src: 0, off: 2, imm: 229},
    {code: Op.ALU32_MOV_K, dst: 0, src: 0, off: 0, imm: 1},
    {code: Op.EXIT, dst: 0, src: 0, off: 0, imm: 0},
    // no rule matched
    {code: Op.ALU32_MOV_K, dst: 0, src: 0, off: 0, imm: 0},
    {code: Op.EXIT, dst: 0, src: 0, off: 0, imm: 0},
  ])
})

t.test('wildcards and full access leave their tests out', async t => {
  const [rule] = [deviceProgram([{type: 'c', major: 136, minor: '*', access: 'rwm'}]).slice(6, -2)]
  t.same(
    rule.map(instruction => instruction.code),
    [Op.JNE_K, Op.JNE_K, Op.ALU32_MOV_K, Op.EXIT],
    'type and major only',
  )
  const any = deviceProgram([{type: 'a', major: '*', minor: '*', access: 'm'}]).slice(6, -2)
  t.same(
    any.map(instruction => instruction.code),
    [Op.ALU32_MOV_X, Op.ALU32_AND_K, Op.JNE_X, Op.ALU32_MOV_K, Op.EXIT],
    'access only',
  )
})

t.test('struct bpf_insn bytes: code, dst in the low nibble and src in the high one, off, imm (little-endian)', async t => {
  const bytes = encodeProgram([
    {code: Op.JNE_X, dst: 1, src: 3, off: 4, imm: 0},
    {code: Op.JNE_K, dst: 5, src: 0, off: 2, imm: 229},
  ])
  t.same([...bytes], [0x5d, 0x31, 4, 0, 0, 0, 0, 0, 0x55, 0x05, 2, 0, 229, 0, 0, 0])
  t.equal(compileDeviceProgram(DEFAULT_DEVICE_RULES).length % 8, 0)
  t.same(decodeProgram(compileDeviceProgram(DEFAULT_DEVICE_RULES)), deviceProgram(DEFAULT_DEVICE_RULES), 'decodes back to the same instructions')
})

t.test("Docker's default set, run: exactly its devices open, any node can be made, nothing else", async t => {
  const program = compileDeviceProgram(DEFAULT_DEVICE_RULES)
  const verdict = (type: 'b' | 'c', major: number, minor: number, access: string) => runDeviceProgram(program, {type, major, minor, access})
  for (const [name, major, minor] of [
    ['null', 1, 3],
    ['zero', 1, 5],
    ['full', 1, 7],
    ['random', 1, 8],
    ['urandom', 1, 9],
    ['tty', 5, 0],
    ['console', 5, 1],
    ['ptmx', 5, 2],
    ['pts/0', 136, 0],
    ['pts/7', 136, 7],
  ] as const) {
    t.equal(verdict('c', major, minor, 'rw'), 1, `/dev/${name} opens for read and write`)
  }
  t.equal(verdict('b', 254, 0, 'r'), 0, 'a disk does not open for read')
  t.equal(verdict('b', 8, 0, 'w'), 0, 'a disk does not open for write')
  t.equal(verdict('b', 8, 0, 'm'), 1, "a disk node can be made (Docker's b *:* m)")
  t.equal(verdict('c', 1, 1, 'r'), 0, '/dev/mem does not open')
  t.equal(verdict('c', 10, 200, 'rw'), 0, '/dev/net/tun is not in the default set')
  t.equal(verdict('c', 10, 229, 'rw'), 0, '/dev/fuse is not in the default set')
  t.equal(verdict('b', 1, 3, 'rw'), 0, "a block device with null's numbers is not null")
  t.equal(verdict('c', 1, 3, 'rwm'), 1, 'all three at once on null')
})

t.test('the program means what the rules mean, for every access over a grid of devices', async t => {
  const rules: DeviceRule[] = [
    ...DEFAULT_DEVICE_RULES,
    {type: 'c', major: 10, minor: 229, access: 'rw'},
    {type: 'b', major: 7, minor: 0, access: 'r'},
    {type: 'c', major: 4, minor: '*', access: 'w'},
  ]
  const program = compileDeviceProgram(rules)
  let checked = 0
  for (const type of ['b', 'c'] as const) {
    for (const major of [0, 1, 4, 5, 7, 8, 10, 136, 254, 4095]) {
      for (const minor of [0, 1, 2, 3, 5, 7, 8, 9, 229, 2 ** 20 - 1]) {
        for (const access of ['r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm']) {
          const request = {type, major, minor, access}
          if (runDeviceProgram(program, request) !== (allowedByRules(rules, request) ? 1 : 0)) t.fail(`${type} ${major}:${minor} ${access}`)
          checked++
        }
      }
    }
  }
  t.pass(`${checked} accesses agree`)
  t.equal(runDeviceProgram(program, {type: 'b', major: 7, minor: 0, access: 'rw'}), 0, 'a read-only device refuses read+write')
})

t.test('an empty allow-list refuses everything', async t => {
  const program = compileDeviceProgram([])
  t.equal(decodeProgram(program).length, 8)
  t.equal(runDeviceProgram(program, {type: 'c', major: 1, minor: 3, access: 'r'}), 0)
})
