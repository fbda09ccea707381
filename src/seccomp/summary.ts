/**
 * What `contain seccomp check` reports about a profile: per architecture, how many syscalls the
 * effective filter allows, denies, kills or leaves to the arguments; the rules includes/excludes
 * drop and why; unknown names; the compiled size. `contain seccomp explain`'s answer about one
 * syscall is syscall-report.ts. Everything down to "Entry points" is pure; the entry points read
 * the file and the host.
 */
import {performance} from 'node:perf_hooks'
import {capabilityNumber, resolveCapabilities, type CapabilityName} from '../capabilities.js'
import {defaultSeccompProfile, packageRoot} from '../paths.js'
import {profileFile} from './profile-file.js'
import {compileFilter} from './bpf.js'
import {formatVerdict} from './explain.js'
import {readProfile, ruleLabel, type KernelVersion, type ParsedProfile, type SeccompProfile} from './profile.js'
import {currentKernelVersion, resolvePolicy, syscallDecisions, verdictOf, type DroppedRule, type EffectivePolicy, type Verdict} from './resolve.js'
import {seccompArchOf} from './host.js'
import {isKnownSyscallName, SECCOMP_ARCHES, syscallTable, type SeccompArch} from './syscalls.js'

/** What a filter does with one syscall, as a word a person (and a test) can match on. */
export const Outcome = {
  allowed: 'allowed',
  /** Fails with an errno other than ENOSYS. */
  denied: 'denied',
  /** Fails with ENOSYS, as if the kernel lacked it: programs fall back. */
  enosys: 'enosys',
  killed: 'killed',
  /** SIGSYS to the thread. */
  trapped: 'trapped',
  /** Allowed and written to the audit log. */
  logged: 'logged',
  /** Handed to a ptrace tracer; without one it fails with ENOSYS. */
  traced: 'traced',
} as const
export type Outcome = (typeof Outcome)[keyof typeof Outcome]

const ENOSYS = 38

/** Syscall table entries by what the filter does with them; the numbers add up to `total`. */
export interface VerdictCounts {
  /** Entries in contain's syscall table for the arch. */
  total: number
  allowed: number
  denied: number
  /** `denied` by errno name: `{EPERM: 70}`. */
  deniedByErrno: Record<string, number>
  enosys: number
  /** Of `enosys`: numbers above the highest one the profile names (runc's stub), not a rule. */
  enosysNewerThanProfile: number
  killed: number
  trapped: number
  logged: number
  traced: number
  /** Decided by argument values (rules with `args` and no unconditional rule for the syscall). */
  conditional: number
}

export interface ArchSummary {
  arch: SeccompArch
  counts: VerdictCounts
  /** The syscalls counted as `conditional`, by name. */
  conditionalSyscalls: string[]
  /** Rules Docker's includes/excludes leave out for this arch and capability set, and why. */
  dropped: DroppedRule[]
  /** Names in kept rules that are syscalls elsewhere but not on this arch: ignored, as runc does. */
  absent: string[]
  /** Older ABIs of this arch the profile lists (SCMP_ARCH_X86, SCMP_ARCH_X32, SCMP_ARCH_ARM): contain kills their calls. */
  killedAbis: string[]
  /** Numbers above this answer ENOSYS (runc); undefined when there is no such stub. */
  enosysAbove?: number
  /** Rule conditions compared on their low 32 bits: the kernel reads these arguments as 32-bit values. */
  thirtyTwoBit: EffectivePolicy['thirtyTwoBit']
  /** Length of the compiled struct sock_filter[]. */
  instructions: number
  /** Resolving includes/excludes and compiling to BPF, in milliseconds. */
  compileMs: number
  /** From resolving: values of 32-bit arguments that do not fit in 32 bits (not errors under --strict: the filter is still exact). */
  warnings: string[]
}

export interface ProfileSummary {
  file: string
  defaultAction: Verdict
  /** The capability set includes/excludes `caps` were tested against. */
  capabilities: CapabilityName[]
  /** major.minor, for minKernel. */
  kernel: string
  /** The arch the filter is compiled for when contain launches on this host. */
  hostArch: SeccompArch
  /** Rules in the profile's `syscalls`. */
  rules: number
  architectures: ArchSummary[]
  /** Architectures the profile lists that contain never runs on or filters (SCMP_ARCH_MIPS64, SCMP_ARCH_S390, …). */
  otherArchitectures: string[]
  /** Names that are no syscall of any ABI: typos, or newer than contain's tables. */
  unknownSyscalls: Array<{rule: string; name: string}>
  /** Everything the parser warned about (includes the unknown names). */
  warnings: string[]
}

