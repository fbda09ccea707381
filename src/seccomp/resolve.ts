/**
 * From a profile to the policy that applies to this app on this host: Docker's includes/excludes
 * (moby profiles/seccomp/seccomp_linux.go setupSeccomp), then runc's rules for turning what is left
 * into filter rules (libcontainer/seccomp/seccomp_linux.go). Pure; the host facts come in as inputs.
 */
import type {CapabilityName} from '../capabilities.js'
import {
  actionErrno,
  ruleLabel,
  type KernelVersion,
  type SeccompAction,
  type SeccompArgCondition,
  type SeccompFlag,
  type SeccompProfile,
  type SeccompRule,
} from './profile.js'
import {argumentBits, fitsThirtyTwoBits, SIXTY_FOUR_BIT_ONLY, thirtyTwoBitArguments} from './argument-width.js'
import {syscallNumber, type SeccompArch} from './syscalls.js'

export interface ResolveInputs {
  arch: SeccompArch
  /** The app's capability set (resolveCapabilities): includes.caps / excludes.caps test it. */
  capabilities: readonly CapabilityName[]
  /** The running kernel, for minKernel; only major.minor count, as in Docker. */
  kernel: KernelVersion
  /**
   * `kernel` (the default): arguments the kernel reads as 32-bit are compared on their low 32 bits.
   * `64-bit`: every argument on all 64 bits, as libseccomp and so Docker do; for comparing with them.
   */
  argumentWidth?: 'kernel' | '64-bit'
}

/** An argument condition with the width the filter compares it at. */
export interface EffectiveCondition extends SeccompArgCondition {
  /** 32: the argument and the values are compared on their low 32 bits, as the kernel reads them. */
  bits: 32 | 64
}

/** What a filter returns: an action and, for ERRNO and TRACE, its code. */
export interface Verdict {
  action: SeccompAction
  errno?: number
}

/** One profile rule applied to one syscall on this arch. */
export interface EffectiveRule {
  /** Index in the profile's `syscalls`. */
  rule: number
  label: string
  name: string
  nr: number
  verdict: Verdict
  args: EffectiveCondition[]
  /** runc skips rules whose verdict is the default one (libseccomp refuses them); kept here for explain. */
  sameAsDefault: boolean
}

export interface DroppedRule {
  rule: number
  label: string
  names: string[]
  /** Why Docker leaves it out, e.g. `includes.caps: the app lacks CAP_SYS_ADMIN`. */
  reason: string
}

export interface EffectivePolicy {
  /** The profile file, for messages. */
  file: string
  arch: SeccompArch
  defaultVerdict: Verdict
  /** The profile's architectures for this host as Docker expands them; only the native one is filtered. */
  architectures: string[]
  flags: SeccompFlag[]
  /** Kept rules, one per (rule, syscall), in profile order. */
  rules: EffectiveRule[]
  dropped: DroppedRule[]
  /** Names in kept rules that have no number on this arch: ignored, as runc does. */
  absent: Array<{rule: number; label: string; name: string}>
  /** Conditions compared on 32 bits because the kernel reads that argument as 32-bit, with the declaration why. */
  thirtyTwoBit: Array<{rule: number; label: string; name: string; index: number; declaration: string}>
  /** Values of 32-bit arguments that no 32-bit value can equal; they are compared on their low 32 bits. */
  warnings: string[]
  /**
   * Numbers above this answer ENOSYS, so that syscalls newer than the profile fail the way an old
   * kernel would and programs fall back (runc's patchbpf). Undefined when runc adds no such stub:
   * a permissive default action, or a profile that names no syscall.
   */
  enosysAbove?: number
}

/** Docker matches includes/excludes `arches` against Go's name for the host arch. */
export const DOCKER_ARCH_NAMES: Record<SeccompArch, string> = {x86_64: 'amd64', aarch64: 'arm64'}
const SCMP_NATIVE_ARCH: Record<SeccompArch, string> = {x86_64: 'SCMP_ARCH_X86_64', aarch64: 'SCMP_ARCH_AARCH64'}

