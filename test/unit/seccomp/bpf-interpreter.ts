/**
 * A classic-BPF interpreter for seccomp filters, so tests check verdicts rather than bytes.
 * It accepts what the kernel's checker accepts (forward jumps inside the program, aligned loads
 * inside seccomp_data, a return at the end) and throws on anything else.
 */

export interface SeccompData {
  nr: number
  arch: number
  instructionPointer?: bigint
  /** Up to six 64-bit arguments; missing ones are 0. */
  args?: ReadonlyArray<bigint | number>
}

export interface Instruction {
  code: number
  jt: number
  jf: number
  k: number
}

const SECCOMP_DATA_SIZE = 64
const MAX_INSTRUCTIONS = 4096

export function decodeFilter(filter: Buffer): Instruction[] {
  if (filter.length === 0 || filter.length % 8 !== 0) throw new Error(`filter length ${filter.length} is not a whole number of instructions`)
  const program: Instruction[] = []
  for (let offset = 0; offset < filter.length; offset += 8) {
    program.push({code: filter.readUInt16LE(offset), jt: filter.readUInt8(offset + 2), jf: filter.readUInt8(offset + 3), k: filter.readUInt32LE(offset + 4)})
  }
  return program
}

/** The checks the kernel makes before it accepts a seccomp filter (bpf_check_classic, seccomp_check_filter). */
export function validateFilter(filter: Buffer): Instruction[] {
  const program = decodeFilter(filter)
  if (program.length > MAX_INSTRUCTIONS) throw new Error(`${program.length} instructions, the kernel accepts ${MAX_INSTRUCTIONS}`)
  program.forEach((instruction, pc) => {
    const inside = (distance: number) => pc + 1 + distance < program.length
    switch (instruction.code) {
      case 0x20: // ld [k]
        if (instruction.k % 4 !== 0 || instruction.k + 4 > SECCOMP_DATA_SIZE) throw new Error(`pc ${pc}: load outside seccomp_data (${instruction.k})`)
        break
      case 0x05: // ja
        if (!inside(instruction.k)) throw new Error(`pc ${pc}: ja leaves the program`)
        break
      case 0x15:
      case 0x25:
      case 0x35:
      case 0x45:
        if (!inside(instruction.jt) || !inside(instruction.jf)) throw new Error(`pc ${pc}: jump leaves the program`)
        break
      case 0x54: // and
      case 0x06: // ret k
      case 0x16: // ret a
        break
      default:
        throw new Error(`pc ${pc}: opcode 0x${instruction.code.toString(16)} is not used by seccomp filters here`)
    }
  })
  const last = program.at(-1)!.code
  if (last !== 0x06 && last !== 0x16) throw new Error('the program does not end with a return')
  return program
}

/** Run the filter on one syscall and return the 32-bit SECCOMP_RET_* value. */
export function runFilter(filter: Buffer | Instruction[], data: SeccompData): number {
  const program = Buffer.isBuffer(filter) ? validateFilter(filter) : filter
  const memory = seccompData(data)
  let accumulator = 0
  for (let pc = 0; pc < program.length; pc++) {
    const {code, jt, jf, k} = program[pc]
    switch (code) {
      case 0x20:
        accumulator = memory.readUInt32LE(k)
        break
      case 0x54:
        accumulator = (accumulator & k) >>> 0
        break
      case 0x05:
        pc += k
        break
      case 0x15:
        pc += accumulator === k ? jt : jf
        break
      case 0x25:
        pc += accumulator > k ? jt : jf
        break
      case 0x35:
        pc += accumulator >= k ? jt : jf
        break
      case 0x45:
        pc += (accumulator & k) !== 0 ? jt : jf
        break
      case 0x06:
        return k >>> 0
      case 0x16:
        return accumulator >>> 0
      default:
        throw new Error(`pc ${pc}: unknown opcode 0x${code.toString(16)}`)
    }
  }
  throw new Error('fell off the end of the program')
}

function seccompData({nr, arch, instructionPointer = 0n, args = []}: SeccompData): Buffer {
  const memory = Buffer.alloc(SECCOMP_DATA_SIZE)
  memory.writeUInt32LE(nr >>> 0, 0)
  memory.writeUInt32LE(arch >>> 0, 4)
  memory.writeBigUInt64LE(instructionPointer, 8)
  args.forEach((arg, index) => memory.writeBigUInt64LE(BigInt.asUintN(64, BigInt(arg)), 16 + 8 * index))
  return memory
}

/** Names for return values, so failing assertions read well. */
export function describeReturn(value: number): string {
  const data = value & 0xffff
  switch ((value & 0xffff0000) >>> 0) {
    case 0x7fff0000:
      return 'ALLOW'
    case 0x00050000:
      return `ERRNO(${data})`
    case 0x7ffc0000:
      return 'LOG'
    case 0x00030000:
      return 'TRAP'
    case 0x7ff00000:
      return `TRACE(${data})`
    case 0x80000000:
      return 'KILL_PROCESS'
    case 0:
      return 'KILL_THREAD'
    default:
      return `0x${value.toString(16)}`
  }
}