export interface SummaryInputs {
  capabilities: readonly CapabilityName[]
  kernel: KernelVersion
  /** The host's arch: the filter always covers it, whatever the profile lists (libseccomp's native arch). */
  hostArch: SeccompArch
  /** Only these arches; by default the ones the profile covers plus the host's. */
  arches?: readonly SeccompArch[]
  /** Clock for compileMs; tests pass a fake one. */
  now?: () => number
}

/** libseccomp's names for the arches contain filters. */
const SCMP_ARCH_NAMES: Record<string, SeccompArch | 'native'> = {
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_NATIVE: 'native',
}

/** Older ABIs each arch's kernel also runs (CONFIG_IA32_EMULATION, CONFIG_X86_X32_ABI, CONFIG_COMPAT). */
const COMPAT_ABIS: Record<SeccompArch, readonly string[]> = {
  x86_64: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  aarch64: ['SCMP_ARCH_ARM'],
}

/** Count what the effective filter does with every syscall table entry, per covered arch. */
export function summarizeProfile(parsed: ParsedProfile, inputs: SummaryInputs): ProfileSummary {
  const {profile, warnings} = parsed
  const now = inputs.now ?? (() => performance.now())
  const arches = inputs.arches ?? coveredArches(profile, inputs.hostArch)
  const architectures = arches.map(arch => summarizeArch(profile, arch, inputs, now))
  return {
    file: profile.file,
    defaultAction: verdictOf(profile.defaultAction, profile.defaultErrnoRet),
    capabilities: [...inputs.capabilities].sort((a, b) => capabilityNumber(a) - capabilityNumber(b)),
    kernel: `${inputs.kernel.major}.${inputs.kernel.minor}`,
    hostArch: inputs.hostArch,
    rules: profile.syscalls.length,
    architectures,
    otherArchitectures: listedArchitectures(profile).filter(name => SCMP_ARCH_NAMES[name] === undefined && !Object.values(COMPAT_ABIS).flat().includes(name)),
    unknownSyscalls: profile.syscalls.flatMap(rule => rule.names.filter(name => !isKnownSyscallName(name)).map(name => ({rule: ruleLabel(rule), name}))),
    warnings: [...warnings],
  }
}

/** The arches contain filters that the profile covers, and the host's, which libseccomp always filters. */
export function coveredArches(profile: SeccompProfile, hostArch: SeccompArch): SeccompArch[] {
  const covered = new Set<SeccompArch>([hostArch])
  const topLevel = profile.architectures.length > 0 ? profile.architectures : profile.archMap.map(entry => entry.architecture)
  for (const name of topLevel) {
    const arch = SCMP_ARCH_NAMES[name]
    if (arch !== undefined) covered.add(arch === 'native' ? hostArch : arch)
  }
  return SECCOMP_ARCHES.filter(arch => covered.has(arch))
}

function summarizeArch(profile: SeccompProfile, arch: SeccompArch, inputs: SummaryInputs, now: () => number): ArchSummary {
  const started = now()
  const policy = resolvePolicy(profile, {arch, capabilities: inputs.capabilities, kernel: inputs.kernel})
  const instructions = compileFilter(policy).length / 8
  const compileMs = now() - started

  const counts = emptyCounts()
  const conditionalSyscalls: string[] = []
  const decisions = syscallDecisions(policy)
  const table = syscallTable(arch)
  for (const [nr, name] of [...table.byNumber].sort(([a], [b]) => a - b)) {
    counts.total++
    const decision = decisions.get(nr)
    if (decision && !decision.unconditional) {
      counts.conditional++
      conditionalSyscalls.push(name)
      continue
    }
    const newer = !decision && policy.enosysAbove !== undefined && nr > policy.enosysAbove
    const verdict = decision?.unconditional?.verdict ?? (newer ? {action: 'SCMP_ACT_ERRNO' as const, errno: ENOSYS} : policy.defaultVerdict)
    const outcome = outcomeOf(verdict)
    counts[outcome]++
    if (outcome === 'denied') counts.deniedByErrno[errnoName(verdict.errno!)] = (counts.deniedByErrno[errnoName(verdict.errno!)] ?? 0) + 1
    if (newer) counts.enosysNewerThanProfile++
  }

  return {
    arch,
    counts,
    conditionalSyscalls,
    dropped: policy.dropped,
    absent: [...new Set(policy.absent.map(entry => entry.name).filter(isKnownSyscallName))],
    killedAbis: policy.architectures.filter(name => COMPAT_ABIS[arch].includes(name)),
    enosysAbove: policy.enosysAbove,
    thirtyTwoBit: policy.thirtyTwoBit,
    instructions,
    compileMs,
    warnings: policy.warnings,
  }
}

