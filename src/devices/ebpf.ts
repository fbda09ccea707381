/**
 * The device allow-list as a cgroup v2 device program (BPF_PROG_TYPE_CGROUP_DEVICE), compiled in
 * TypeScript as the seccomp filter is, and loaded and attached by contain-init `enter`. cgroup v2
 * has no devices files: the kernel runs this program on every open and mknod of a device node by
 * a process in the cgroup, and refuses the access (EPERM) when it returns 0. runc and crun build
 * the same shape of program.
 *
 * The kernel passes `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }` in r1:
 * access_type's low 16 bits are the device type, its high 16 bits the access asked for.
 */
import type {DeviceRule} from './rules.js'

/** include/uapi/linux/bpf.h */
export const BPF_DEVCG_DEV_BLOCK = 1
export const BPF_DEVCG_DEV_CHAR = 2
export const BPF_DEVCG_ACC_MKNOD = 1
export const BPF_DEVCG_ACC_READ = 2
export const BPF_DEVCG_ACC_WRITE = 4

/** eBPF opcodes used here (class | op | source). */
export const Op = {
  /** r_dst = *(u32 *)(r_src + off) */
  LDX_MEM_W: 0x61,
  /** w_dst &= imm */
  ALU32_AND_K: 0x54,
  /** w_dst >>= imm */
  ALU32_RSH_K: 0x74,
  /** w_dst = imm */
  ALU32_MOV_K: 0xb4,
  /** w_dst = w_src */
  ALU32_MOV_X: 0xbc,
  /** if r_dst != imm goto +off */
  JNE_K: 0x55,
  /** if r_dst != r_src goto +off */
  JNE_X: 0x5d,
  EXIT: 0x95,
} as const

export interface Instruction {
  code: number
  dst: number
  src: number
  off: number
  imm: number
}

const ins = (code: number, dst: number, src: number, off: number, imm: number): Instruction => ({code, dst, src, off, imm})

/** Registers after the prologue. */
const TYPE = 2
const ACCESS = 3
const MAJOR = 4
const MINOR = 5
const SCRATCH = 1

const ACCESS_BITS: Record<string, number> = {m: BPF_DEVCG_ACC_MKNOD, r: BPF_DEVCG_ACC_READ, w: BPF_DEVCG_ACC_WRITE}

export function accessMask(access: string): number {
  let mask = 0
  for (const letter of access) mask |= ACCESS_BITS[letter] ?? 0
  return mask
}

/** One rule: each test that fails jumps past the rule's end; passing them all returns 1 (allow). */
function ruleBlock(rule: DeviceRule): Instruction[] {
  const block: Instruction[] = []
  if (rule.type !== 'a') block.push(ins(Op.JNE_K, TYPE, 0, 0, rule.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR))
  const mask = accessMask(rule.access)
  // The access asked for must be within the rule's: (asked & allowed) == asked.
  if (mask !== accessMask('rwm')) {
    block.push(ins(Op.ALU32_MOV_X, SCRATCH, ACCESS, 0, 0), ins(Op.ALU32_AND_K, SCRATCH, 0, 0, mask), ins(Op.JNE_X, SCRATCH, ACCESS, 0, 0))
  }
  if (rule.major !== '*') block.push(ins(Op.JNE_K, MAJOR, 0, 0, rule.major))
  if (rule.minor !== '*') block.push(ins(Op.JNE_K, MINOR, 0, 0, rule.minor))
  block.push(ins(Op.ALU32_MOV_K, 0, 0, 0, 1), ins(Op.EXIT, 0, 0, 0, 0))
  // A jump's offset counts from the next instruction: to the first one after the block.
  return block.map((instruction, index) =>
    instruction.code === Op.JNE_K || instruction.code === Op.JNE_X ? {...instruction, off: block.length - index - 1} : instruction,
  )
}

/** The program for an allow-list: every access no rule allows is refused. */
export function deviceProgram(rules: readonly DeviceRule[]): Instruction[] {
  const prologue = [
    ins(Op.LDX_MEM_W, TYPE, 1, 0, 0),
    ins(Op.ALU32_AND_K, TYPE, 0, 0, 0xffff),
    ins(Op.LDX_MEM_W, ACCESS, 1, 0, 0),
    ins(Op.ALU32_RSH_K, ACCESS, 0, 0, 16),
    ins(Op.LDX_MEM_W, MAJOR, 1, 4, 0),
    ins(Op.LDX_MEM_W, MINOR, 1, 8, 0),
  ]
  const deny = [ins(Op.ALU32_MOV_K, 0, 0, 0, 0), ins(Op.EXIT, 0, 0, 0, 0)]
  return [...prologue, ...rules.flatMap(ruleBlock), ...deny]
}

/** struct bpf_insn[], 8 bytes each, in this machine's (little-endian) byte order. */
export function encodeProgram(program: readonly Instruction[]): Buffer {
  const buffer = Buffer.alloc(program.length * 8)
  program.forEach((instruction, index) => {
    const at = index * 8
    buffer.writeUInt8(instruction.code, at)
    buffer.writeUInt8((instruction.src << 4) | instruction.dst, at + 1)
    buffer.writeInt16LE(instruction.off, at + 2)
    buffer.writeInt32LE(instruction.imm, at + 4)
  })
  return buffer
}

/** The program's bytes for a rule list, as contain-init loads it. */
export function compileDeviceProgram(rules: readonly DeviceRule[]): Buffer {
  return encodeProgram(deviceProgram(rules))
}
