/**
 * What `contain seccomp explain` answers about one syscall: its verdict under the profile on this
 * host, the rule that decides and the rules that name it; with the checks of the names and
 * argument values a user types. Pure down to the entry point, which reads the profile and the host.
 */
import {resolveCapabilities, type CapabilityName} from '../capabilities.js'
import {InvalidValueError} from '../errors.js'
import {nearest} from '../suggest.js'
import {explainSyscall, formatVerdict, type Explanation} from './explain.js'
import {seccompArchOf} from './host.js'
import {readProfile, ruleLabel, type KernelVersion, type SeccompProfile} from './profile.js'
import {currentKernelVersion, resolvePolicy, syscallDecisions, type Verdict} from './resolve.js'
import {abbreviate, describeVerdict, outcomeOf, profilePath, type Outcome, type SeccompCommandOptions} from './summary.js'
import {allSyscallNames, isKnownSyscallName, type SeccompArch} from './syscalls.js'

// ---------------------------------------------------------------------------------------------
// Syscall names

/** Known names nearest by edit distance, nearest first, if near enough to be a typo. */
export function closestSyscallNames(name: string, max = 3): string[] {
  return nearest(name, allSyscallNames(), Math.max(1, Math.floor(name.length / 3))).slice(0, max)
}

/** Throws InvalidValueError with "did you mean" unless `name` is a syscall of some ABI. */
export function validateSyscallName(name: string, field = 'SYSCALL'): void {
  if (isKnownSyscallName(name)) return
  const suggestions = closestSyscallNames(name)
  const hint = suggestions.length > 0 ? `; did you mean ${suggestions.join(', ')}?` : ''
  throw new InvalidValueError(
    field,
    name,
    `unknown syscall${hint}`,
    suggestions.length > 0 ? `write ${suggestions[0]}` : 'use a name from syscalls(2), e.g. openat',
  )
}

/** `--arg 0=40` values -> argument list (missing ones are 0); index 0-5, value a 64-bit number. */
export function parseSyscallArgs(values: readonly string[], field = '--arg'): bigint[] {
  const args: bigint[] = []
  const seen = new Set<number>()
  for (const text of values) {
    const match = /^([0-5])=(.+)$/.exec(text.trim())
    let value: bigint | undefined
    try {
      value = match ? BigInt(match[2]) : undefined
    } catch {
      value = undefined
    }
    if (!match || value === undefined || value < -(2n ** 63n) || value >= 2n ** 64n) {
      throw new InvalidValueError(
        field,
        text,
        'must be N=VALUE, N an argument position from 0 to 5 and VALUE a 64-bit number',
        "write e.g. --arg 0=40 or --arg 1=0x80000 (negative values are taken as two's complement)",
      )
    }
    const index = Number(match[1])
    if (seen.has(index)) throw new InvalidValueError(field, text, `argument ${index} is given twice`, `pass --arg ${index}=VALUE once`)
    seen.add(index)
    while (args.length <= index) args.push(0n)
    args[index] = BigInt.asUintN(64, value)
  }
  return args
}

// ---------------------------------------------------------------------------------------------
// Explaining one syscall

export interface SyscallReport extends Explanation {
  arch: SeccompArch
  file: string
  capabilities: CapabilityName[]
  /** The argument values evaluated, as unsigned decimal strings (JSON has no 64-bit integers). */
  args: string[]
  outcome?: Outcome
  /** What decides: a profile rule, the default action, or runc's ENOSYS for numbers newer than the profile. */
  decider?: 'rule' | 'default action' | 'newer than the profile'
  /** The rule that decides, with its names and comment; absent when the default action or runc's ENOSYS stub does. */
  decidingRule?: {index: number; label: string; names: string[]; comment?: string}
  defaultAction: Verdict
}

export interface ReportInputs {
  capabilities: readonly CapabilityName[]
  kernel: KernelVersion
  arch: SeccompArch
  args?: readonly bigint[]
}