/** Actions runc treats as allowing, so it adds no ENOSYS stub (patchbpf isAllowAction). */
const PERMISSIVE_ACTIONS: ReadonlySet<SeccompAction> = new Set(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'])

export function resolvePolicy(profile: SeccompProfile, inputs: ResolveInputs): EffectivePolicy {
  const defaultVerdict = verdictOf(profile.defaultAction, profile.defaultErrnoRet)
  const rules: EffectiveRule[] = []
  const dropped: DroppedRule[] = []
  const absent: EffectivePolicy['absent'] = []
  const thirtyTwoBit: EffectivePolicy['thirtyTwoBit'] = []
  const warnings: string[] = []
  const widths = inputs.argumentWidth === '64-bit' ? SIXTY_FOUR_BIT_ONLY : thirtyTwoBitArguments(inputs.arch)

  for (const rule of profile.syscalls) {
    const label = ruleLabel(rule)
    const reason = whyDropped(rule, inputs)
    if (reason) {
      dropped.push({rule: rule.index, label, names: rule.names, reason})
      continue
    }
    const verdict = verdictOf(rule.action, rule.errnoRet)
    for (const name of rule.names) {
      const nr = syscallNumber(inputs.arch, name)
      if (nr === undefined) {
        absent.push({rule: rule.index, label, name})
        continue
      }
      const args = rule.args.map((condition): EffectiveCondition => ({...condition, bits: argumentBits(widths, name, condition.index)}))
      for (const index of new Set(args.filter(arg => arg.bits === 32).map(arg => arg.index))) {
        thirtyTwoBit.push({rule: rule.index, label, name, index, declaration: widths.declarations.get(name)!})
      }
      warnings.push(...unfitValues(label, name, args))
      rules.push({rule: rule.index, label, name, nr, verdict, args, sameAsDefault: sameVerdict(verdict, defaultVerdict)})
    }
  }

  // runc: the largest number any kept rule names, whatever its action; 0 means "none" there too.
  const highest = Math.max(0, ...rules.map(rule => rule.nr))
  const enosysAbove = PERMISSIVE_ACTIONS.has(profile.defaultAction) || highest === 0 ? undefined : highest

  return {
    file: profile.file,
    arch: inputs.arch,
    defaultVerdict,
    architectures: expandArchitectures(profile, inputs.arch),
    flags: profile.flags,
    rules,
    dropped,
    absent,
    thirtyTwoBit,
    warnings,
    enosysAbove,
  }
}

/** A value no 32-bit argument can equal is a mistake in the profile: say so, since only its low word counts. */
function unfitValues(label: string, name: string, args: readonly EffectiveCondition[]): string[] {
  return args
    .filter(arg => arg.bits === 32)
    .flatMap(arg =>
      (arg.op === 'SCMP_CMP_MASKED_EQ' ? [arg.value, arg.valueTwo] : [arg.value]).filter(value => !fitsThirtyTwoBits(value)).map(value => ({arg, value})),
    )
    .map(
      ({arg, value}) =>
        `${label}: ${name} arg${arg.index} is a 32-bit argument; 0x${value.toString(16)} does not fit in 32 bits, so only its low 32 bits are compared`,
    )
}

/** How one syscall is decided once the filter knows its number. */
export interface SyscallDecision {
  nr: number
  /** An unconditional rule decides alone: libseccomp lets the first one override any conditional rules. */
  unconditional?: EffectiveRule
  /** Otherwise tried in order; the first whose conditions all hold decides, else `fallback`. */
  alternatives: Array<{rule: EffectiveRule; conditions: EffectiveCondition[]}>
  fallback: Verdict
}

/** The decision for every syscall some kept rule names, keyed by number. */
export function syscallDecisions(policy: EffectivePolicy): Map<number, SyscallDecision> {
  const decisions = new Map<number, SyscallDecision>()
  for (const rule of policy.rules) {
    if (rule.sameAsDefault) continue
    let decision = decisions.get(rule.nr)
    if (!decision) {
      decision = {nr: rule.nr, alternatives: [], fallback: policy.defaultVerdict}
      decisions.set(rule.nr, decision)
    }
    if (decision.unconditional) continue
    if (rule.args.length === 0) {
      decision.unconditional = rule
      decision.alternatives = []
    } else {
      decision.alternatives.push(...alternativesOf(rule))
    }
  }
  return decisions
}

/**
 * runc: conditions on different arguments must all hold (one libseccomp rule); but if any argument
 * index repeats, every condition becomes a rule of its own, so any one of them is enough.
 */
function alternativesOf(rule: EffectiveRule): SyscallDecision['alternatives'] {
  const indexes = rule.args.map(arg => arg.index)
  const repeated = new Set(indexes).size !== indexes.length
  return repeated ? rule.args.map(arg => ({rule, conditions: [arg]})) : [{rule, conditions: rule.args}]
}

export function verdictOf(action: SeccompAction, errnoRet?: number): Verdict {
  const errno = actionErrno(action, errnoRet)
  // SCMP_ACT_KILL is libseccomp's old name for killing the thread.
  return errno === undefined ? {action: action === 'SCMP_ACT_KILL' ? 'SCMP_ACT_KILL_THREAD' : action} : {action, errno}
}

export function sameVerdict(a: Verdict, b: Verdict): boolean {
  return a.action === b.action && a.errno === b.errno
}

const ENOSYS = 38

/**
 * --seccomp-mode complain: every verdict that would stop or fail a call only logs it instead
 * (SECCOMP_RET_LOG), so the app runs as if unconfined and the kernel log names what the profile
 * denies. ENOSYS answers stay: they make programs fall back, they deny nothing.
 */
export function complainPolicy(policy: EffectivePolicy): EffectivePolicy {
  const logged = (verdict: Verdict): Verdict =>
    verdict.action === 'SCMP_ACT_ALLOW' || verdict.action === 'SCMP_ACT_LOG' || (verdict.action === 'SCMP_ACT_ERRNO' && verdict.errno === ENOSYS)
      ? verdict
      : {action: 'SCMP_ACT_LOG'}
  const defaultVerdict = logged(policy.defaultVerdict)
  return {
    ...policy,
    defaultVerdict,
    rules: policy.rules.map(rule => {
      const verdict = logged(rule.verdict)
      return {...rule, verdict, sameAsDefault: sameVerdict(verdict, defaultVerdict)}
    }),
  }
}

export {currentKernelVersion} from './host.js'

/** Docker's order: excludes (arch, caps, kernel) then includes (arch, caps, kernel); first reason wins. */
function whyDropped(rule: SeccompRule, inputs: ResolveInputs): string | undefined {
  const arch = DOCKER_ARCH_NAMES[inputs.arch]
  const has = (cap: CapabilityName) => inputs.capabilities.includes(cap)
  const {excludes, includes} = rule

  if (excludes.arches.includes(arch)) return `excludes.arches lists ${arch}`
  const excludedCap = excludes.caps.find(has)
  if (excludedCap) return `excludes.caps: the app has ${excludedCap}`
  if (excludes.minKernel && kernelAtLeast(inputs.kernel, excludes.minKernel)) {
    return `excludes.minKernel ${formatKernel(excludes.minKernel)}: the kernel is ${formatKernel(inputs.kernel)}`
  }
  if (includes.arches.length > 0 && !includes.arches.includes(arch)) return `includes.arches (${includes.arches.join(', ')}) does not list ${arch}`
  const missingCap = includes.caps.find(cap => !has(cap))
  if (missingCap) return `includes.caps: the app lacks ${missingCap}`
  if (includes.minKernel && !kernelAtLeast(inputs.kernel, includes.minKernel)) {
    return `includes.minKernel ${formatKernel(includes.minKernel)}: the kernel is ${formatKernel(inputs.kernel)}`
  }
  return undefined
}

function expandArchitectures(profile: SeccompProfile, arch: SeccompArch): string[] {
  if (profile.architectures.length > 0) return profile.architectures
  const entry = profile.archMap.find(candidate => candidate.architecture === SCMP_NATIVE_ARCH[arch])
  return entry ? [entry.architecture, ...entry.subArchitectures] : []
}

function kernelAtLeast(kernel: KernelVersion, minimum: KernelVersion): boolean {
  return kernel.major > minimum.major || (kernel.major === minimum.major && kernel.minor >= minimum.minor)
}

function formatKernel(version: KernelVersion): string {
  return `${version.major}.${version.minor}`
}