function emptyCounts(): VerdictCounts {
  return {total: 0, allowed: 0, denied: 0, deniedByErrno: {}, enosys: 0, enosysNewerThanProfile: 0, killed: 0, trapped: 0, logged: 0, traced: 0, conditional: 0}
}

/** Top-level and sub-architectures, as the profile spells them. */
function listedArchitectures(profile: SeccompProfile): string[] {
  return [...new Set([...profile.architectures, ...profile.archMap.flatMap(entry => [entry.architecture, ...entry.subArchitectures])])]
}

export function outcomeOf(verdict: Verdict): Outcome {
  switch (verdict.action) {
    case 'SCMP_ACT_ALLOW':
      return Outcome.allowed
    case 'SCMP_ACT_ERRNO':
      return verdict.errno === ENOSYS ? Outcome.enosys : Outcome.denied
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
    case 'SCMP_ACT_KILL_PROCESS':
      return Outcome.killed
    case 'SCMP_ACT_TRAP':
      return Outcome.trapped
    case 'SCMP_ACT_LOG':
      return Outcome.logged
    case 'SCMP_ACT_TRACE':
      return Outcome.traced
  }
}

/** `allowed`, `denied: fails with EPERM`: what the app sees, then the action as the profile spells it. */
export function describeVerdict(verdict: Verdict): string {
  const spelled = formatVerdict(verdict)
  switch (verdict.action) {
    case 'SCMP_ACT_ALLOW':
      return `allowed (${spelled})`
    case 'SCMP_ACT_ERRNO':
      if (verdict.errno === 0) return `skipped: returns 0 without running (${spelled})`
      if (verdict.errno === ENOSYS) return `denied: fails with ENOSYS, as on a kernel without it (${spelled})`
      return `denied: fails with ${errnoName(verdict.errno!)} (${spelled})`
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return `killed: the thread dies with SIGSYS (${spelled})`
    case 'SCMP_ACT_KILL_PROCESS':
      return `killed: the process dies with SIGSYS (${spelled})`
    case 'SCMP_ACT_TRAP':
      return `trapped: the thread gets SIGSYS (${spelled})`
    case 'SCMP_ACT_LOG':
      return `allowed and logged (${spelled})`
    case 'SCMP_ACT_TRACE':
      return `traced: a ptrace tracer decides, without one it fails with ENOSYS (${spelled})`
  }
}

/** asm-generic/errno*.h, which x86_64 and aarch64 share; index = errno. */
const ERRNO_NAMES = (
  '- EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT ENOTBLK EBUSY EEXIST EXDEV ' +
  'ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ' +
  'ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY ELOOP - ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH ENOCSI EL2HLT EBADE ' +
  'EBADR EXFULL ENOANO EBADRQC EBADSLT - EBFONT ENOSTR ENODATA ETIME ENOSR ENONET ENOPKG EREMOTE ENOLINK EADV ESRMNT ECOMM ' +
  'EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW ENOTUNIQ EBADFD EREMCHG ELIBACC ELIBBAD ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ' +
  'ESTRPIPE EUSERS ENOTSOCK EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT EOPNOTSUPP ' +
  'EPFNOSUPPORT EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET ECONNABORTED ECONNRESET ENOBUFS EISCONN ' +
  'ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT ECONNREFUSED EHOSTDOWN EHOSTUNREACH EALREADY EINPROGRESS ESTALE EUCLEAN ENOTNAM ' +
  'ENAVAIL EISNAM EREMOTEIO EDQUOT ENOMEDIUM EMEDIUMTYPE ECANCELED ENOKEY EKEYEXPIRED EKEYREVOKED EKEYREJECTED EOWNERDEAD ' +
  'ENOTRECOVERABLE ERFKILL EHWPOISON'
).split(' ')

/** `EPERM` for 1; `errno 4000` when the number has no name. */
export function errnoName(errno: number): string {
  const name = ERRNO_NAMES[errno]
  return name === undefined || name === '-' ? `errno ${errno}` : name
}

