/**
 * Compile an effective policy to classic BPF: the `struct sock_filter[]` (8 bytes each) that
 * seccomp(2) loads. The native helper only hands these bytes to the kernel, so everything about
 * the verdicts is decided, and tested, here.
 *
 * Layout: check the arch (libseccomp's bad-arch action otherwise), reject x32 on x86_64, then a
 * binary search over the syscall number whose leaves return a verdict or test the arguments.
 *
 * About 430 lines for one reason: the assembler, the argument comparisons and the search tree emit
 * one program and share its labels and jump limits; the cache and its key are cache.ts.
 */
import type {CapabilityName} from '../capabilities.js'
import {FileError} from '../errors.js'
import {cacheFileContents, cachedFilterPath, filterHash, filterKey, MAX_INSTRUCTIONS, readCachedFilter, writeCachedFilter} from './cache.js'
export {MAX_INSTRUCTIONS} from './cache.js'
import {parseProfile, type KernelVersion} from './profile.js'
import {readProfileText} from './profile-file.js'
import {
  complainPolicy,
  currentKernelVersion,
  resolvePolicy,
  syscallDecisions,
  type EffectiveCondition,
  type EffectivePolicy,
  type SyscallDecision,
  type Verdict,
} from './resolve.js'
import {seccompArchOf} from './host.js'
import {AUDIT_ARCH, X32_SYSCALL_BIT, type SeccompArch} from './syscalls.js'

/** SECCOMP_RET_* (linux/seccomp.h); the low 16 bits carry the errno / tracer data. */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const

/** The kernel refuses longer programs (BPF_MAXINSNS). */

/** Classic BPF opcodes used here (linux/filter.h). */
export const BPF = {
  LD_W_ABS: 0x20, // A = *(u32 *)(seccomp_data + k)
  ALU_AND_K: 0x54, // A &= k
  JMP_JA: 0x05, // pc += k
  JMP_JEQ_K: 0x15, // pc += (A == k) ? jt : jf
  JMP_JGT_K: 0x25,
  JMP_JGE_K: 0x35,
  RET_K: 0x06, // return k
} as const

/** Offsets in struct seccomp_data; both supported arches are little-endian, so an argument's low word comes first. */
const DATA_NR = 0
const DATA_ARCH = 4
const argLowWord = (index: number) => 16 + 8 * index
const argHighWord = (index: number) => 16 + 8 * index + 4

const ENOSYS = 38
/** What libseccomp does with a call from an ABI the filter does not cover (SCMP_FLTATR_ACT_BADARCH default). */
const BAD_ARCH_VERDICT: Verdict = {action: 'SCMP_ACT_KILL_THREAD'}

export function returnValue(verdict: Verdict): number {
  const data = (verdict.errno ?? 0) & 0xffff
  switch (verdict.action) {
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET.ALLOW
    case 'SCMP_ACT_ERRNO':
      return SECCOMP_RET.ERRNO | data
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET.TRACE | data) >>> 0
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET.LOG
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET.TRAP
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET.KILL_PROCESS
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET.KILL_THREAD
  }
}

/** Compile the policy to sock_filter bytes. Throws FileError when the program would be too long for the kernel. */
export function compileFilter(policy: EffectivePolicy): Buffer {
  const asm = new Assembler()
  const badArch = returnValue(BAD_ARCH_VERDICT)

  asm.load(DATA_ARCH)
  const archOk = asm.label()
  asm.jump(BPF.JMP_JEQ_K, AUDIT_ARCH[policy.arch], {jt: archOk})
  asm.ret(badArch)
  asm.bind(archOk)
  asm.load(DATA_NR)

  let top = 0x1_0000_0000
  if (policy.arch === 'x86_64') {
    // x32 calls come with AUDIT_ARCH_X86_64 and bit 30 set. -1 is what a tracer uses to skip a
    // call, so libseccomp lets it reach the default action instead.
    const native = asm.label()
    const skipped = asm.label()
    asm.jump(BPF.JMP_JGE_K, X32_SYSCALL_BIT, {jf: native})
    asm.jump(BPF.JMP_JEQ_K, 0xffffffff, {jt: skipped})
    asm.ret(badArch)
    asm.bind(skipped)
    asm.ret(returnValue(policy.defaultVerdict))
    asm.bind(native)
    top = X32_SYSCALL_BIT
  }

  emitSearch(asm, numberRanges(policy, top))
  const program = asm.assemble()
  if (program.length / 8 > MAX_INSTRUCTIONS) {
    throw new FileError(policy.file, `the compiled seccomp filter has ${program.length / 8} instructions; the kernel accepts at most ${MAX_INSTRUCTIONS}`, {
      fix: 'merge rules that share an action, and replace long lists of argument values with ranges (SCMP_CMP_LT/GT) or masks',
    })
  }
  return program
}

