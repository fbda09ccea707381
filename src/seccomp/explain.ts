/**
 * `contain seccomp explain <syscall>`: which rule decides a syscall and what the app gets.
 * The same decisions the BPF compiler uses, evaluated here in plain code so they can be read.
 */
import type {SeccompArgCondition} from './profile.js'
import {syscallDecisions, type EffectiveCondition, type EffectivePolicy, type Verdict} from './resolve.js'
import {isKnownSyscallName, syscallNumber, X32_SYSCALL_BIT} from './syscalls.js'

export interface Evaluation {
  verdict: Verdict
  /** The rule that decided (`syscalls[17] ("clone")`), if one did. */
  decidedBy?: string
  /** One sentence saying why. */
  reason: string
}

export interface Explanation extends Partial<Evaluation> {
  syscall: string
  /** Undefined when the syscall does not exist on this arch. */
  nr?: number
  /** Kept rules that name the syscall, in the order they are tried. */
  rules: Array<{label: string; verdict: Verdict; conditions: string[]; note?: string}>
  /** Rules that name it but do not apply to this app or host, and why. */
  dropped: Array<{label: string; reason: string}>
}

const ENOSYS = 38

/** What the filter answers for syscall `nr` with these arguments (missing ones are 0). */
export function evaluateSyscall(policy: EffectivePolicy, nr: number, args: ReadonlyArray<bigint | number> = []): Evaluation {
  const number = nr >>> 0
  if (policy.arch === 'x86_64' && number >= X32_SYSCALL_BIT) {
    if (number === 0xffffffff) return {verdict: policy.defaultVerdict, reason: 'syscall -1 (a tracer skipping a call) gets the default action'}
    return {
      verdict: {action: 'SCMP_ACT_KILL_THREAD'},
      reason: 'x32 ABI calls are not filtered by contain, so they are killed, as libseccomp does for an architecture the filter lacks',
    }
  }

  const decision = syscallDecisions(policy).get(number)
  if (decision?.unconditional) {
    const rule = decision.unconditional
    return {verdict: rule.verdict, decidedBy: rule.label, reason: `${rule.label} decides it whatever the arguments`}
  }
  if (decision) {
    const values = Array.from({length: 6}, (_, index) => BigInt.asUintN(64, BigInt(args[index] ?? 0)))
    for (const {rule, conditions} of decision.alternatives) {
      if (conditions.every(condition => holds(condition, values[condition.index]))) {
        return {
          verdict: rule.verdict,
          decidedBy: rule.label,
          reason: `${rule.label} matches the arguments (${conditions.map(describeCondition).join(' and ')})`,
        }
      }
    }
    return {verdict: decision.fallback, reason: 'no rule matches the arguments, so the default action applies'}
  }
  if (policy.enosysAbove !== undefined && number > policy.enosysAbove) {
    return {
      verdict: {action: 'SCMP_ACT_ERRNO', errno: ENOSYS},
      reason: `${number} is above ${policy.enosysAbove}, the highest syscall the profile names: it answers ENOSYS so programs fall back as on an older kernel (runc's rule)`,
    }
  }
  return {verdict: policy.defaultVerdict, reason: 'no rule that applies names it, so the default action applies'}
}

/** Explain one syscall by name for `contain seccomp explain`. */
export function explainSyscall(policy: EffectivePolicy, syscall: string, args: ReadonlyArray<bigint | number> = []): Explanation {
  const nr = syscallNumber(policy.arch, syscall)
  const dropped = policy.dropped.filter(rule => rule.names.includes(syscall)).map(({label, reason}) => ({label, reason}))
  if (nr === undefined) {
    const reason = isKnownSyscallName(syscall) ? `${syscall} is not a syscall on ${policy.arch}` : `${syscall} is not a syscall contain knows`
    return {syscall, reason, rules: [], dropped}
  }

  const decision = syscallDecisions(policy).get(nr)
  const rules = policy.rules
    .filter(rule => rule.nr === nr)
    .map(rule => {
      let note: string | undefined
      if (rule.sameAsDefault) note = 'same as the default action, so runc leaves it out'
      else if (decision?.unconditional && decision.unconditional !== rule)
        note = `${decision.unconditional.label} decides this syscall without looking at arguments`
      else if (rule.args.length > 1 && new Set(rule.args.map(arg => arg.index)).size !== rule.args.length) {
        note = 'conditions on the same argument are alternatives: any one is enough (runc)'
      }
      return {label: rule.label, verdict: rule.verdict, conditions: rule.args.map(describeCondition), note}
    })
  return {syscall, nr, ...evaluateSyscall(policy, nr, args), rules, dropped}
}

/** `SCMP_ACT_ERRNO(1)`, `SCMP_ACT_ALLOW`. */
export function formatVerdict(verdict: Verdict): string {
  return verdict.errno === undefined ? verdict.action : `${verdict.action}(${verdict.errno})`
}

/** `arg0 & 0x7e020000 == 0x0`, `arg0 < 38`; `(u32)arg0 < 38` when only the low 32 bits are compared. */
export function describeCondition(condition: SeccompArgCondition & {bits?: 32 | 64}): string {
  const argument = condition.bits === 32 ? `(u32)arg${condition.index}` : `arg${condition.index}`
  const hex = (value: bigint) => `0x${value.toString(16)}`
  switch (condition.op) {
    case 'SCMP_CMP_MASKED_EQ':
      return `${argument} & ${hex(condition.value)} == ${hex(condition.valueTwo)}`
    case 'SCMP_CMP_EQ':
      return `${argument} == ${condition.value}`
    case 'SCMP_CMP_NE':
      return `${argument} != ${condition.value}`
    case 'SCMP_CMP_LT':
      return `${argument} < ${condition.value}`
    case 'SCMP_CMP_LE':
      return `${argument} <= ${condition.value}`
    case 'SCMP_CMP_GT':
      return `${argument} > ${condition.value}`
    case 'SCMP_CMP_GE':
      return `${argument} >= ${condition.value}`
  }
}

/** Unsigned comparison, as the filter makes it: on 64 bits (libseccomp's), or on the low 32 bits of both sides for a 32-bit argument. */
function holds(condition: EffectiveCondition, fullArgument: bigint): boolean {
  const width = (value: bigint) => (condition.bits === 32 ? BigInt.asUintN(32, value) : value)
  const argument = width(fullArgument)
  const value = width(condition.value)
  switch (condition.op) {
    case 'SCMP_CMP_EQ':
      return argument === value
    case 'SCMP_CMP_NE':
      return argument !== value
    case 'SCMP_CMP_LT':
      return argument < value
    case 'SCMP_CMP_LE':
      return argument <= value
    case 'SCMP_CMP_GT':
      return argument > value
    case 'SCMP_CMP_GE':
      return argument >= value
    case 'SCMP_CMP_MASKED_EQ':
      return (argument & value) === width(condition.valueTwo)
  }
}
