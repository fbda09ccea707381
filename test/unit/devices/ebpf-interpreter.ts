/**
 * An interpreter for cgroup device programs (BPF_PROG_TYPE_CGROUP_DEVICE), decoded from the bytes
 * contain-init hands to the kernel, so tests check verdicts rather than instruction lists. It runs
 * the opcodes contain emits with the kernel's semantics (32-bit ALU ops zero the upper half,
 * jumps compare 64-bit registers against sign-extended immediates), and, as the verifier does,
 * throws on anything else: an unknown opcode, a read of an unset register or outside the 12-byte
 * context, a backward jump or one out of the program, and a program that can end without exit.
 */

export interface DeviceAccess {
  type: 'b' | 'c'
  major: number
  minor: number
  /** Some of r, w, m. */
  access: string
}

interface Decoded {
  code: number
  dst: number
  src: number
  off: number
  imm: number
}

export function decodeProgram(bytes: Buffer): Decoded[] {
  if (bytes.length === 0 || bytes.length % 8 !== 0) throw new Error(`program length ${bytes.length} is not a whole number of instructions`)
  const program: Decoded[] = []
  for (let at = 0; at < bytes.length; at += 8) {
    const regs = bytes.readUInt8(at + 1)
    program.push({code: bytes.readUInt8(at), dst: regs & 0xf, src: regs >> 4, off: bytes.readInt16LE(at + 2), imm: bytes.readInt32LE(at + 4)})
  }
  return program
}

const MASK32 = 0xffffffffn
const MASK64 = (1n << 64n) - 1n
const ACCESS_BITS: Record<string, number> = {m: 1, r: 2, w: 4}

/** Returns the program's verdict (1 allow, 0 deny) for one access. */
export function runDeviceProgram(bytes: Buffer, request: DeviceAccess): number {
  const program = decodeProgram(bytes)
  let accessBits = 0
  for (const letter of request.access) accessBits |= ACCESS_BITS[letter]
  const context = Buffer.alloc(12)
  context.writeUInt32LE(((accessBits << 16) | (request.type === 'b' ? 1 : 2)) >>> 0, 0)
  context.writeUInt32LE(request.major, 4)
  context.writeUInt32LE(request.minor, 8)
  // r1 holds the context pointer: only loads through it are allowed.
  const registers: Array<bigint | undefined> = Array.from({length: 11}, () => undefined)
  let contextIn: number | undefined = 1
  const read = (reg: number): bigint => {
    const value = registers[reg]
    if (value === undefined) throw new Error(`r${reg} is read before it is set`)
    return value
  }
  const set = (reg: number, value: bigint) => {
    if (reg === contextIn) contextIn = undefined
    registers[reg] = value & MASK64
  }
  const signExtend = (imm: number) => BigInt(imm) & MASK64
  for (let pc = 0; pc < program.length; pc++) {
    const {code, dst, src, off, imm} = program[pc]
    switch (code) {
      case 0x61: {
        if (src !== contextIn) throw new Error(`pc ${pc}: load through r${src}, which is not the context`)
        if (off < 0 || off + 4 > 12 || off % 4 !== 0) throw new Error(`pc ${pc}: load at ${off} outside bpf_cgroup_dev_ctx`)
        set(dst, BigInt(context.readUInt32LE(off)))
        break
      }
      case 0x54:
        set(dst, read(dst) & BigInt(imm >>> 0) & MASK32)
        break
      case 0x74:
        set(dst, ((read(dst) & MASK32) >> BigInt(imm & 31)) & MASK32)
        break
      case 0xb4:
        set(dst, BigInt(imm >>> 0))
        break
      case 0xbc:
        set(dst, read(src) & MASK32)
        break
      case 0x55:
      case 0x5d: {
        if (off < 0) throw new Error(`pc ${pc}: backward jump`)
        if (pc + 1 + off >= program.length) throw new Error(`pc ${pc}: jump out of the program`)
        const right = code === 0x55 ? signExtend(imm) : read(src)
        if (read(dst) !== right) pc += off
        break
      }
      case 0x95:
        return Number(read(0) & MASK32)
      default:
        throw new Error(`pc ${pc}: opcode 0x${code.toString(16)} is not one contain emits`)
    }
  }
  throw new Error('the program can end without exit')
}