// ---------------------------------------------------------------------------------------------
// The search over syscall numbers

type Leaf = {kind: 'return'; value: number} | {kind: 'arguments'; decision: SyscallDecision}
interface NumberRange {
  /** First number of the range; it ends where the next range starts. */
  from: number
  leaf: Leaf
}

/** Cut [0, top) into ranges that share a leaf; neighbours returning the same value are merged. */
function numberRanges(policy: EffectivePolicy, top: number): NumberRange[] {
  const defaultLeaf: Leaf = {kind: 'return', value: returnValue(policy.defaultVerdict)}
  const leafFrom = new Map<number, Leaf>([[0, defaultLeaf]])
  for (const decision of syscallDecisions(policy).values()) {
    if (decision.nr >= top) continue
    const {nr, unconditional} = decision
    leafFrom.set(nr, unconditional ? {kind: 'return', value: returnValue(unconditional.verdict)} : {kind: 'arguments', decision})
    if (nr + 1 < top && !leafFrom.has(nr + 1)) leafFrom.set(nr + 1, defaultLeaf)
  }
  // runc's rule: numbers above all the profile names are newer than it; answer ENOSYS.
  if (policy.enosysAbove !== undefined && policy.enosysAbove + 1 < top) {
    leafFrom.set(policy.enosysAbove + 1, {kind: 'return', value: returnValue({action: 'SCMP_ACT_ERRNO', errno: ENOSYS})})
  }

  const ranges: NumberRange[] = []
  for (const from of [...leafFrom.keys()].sort((a, b) => a - b)) {
    const leaf = leafFrom.get(from)!
    const previous = ranges[ranges.length - 1]
    const sameReturn = previous?.leaf.kind === 'return' && leaf.kind === 'return' && previous.leaf.value === leaf.value
    if (!sameReturn) ranges.push({from, leaf})
  }
  return ranges
}

/** A balanced binary search: each step is one `jge` on the syscall number still in A. */
function emitSearch(asm: Assembler, ranges: NumberRange[]): void {
  if (ranges.length === 1) {
    emitLeaf(asm, ranges[0].leaf)
    return
  }
  const middle = Math.floor(ranges.length / 2)
  const upper = asm.label()
  asm.jump(BPF.JMP_JGE_K, ranges[middle].from, {jt: upper})
  emitSearch(asm, ranges.slice(0, middle))
  asm.bind(upper)
  emitSearch(asm, ranges.slice(middle))
}

function emitLeaf(asm: Assembler, leaf: Leaf): void {
  if (leaf.kind === 'return') {
    asm.ret(leaf.value)
    return
  }
  for (const {rule, conditions} of leaf.decision.alternatives) {
    const nextAlternative = asm.label()
    for (const condition of conditions) emitCondition(asm, condition, nextAlternative)
    asm.ret(returnValue(rule.verdict))
    asm.bind(nextAlternative)
  }
  asm.ret(returnValue(leaf.decision.fallback))
}

/**
 * Fall through when the comparison holds, jump to `fail` otherwise. BPF sees 32-bit words: a 64-bit
 * comparison tests the high words first and the low words only when the high words are equal; a
 * 32-bit argument (one the kernel truncates) is compared on its low word alone, so a high bit set
 * by the caller cannot change the filter's answer without changing the kernel's.
 */
function emitCondition(asm: Assembler, condition: EffectiveCondition, fail: Label): void {
  if (condition.bits === 32) {
    emitLowWordCondition(asm, condition, fail)
    return
  }
  const high = (value: bigint) => Number(value >> 32n)
  const {index, value, op} = condition
  const pass = asm.label()

  switch (op) {
    case 'SCMP_CMP_EQ':
      asm.load(argHighWord(index))
      asm.jump(BPF.JMP_JEQ_K, high(value), {jf: fail})
      break
    case 'SCMP_CMP_NE':
      asm.load(argHighWord(index))
      asm.jump(BPF.JMP_JEQ_K, high(value), {jf: pass})
      break
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
      asm.load(argHighWord(index))
      asm.jump(BPF.JMP_JGT_K, high(value), {jt: pass})
      asm.jump(BPF.JMP_JEQ_K, high(value), {jf: fail})
      break
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE':
      asm.load(argHighWord(index))
      asm.jump(BPF.JMP_JGT_K, high(value), {jt: fail})
      asm.jump(BPF.JMP_JEQ_K, high(value), {jf: pass})
      break
    case 'SCMP_CMP_MASKED_EQ':
      // (arg & value) == valueTwo, word by word.
      asm.load(argHighWord(index))
      if (high(value) !== 0xffffffff) asm.and(high(value))
      asm.jump(BPF.JMP_JEQ_K, high(condition.valueTwo), {jf: fail})
      break
  }
  // The high words are equal (or, for MASKED_EQ, match): the low words decide.
  emitLowWordCondition(asm, condition, fail)
  asm.bind(pass)
}