/** Human-readable summary for `contain seccomp check`. */
export function formatSummary(summary: ProfileSummary): string {
  const lines = [
    `${summary.file}: valid`,
    `  ${summary.rules} rules; default action: ${describeVerdict(summary.defaultAction)}`,
    `  capabilities: ${summary.capabilities.length === 0 ? '(none)' : summary.capabilities.map(cap => cap.slice(4)).join(', ')}; kernel ${summary.kernel}`,
  ]
  for (const arch of summary.architectures) {
    const {counts} = arch
    lines.push('', `${arch.arch}${arch.arch === summary.hostArch ? ' (this host)' : ''}: ${counts.total} syscalls`)
    const row = (label: string, count: number, detail = '') => {
      if (count > 0) lines.push(`  ${label.padEnd(12)}${String(count).padStart(4)}${detail ? `  ${detail}` : ''}`)
    }
    row('allowed', counts.allowed)
    row(
      'denied',
      counts.denied,
      Object.entries(counts.deniedByErrno)
        .sort(([, a], [, b]) => b - a)
        .map(([name, count]) => `${name} ${count}`)
        .join(', '),
    )
    row('ENOSYS', counts.enosys, counts.enosysNewerThanProfile > 0 ? `${counts.enosysNewerThanProfile} newer than the profile (above ${arch.enosysAbove})` : '')
    row('killed', counts.killed)
    row('trapped', counts.trapped)
    row('logged', counts.logged)
    row('traced', counts.traced)
    row('conditional', counts.conditional, `decided by arguments: ${arch.conditionalSyscalls.join(', ')}`)
    lines.push(`  filter: ${arch.instructions} BPF instructions, compiled in ${arch.compileMs.toFixed(1)} ms`)
    if (arch.thirtyTwoBit.length > 0) lines.push(`  ${describeThirtyTwoBit(arch.thirtyTwoBit)}`)
    for (const warning of arch.warnings) lines.push(`  warning: ${warning}`)
    if (arch.killedAbis.length > 0) lines.push(`  ${arch.killedAbis.join(', ')} calls are killed: contain filters the native ABI only`)
    if (arch.dropped.length > 0) {
      lines.push(`  rules left out (${arch.dropped.length}):`)
      for (const rule of arch.dropped) lines.push(`    ${rule.label}: ${rule.reason}`)
    }
    if (arch.absent.length > 0) lines.push(`  ${arch.absent.length} names are not syscalls on ${arch.arch} and are ignored: ${abbreviate(arch.absent, 8)}`)
  }
  if (summary.otherArchitectures.length > 0) {
    lines.push('', `also lists ${summary.otherArchitectures.join(', ')}: contain runs on x86_64 and aarch64 only`)
  }
  if (summary.warnings.length > 0) {
    lines.push('', `warnings (${summary.warnings.length}; --strict makes them errors):`)
    for (const warning of summary.warnings) lines.push(`  ${warning}`)
  }
  return lines.join('\n')
}

/** The one line `check` prints about 32-bit comparisons: which arguments, and why. */
export function describeThirtyTwoBit(conditions: EffectivePolicy['thirtyTwoBit']): string {
  const argumentsCompared = [...new Set(conditions.map(({name, index}) => `${name} arg${index}`))]
  return `compared on their low 32 bits, all the kernel reads of them (Docker compares 64, so a high bit slips past its rules): ${argumentsCompared.join(', ')}`
}

export function abbreviate(names: readonly string[], max: number): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, … (+${names.length - max} more)`
}

// ---------------------------------------------------------------------------------------------
// Entry points the commands call: they read the profile file and the host, the rest is pure.

/** `default` is contain's template; anything else is a path (`unconfined` too: there is no profile to check). */
export function profilePath(profile: string, root: string = packageRoot()): string {
  return profileFile(profile, defaultSeccompProfile(root)) ?? profile
}

export interface SeccompCommandOptions {
  /** A path, or `default`. */
  profile: string
  capAdd?: readonly string[]
  capDrop?: readonly string[]
  privileged?: boolean
  /** Unknown syscall and arch names are errors instead of warnings. */
  strict?: boolean
  /** This host's unless given. */
  arch?: SeccompArch
  kernel?: KernelVersion
}

/** `contain seccomp check`: validate the profile (FileError on the first problem) and summarize it. */
export async function checkProfile(options: SeccompCommandOptions): Promise<ProfileSummary> {
  const capabilities = resolveCapabilities({add: options.capAdd, drop: options.capDrop, privileged: options.privileged})
  const parsed = await readProfile(profilePath(options.profile), {strict: options.strict})
  return summarizeProfile(parsed, {capabilities, kernel: options.kernel ?? currentKernelVersion(), hostArch: options.arch ?? seccompArchOf()})
}