/** explainSyscall plus the deciding rule's names and comment, for the command's output. */
export function reportSyscall(profile: SeccompProfile, syscall: string, inputs: ReportInputs): SyscallReport {
  const policy = resolvePolicy(profile, {arch: inputs.arch, capabilities: inputs.capabilities, kernel: inputs.kernel})
  const args = inputs.args ?? []
  const explanation = explainSyscall(policy, syscall, args)
  const rule = explanation.decidedBy === undefined ? undefined : profile.syscalls.find(candidate => ruleLabel(candidate) === explanation.decidedBy)
  const nr = explanation.nr
  const newerThanProfile = nr !== undefined && policy.enosysAbove !== undefined && nr > policy.enosysAbove && !syscallDecisions(policy).has(nr)
  return {
    ...explanation,
    arch: inputs.arch,
    file: profile.file,
    capabilities: [...inputs.capabilities],
    args: args.map(String),
    outcome: explanation.verdict && outcomeOf(explanation.verdict),
    decider: explanation.nr === undefined ? undefined : rule ? 'rule' : newerThanProfile ? 'newer than the profile' : 'default action',
    decidingRule: rule && {index: rule.index, label: ruleLabel(rule), names: rule.names, comment: rule.comment},
    defaultAction: policy.defaultVerdict,
  }
}

/** Human-readable answer for `contain seccomp explain`. */
export function formatSyscallReport(report: SyscallReport): string {
  if (report.nr === undefined || report.verdict === undefined) return `${report.reason}: a program cannot call it here (profile ${report.file})`
  const lines = [`${report.syscall} (${report.arch} syscall ${report.nr}${formatArgs(report.args)}): ${describeVerdict(report.verdict)}`]
  if (report.decidingRule) {
    const rule = report.decidingRule
    lines.push(`  decided by ${rule.label}, which names ${abbreviate(rule.names, 8)}`)
    if (rule.comment) lines.push(`    comment: ${rule.comment}`)
  } else {
    lines.push(
      `  decided by ${report.decider === 'newer than the profile' ? "runc's rule for syscalls newer than the profile" : `the default action, ${formatVerdict(report.defaultAction)}`}`,
    )
  }
  lines.push(`  why: ${report.reason}`)
  if (report.rules.length > 0) {
    lines.push('  rules that name it, in the order they are tried:')
    for (const rule of report.rules) {
      const conditions = rule.conditions.length > 0 ? ` if ${rule.conditions.join(rule.note?.includes('alternatives') ? ' or ' : ' and ')}` : ''
      lines.push(`    ${rule.label}: ${formatVerdict(rule.verdict)}${conditions}${rule.note ? `; ${rule.note}` : ''}`)
    }
  }
  if (report.dropped.length > 0) {
    lines.push('  rules that name it but do not apply:')
    for (const rule of report.dropped) lines.push(`    ${rule.label}: ${rule.reason}`)
  }
  lines.push(
    `  profile: ${report.file}; capabilities: ${report.capabilities.length === 0 ? '(none)' : report.capabilities.map(cap => cap.slice(4)).join(', ')}`,
  )
  return lines.join('\n')
}

function formatArgs(args: readonly string[]): string {
  return args.length === 0 ? '' : `, ${args.map((value, index) => `arg${index}=${value}`).join(' ')}`
}

// ---------------------------------------------------------------------------------------------
// Entry point the command calls: it reads the profile file and the host.

/** `contain seccomp explain`: what the filter does with one syscall on this host, and which rule says so. */
export async function explainProfileSyscall(options: SeccompCommandOptions & {syscall: string; args?: readonly string[]}): Promise<SyscallReport> {
  validateSyscallName(options.syscall)
  const args = parseSyscallArgs(options.args ?? [])
  const capabilities = resolveCapabilities({add: options.capAdd, drop: options.capDrop, privileged: options.privileged})
  const {profile} = await readProfile(profilePath(options.profile), {strict: options.strict})
  return reportSyscall(profile, options.syscall, {capabilities, args, kernel: options.kernel ?? currentKernelVersion(), arch: options.arch ?? seccompArchOf()})
}