/** The comparison on the argument's low word alone, unsigned, as the 64-bit one ends. */
function emitLowWordCondition(asm: Assembler, condition: EffectiveCondition, fail: Label): void {
  const low = (value: bigint) => Number(value & 0xffffffffn)
  const {index, value, op} = condition
  asm.load(argLowWord(index))
  switch (op) {
    case 'SCMP_CMP_EQ':
      asm.jump(BPF.JMP_JEQ_K, low(value), {jf: fail})
      break
    case 'SCMP_CMP_NE':
      asm.jump(BPF.JMP_JEQ_K, low(value), {jt: fail})
      break
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
      asm.jump(op === 'SCMP_CMP_GT' ? BPF.JMP_JGT_K : BPF.JMP_JGE_K, low(value), {jf: fail})
      break
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE':
      asm.jump(op === 'SCMP_CMP_LT' ? BPF.JMP_JGE_K : BPF.JMP_JGT_K, low(value), {jt: fail})
      break
    case 'SCMP_CMP_MASKED_EQ':
      if (low(value) !== 0xffffffff) asm.and(low(value))
      asm.jump(BPF.JMP_JEQ_K, low(condition.valueTwo), {jf: fail})
      break
  }
}

// ---------------------------------------------------------------------------------------------
// Assembler: instructions jump to labels; offsets are worked out at the end, and a conditional
// jump further than 255 instructions goes through an unconditional `ja` (32-bit offset) instead.

class Label {
  instruction?: Instruction
}

interface Instruction {
  code: number
  k: number
  jt?: Label
  jf?: Label
  /** For `ja`: where to go. */
  target?: Label
}

class Assembler {
  private readonly code: Instruction[] = []
  /** Labels waiting for the next instruction emitted. */
  private pending: Label[] = []

  label(): Label {
    return new Label()
  }

  /** The label will point at the next instruction emitted. */
  bind(label: Label): void {
    this.pending.push(label)
  }

  load(offset: number): void {
    this.emit({code: BPF.LD_W_ABS, k: offset})
  }

  and(mask: number): void {
    this.emit({code: BPF.ALU_AND_K, k: mask})
  }

  ret(value: number): void {
    this.emit({code: BPF.RET_K, k: value})
  }

  /** A conditional jump; a branch left out falls through to the next instruction. */
  jump(code: number, k: number, branches: {jt?: Label; jf?: Label}): void {
    const next = this.label()
    this.emit({code, k, jt: branches.jt ?? next, jf: branches.jf ?? next})
    this.bind(next)
  }

  assemble(): Buffer {
    if (this.pending.length > 0) throw new Error('seccomp assembler: a label points past the last instruction')
    while (this.insertLongJumps()) {
      // Each pass can push other jumps past 255; repeat until none is.
    }
    const positions = this.positions()
    const buffer = Buffer.alloc(this.code.length * 8)
    this.code.forEach((instruction, position) => {
      const distance = (label: Label | undefined) => (label ? positions.get(label.instruction!)! - position - 1 : 0)
      buffer.writeUInt16LE(instruction.code, position * 8)
      buffer.writeUInt8(distance(instruction.jt), position * 8 + 2)
      buffer.writeUInt8(distance(instruction.jf), position * 8 + 3)
      buffer.writeUInt32LE(instruction.target ? distance(instruction.target) : instruction.k >>> 0, position * 8 + 4)
    })
    return buffer
  }

  private emit(instruction: Instruction): void {
    for (const label of this.pending) label.instruction = instruction
    this.pending = []
    this.code.push(instruction)
  }

  private positions(): Map<Instruction, number> {
    return new Map(this.code.map((instruction, position) => [instruction, position]))
  }

  /** Route every too-long conditional branch through a `ja` placed right after the jump. */
  private insertLongJumps(): boolean {
    const positions = this.positions()
    let inserted = false
    for (let position = this.code.length - 1; position >= 0; position--) {
      const instruction = this.code[position]
      const longJumps: Instruction[] = []
      for (const branch of ['jt', 'jf'] as const) {
        const label = instruction[branch]
        if (!label || positions.get(label.instruction!)! - position - 1 <= 255) continue
        const trampoline: Instruction = {code: BPF.JMP_JA, k: 0, target: label}
        const viaTrampoline = new Label()
        viaTrampoline.instruction = trampoline
        instruction[branch] = viaTrampoline
        longJumps.push(trampoline)
      }
      if (longJumps.length > 0) {
        this.code.splice(position + 1, 0, ...longJumps)
        inserted = true
      }
    }
    return inserted
  }
}

// ---------------------------------------------------------------------------------------------
// The entry point the launch uses: profile file -> filter bytes, cached by content hash.

export interface CompileProfileOptions {
  /** The profile's path: read unless `text` is given, and named in every message. */
  file: string
  text?: string
  /** The app's capability set, for includes/excludes `caps`. */
  capabilities: readonly CapabilityName[]
  /** Defaults to this host's. */
  arch?: SeccompArch
  /** Defaults to the running kernel's. */
  kernel?: KernelVersion
  /** Unknown syscall names fail instead of warning. */
  strict?: boolean
  /** Log what the profile would deny instead of denying it (--seccomp-mode complain). */
  complain?: boolean
  /** Keep compiled filters here too, as `<hash>.bpf`, so the next launch skips the compile. */
  cacheDir?: string
}

export interface CompiledProfile {
  /** struct sock_filter[], ready for seccomp(SECCOMP_SET_MODE_FILTER). */
  filter: Buffer
  /** Names the cache file: a hash of the profile text and everything that changes the result. */
  hash: string
  cache: 'miss' | 'memory' | 'disk'
  /** From the compile; a disk-cache hit has none because the profile was not read again. */
  warnings: string[]
}

const memoryCache = new Map<string, {filter: Buffer; warnings: string[]}>()

/**
 * Profile -> filter bytes for this app on this host, cached by a hash of the text and the inputs.
 * `cacheDir` must be writable only by contain: a filter read from it is loaded as it is.
 */
export async function compileProfile(options: CompileProfileOptions): Promise<CompiledProfile> {
  const text = options.text ?? (await readProfileText(options.file))
  const arch = options.arch ?? seccompArchOf()
  const kernel = options.kernel ?? currentKernelVersion()
  const key = filterKey({text, arch, kernel, capabilities: options.capabilities, strict: Boolean(options.strict), complain: Boolean(options.complain)})
  const hash = filterHash(key)

  const inMemory = memoryCache.get(key)
  if (inMemory) return {filter: Buffer.from(inMemory.filter), hash, cache: 'memory', warnings: [...inMemory.warnings]}

  const cacheFile = options.cacheDir ? cachedFilterPath(options.cacheDir, hash) : undefined
  const onDisk = cacheFile ? readCachedFilter(cacheFile, key) : undefined
  if (onDisk) {
    memoryCache.set(key, {filter: onDisk, warnings: []})
    return {filter: Buffer.from(onDisk), hash, cache: 'disk', warnings: []}
  }

  const {filter, warnings} = compileProfileText(text, {...options, arch, kernel})
  memoryCache.set(key, {filter, warnings: [...warnings]})
  if (cacheFile) writeCachedFilter(cacheFile, cacheFileContents(filter, key))
  return {filter: Buffer.from(filter), hash, cache: 'miss', warnings: [...warnings]}
}

/** Profile text -> filter bytes, with no cache at all: the compile itself, for callers that keep their own. */
export function compileProfileText(
  text: string,
  options: Omit<CompileProfileOptions, 'text' | 'cacheDir'> & {arch: SeccompArch; kernel: KernelVersion},
): {filter: Buffer; warnings: string[]} {
  const {profile, warnings} = parseProfile(text, {file: options.file, strict: options.strict})
  const policy = resolvePolicy(profile, {arch: options.arch, capabilities: options.capabilities, kernel: options.kernel})
  return {filter: compileFilter(options.complain ? complainPolicy(policy) : policy), warnings}
}

/** Forget the in-memory cache (tests, and long-running processes that reload profiles). */
export function clearCompileCache(): void {
  memoryCache.clear()
}
