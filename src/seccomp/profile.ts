/**
 * Docker's seccomp profile format (moby profiles/seccomp), read the way Docker and runc read it,
 * but stricter where a silent mistake would weaken the sandbox: unknown keys, unknown actions and
 * impossible values are errors that name the file, line, rule and field.
 *
 * About 430 lines for one reason: the format's types and the one reader that checks every field
 * of it belong together; the JSON scanner that finds positions is json-positions.ts.
 */
import {parseCapability, type CapabilityName} from '../capabilities.js'
import {FileError} from '../errors.js'
import {nearest} from '../suggest.js'
import type {KernelVersion} from './host.js'
import {readProfileText} from './profile-file.js'
import {JsonSyntaxError, lineAndColumn, parseJsonDocument, type JsonDocument, type JsonObject, type JsonValue} from './json-positions.js'
import {allSyscallNames, isKnownSyscallName} from './syscalls.js'

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_LOG',
] as const
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number]

export const SECCOMP_OPERATORS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const
export type SeccompOperator = (typeof SECCOMP_OPERATORS)[number]

/** Filter flags runc passes to seccomp(2). */
export const SECCOMP_FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] as const
export type SeccompFlag = (typeof SECCOMP_FLAGS)[number]

/** libseccomp's architecture names, as `architectures` and `archMap` use them. */
export const SCMP_ARCHES = [
  'SCMP_ARCH_NATIVE',
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
] as const

/** Arch names `includes.arches` / `excludes.arches` are matched against (Go's GOARCH spelling). */
const RULE_ARCHES = new Set([
  'amd64',
  'x86',
  'x32',
  'arm',
  'arm64',
  'mips',
  'mipsel',
  'mips64',
  'mips64n32',
  'mipsel64',
  'mipsel64n32',
  'mips3l64n32',
  'ppc',
  'ppc64',
  'ppc64le',
  's390',
  's390x',
  'riscv64',
  'loong64',
  'loongarch64',
  'parisc',
  'parisc64',
  'm68k',
  'sh',
  'sheb',
])

/** The kernel caps the errno a filter can return at MAX_ERRNO. */
const MAX_ERRNO = 4095

export interface SeccompArgCondition {
  /** Which syscall argument, 0-5. */
  index: number
  value: bigint
  /** Only SCMP_CMP_MASKED_EQ uses it: (arg & value) == valueTwo. */
  valueTwo: bigint
  op: SeccompOperator
}

export type {KernelVersion} from './host.js'

export interface RuleFilter {
  caps: CapabilityName[]
  arches: string[]
  minKernel?: KernelVersion
}

export interface SeccompRule {
  /** Position in the profile's `syscalls` array, so messages can say `syscalls[12]`. */
  index: number
  names: string[]
  action: SeccompAction
  errnoRet?: number
  args: SeccompArgCondition[]
  includes: RuleFilter
  excludes: RuleFilter
  comment?: string
}

export interface ArchMapEntry {
  architecture: string
  subArchitectures: string[]
}

export interface SeccompProfile {
  file: string
  defaultAction: SeccompAction
  defaultErrnoRet?: number
  architectures: string[]
  archMap: ArchMapEntry[]
  flags: SeccompFlag[]
  syscalls: SeccompRule[]
}

export interface ParseOptions {
  /** Named in every message. */
  file: string
  /** Unknown syscall and arch names are errors instead of warnings (crun's strict mode). */
  strict?: boolean
}

export interface ParsedProfile {
  profile: SeccompProfile
  /** Things that do not stop the launch but probably are not what the author meant. */
  warnings: string[]
}

/** Read and validate a profile file. */
export async function readProfile(file: string, options: Omit<ParseOptions, 'file'> = {}): Promise<ParsedProfile> {
  return parseProfile(await readProfileText(file), {...options, file})
}

/** Validate profile text; throws FileError on the first problem. */
export function parseProfile(text: string, options: ParseOptions): ParsedProfile {
  return new ProfileReader(text, options).read()
}

/** `syscalls[12] ("clone")`: how messages name a rule. */
export function ruleLabel(rule: Pick<SeccompRule, 'index' | 'names'>): string {
  return `syscalls[${rule.index}]${rule.names[0] === undefined ? '' : ` (${JSON.stringify(rule.names[0])})`}`
}

/** The return code an action carries: errnoRet, or EPERM as runc defaults ERRNO and TRACE to. */
export function actionErrno(action: SeccompAction, errnoRet: number | undefined): number | undefined {
  if (action !== 'SCMP_ACT_ERRNO' && action !== 'SCMP_ACT_TRACE') return undefined
  return errnoRet ?? 1
}

// ---------------------------------------------------------------------------------------------
// Validation

/** Where a problem is: the rule (if any), the field path inside it, and the JSON node for the line. */
interface Place {
  rule?: string
  field: string
  node?: object
  key?: string
}

class ProfileReader {
  private readonly document: JsonDocument
  private readonly warnings: string[] = []

  constructor(
    text: string,
    private readonly options: ParseOptions,
  ) {
    try {
      this.document = parseJsonDocument(text)
    } catch (error) {
      if (!(error instanceof JsonSyntaxError)) throw error
      const {line, column} = lineAndColumn(text, error.offset)
      throw new FileError(options.file, `invalid JSON: ${error.message}`, {
        line,
        column,
        fix: 'fix the JSON syntax at that position (a seccomp profile is plain JSON: no comments, no trailing commas)',
      })
    }
  }

  read(): ParsedProfile {
    const root = this.object(this.document.value, {field: '(top level)'})
    const top = {field: '', node: root}
    this.rejectUnknownKeys(root, ['defaultAction', 'defaultErrnoRet', 'architectures', 'archMap', 'syscalls', 'flags', 'listenerPath', 'listenerMetadata'], top)
    for (const key of ['listenerPath', 'listenerMetadata']) {
      if (root[key] !== undefined && root[key] !== null && root[key] !== '') {
        this.fail({field: key, node: root, key}, 'seccomp notify (a listener agent) is not supported by contain', `remove ${key}`)
      }
    }

    if (root.defaultAction === undefined || root.defaultAction === null || root.defaultAction === '') {
      this.fail({field: 'defaultAction', node: root}, 'is missing', 'set "defaultAction", e.g. "SCMP_ACT_ERRNO" to deny what the rules do not allow')
    }
    const defaultAction = this.action(root.defaultAction, {field: 'defaultAction', node: root, key: 'defaultAction'})
    const defaultErrnoRet = this.errnoRet(root.defaultErrnoRet, defaultAction, {field: 'defaultErrnoRet', node: root, key: 'defaultErrnoRet'})

    const architectures = this.stringList(root.architectures, {field: 'architectures', node: root, key: 'architectures'})
    architectures.forEach((arch, index) => this.scmpArch(arch, {field: `architectures[${index}]`, node: root, key: 'architectures'}))
    const archMap = this.list(root.archMap, {field: 'archMap', node: root, key: 'archMap'}).map((entry, index) => this.archMapEntry(entry, index))
    if (architectures.length > 0 && archMap.length > 0) {
      this.fail(
        {field: 'architectures', node: root, key: 'architectures'},
        'both "architectures" and "archMap" are set (Docker refuses this too)',
        'keep only one of them, usually "archMap"',
      )
    }

    const flags = this.stringList(root.flags, {field: 'flags', node: root, key: 'flags'}).map((flag, index) =>
      this.oneOf(flag, SECCOMP_FLAGS, {field: `flags[${index}]`, node: root, key: 'flags'}, 'seccomp filter flag'),
    )

    const syscalls = this.list(root.syscalls, {field: 'syscalls', node: root, key: 'syscalls'}).map((rule, index) => this.rule(rule, index))
    const profile: SeccompProfile = {file: this.options.file, defaultAction, defaultErrnoRet, architectures, archMap, flags, syscalls}
    return {profile, warnings: this.warnings}
  }

  private rule(value: JsonValue, index: number): SeccompRule {
    const label = `syscalls[${index}]${ruleFirstName(value)}`
    const node = this.object(value, {rule: label, field: '(rule)'})
    const at = (field: string, key = field): Place => ({rule: label, field, node, key})
    this.rejectUnknownKeys(node, ['names', 'name', 'action', 'errnoRet', 'args', 'comment', 'includes', 'excludes'], {rule: label, field: '', node})

    const hasName = node.name !== undefined && node.name !== null && node.name !== ''
    const hasNames = Array.isArray(node.names) && node.names.length > 0
    if (hasName && hasNames) {
      this.fail(at('name'), 'both "name" and "names" are set (Docker refuses this too)', 'move the name into "names" and delete "name"')
    }
    const names = hasName ? [this.string(node.name, at('name'))] : this.stringList(node.names, at('names'))
    if (names.length === 0) this.fail(at('names'), 'lists no syscalls', 'add the syscall names this rule is for to "names"')
    names.forEach((name, nameIndex) => this.syscallName(name, at(hasName ? 'name' : `names[${nameIndex}]`, hasName ? 'name' : 'names')))

    if (node.action === undefined || node.action === null) this.fail(at('action'), 'is missing', 'set "action", e.g. "SCMP_ACT_ALLOW"')
    const action = this.action(node.action, at('action'))
    const errnoRet = this.errnoRet(node.errnoRet, action, at('errnoRet'))
    const args = this.list(node.args, at('args')).map((arg, argIndex) => this.arg(arg, `args[${argIndex}]`, label))
    const comment = node.comment === undefined || node.comment === null || node.comment === '' ? undefined : this.string(node.comment, at('comment'))
    return {
      index,
      names,
      action,
      errnoRet,
      args,
      includes: this.filter(node.includes, label, 'includes'),
      excludes: this.filter(node.excludes, label, 'excludes'),
      comment,
    }
  }

  private arg(value: JsonValue, field: string, rule: string): SeccompArgCondition {
    const node = this.object(value, {rule, field})
    const at = (key: string): Place => ({rule, field: `${field}.${key}`, node, key})
    this.rejectUnknownKeys(node, ['index', 'value', 'valueTwo', 'op'], {rule, field, node})
    const index = node.index === undefined || node.index === null ? 0 : this.integer(node.index, at('index'))
    if (index < 0n || index > 5n) {
      this.fail(
        at('index'),
        `must be from 0 to 5, a syscall has at most six arguments (got ${index})`,
        'use the zero-based position of the argument: 0 is the first',
      )
    }
    if (node.op === undefined || node.op === null) this.fail(at('op'), 'is missing', 'set "op", e.g. "SCMP_CMP_EQ"')
    return {
      index: Number(index),
      value: this.uint64(node.value, at('value')),
      valueTwo: this.uint64(node.valueTwo, at('valueTwo')),
      op: this.oneOf(node.op, SECCOMP_OPERATORS, at('op'), 'comparison operator'),
    }
  }

  private filter(value: JsonValue | undefined, rule: string, field: 'includes' | 'excludes'): RuleFilter {
    if (value === undefined || value === null) return {caps: [], arches: []}
    const node = this.object(value, {rule, field})
    const at = (key: string, index?: number): Place => ({rule, field: `${field}.${key}${index === undefined ? '' : `[${index}]`}`, node, key})
    this.rejectUnknownKeys(node, ['caps', 'arches', 'minKernel'], {rule, field, node})
    const caps = this.stringList(node.caps, at('caps')).map((cap, index) => {
      try {
        return parseCapability(cap, 'capability')
      } catch {
        return this.fail(at('caps', index), `unknown capability ${JSON.stringify(cap)}`, 'use a name from capabilities(7), e.g. "CAP_SYS_ADMIN"')
      }
    })
    const arches = this.stringList(node.arches, at('arches'))
    arches.forEach((arch, index) => {
      if (!RULE_ARCHES.has(arch)) {
        this.warnOrFail(
          at('arches', index),
          `unknown architecture ${JSON.stringify(arch)}; the rule can never match it`,
          `use Go's names: ${[...RULE_ARCHES].slice(0, 6).join(', ')}, …`,
        )
      }
    })
    const minKernel =
      node.minKernel === undefined || node.minKernel === null || node.minKernel === '' ? undefined : this.kernelVersion(node.minKernel, at('minKernel'))
    return {caps, arches, minKernel}
  }

  private archMapEntry(value: JsonValue, index: number): ArchMapEntry {
    const field = `archMap[${index}]`
    const node = this.object(value, {field})
    const at = (key: string): Place => ({field: `${field}.${key}`, node, key})
    this.rejectUnknownKeys(node, ['architecture', 'subArchitectures'], {field, node})
    const architecture = this.scmpArch(this.string(node.architecture, at('architecture')), at('architecture'))
    const subArchitectures = this.stringList(node.subArchitectures, at('subArchitectures'))
    subArchitectures.forEach((arch, subIndex) => this.scmpArch(arch, {...at('subArchitectures'), field: `${field}.subArchitectures[${subIndex}]`}))
    return {architecture, subArchitectures}
  }

  private action(value: JsonValue | undefined, place: Place): SeccompAction {
    if (value === 'SCMP_ACT_NOTIFY') {
      this.fail(
        place,
        'SCMP_ACT_NOTIFY is not supported: contain runs no seccomp agent to answer notifications',
        'use SCMP_ACT_ERRNO to deny, or SCMP_ACT_LOG to allow and log',
      )
    }
    return this.oneOf(value, SECCOMP_ACTIONS, place, 'action')
  }

  private errnoRet(value: JsonValue | undefined, action: SeccompAction, place: Place): number | undefined {
    if (value === undefined || value === null) return undefined
    if (action !== 'SCMP_ACT_ERRNO' && action !== 'SCMP_ACT_TRACE') {
      this.fail(
        place,
        `only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return a code, and the action is ${action}`,
        `remove "${place.key}" or change the action to SCMP_ACT_ERRNO`,
      )
    }
    const max = action === 'SCMP_ACT_ERRNO' ? MAX_ERRNO : 0xffff
    const number = this.integer(value, place)
    if (number < 0n || number > BigInt(max)) {
      this.fail(place, `must be from 0 to ${max} (got ${number})`, 'use an errno number from errno(3), e.g. 1 for EPERM or 38 for ENOSYS')
    }
    return Number(number)
  }

  private kernelVersion(value: JsonValue, place: Place): KernelVersion {
    const text = this.string(value, place)
    const match = /^(\d+)\.(\d+)$/.exec(text)
    const version = match ? {major: Number(match[1]), minor: Number(match[2])} : undefined
    // Docker parses each part as an 8-bit number and rejects 0.0.
    if (!version || version.major > 255 || version.minor > 255 || (version.major === 0 && version.minor === 0)) {
      this.fail(place, `must be "<major>.<minor>" (got ${JSON.stringify(text)})`, 'write the kernel version as two numbers, e.g. "5.8"')
    }
    return version
  }

  private syscallName(name: string, place: Place): void {
    if (isKnownSyscallName(name)) return
    const suggestion = closest(name, allSyscallNames())
    this.warnOrFail(
      place,
      `unknown syscall ${JSON.stringify(name)}${suggestion ? ` (did you mean ${JSON.stringify(suggestion)}?)` : ''}; it is ignored, as runc and crun do`,
      suggestion ? `write ${JSON.stringify(suggestion)}` : 'check the name against syscalls(2)',
    )
  }

  private scmpArch(value: string, place: Place): string {
    return this.oneOf(value, SCMP_ARCHES, place, 'architecture')
  }

  private oneOf<T extends string>(value: JsonValue | undefined, allowed: readonly T[], place: Place, what: string): T {
    const text = this.string(value, place)
    if ((allowed as readonly string[]).includes(text)) return text as T
    const suggestion = closest(text, allowed)
    this.fail(place, `unknown ${what} ${JSON.stringify(text)}${suggestion ? `; did you mean ${suggestion}?` : ''}`, `use one of ${allowed.join(', ')}`)
  }

  private rejectUnknownKeys(node: JsonObject, known: readonly string[], place: Place): void {
    for (const key of Object.keys(node)) {
      if (known.includes(key)) continue
      const suggestion = closest(key, known)
      const field = place.field ? `${place.field}.${key}` : key
      this.fail({...place, field, key}, `unknown key${suggestion ? `; did you mean "${suggestion}"?` : ''}`, `keys here are ${known.join(', ')}`)
    }
  }

  private object(value: JsonValue | undefined, place: Place): JsonObject {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value
    return this.fail(place, `must be an object (got ${describe(value)})`, 'write it as {"key": value, …}')
  }

  private list(value: JsonValue | undefined, place: Place): JsonValue[] {
    if (value === undefined || value === null) return []
    if (Array.isArray(value)) return value
    return this.fail(place, `must be a list (got ${describe(value)})`, 'write it as [ … ]')
  }

  private stringList(value: JsonValue | undefined, place: Place): string[] {
    return this.list(value, place).map((item, index) => this.string(item, {...place, field: `${place.field}[${index}]`}))
  }

  private string(value: JsonValue | undefined, place: Place): string {
    if (typeof value === 'string' && value !== '') return value
    return this.fail(place, `must be a non-empty string (got ${describe(value)})`, 'write the value in double quotes')
  }

  private integer(value: JsonValue | undefined, place: Place): bigint {
    if (typeof value === 'bigint') return value
    if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value)
    return this.fail(place, `must be a whole number (got ${describe(value)})`, 'write a decimal integer without quotes')
  }

  private uint64(value: JsonValue | undefined, place: Place): bigint {
    if (value === undefined || value === null) return 0n
    const number = this.integer(value, place)
    if (number < 0n || number > 0xffffffffffffffffn) {
      this.fail(
        place,
        `must be from 0 to 18446744073709551615, an unsigned 64-bit value (got ${number})`,
        "write negative values as their two's complement, e.g. 18446744073709551615 for -1",
      )
    }
    return number
  }

  private warnOrFail(place: Place, problem: string, fix: string): void {
    if (this.options.strict) this.fail(place, problem, `${fix} (strict mode turns this warning into an error)`)
    this.warnings.push(`${this.options.file}: ${describePlace(place)}: ${problem}`)
  }

  private fail(place: Place, problem: string, fix: string): never {
    const offset = place.node ? this.document.offsetOf(place.node, place.key) : undefined
    const position = offset === undefined ? {} : lineAndColumn(this.document.text, offset)
    throw new FileError(this.options.file, `${describePlace(place)}: ${problem}`, {...position, fix})
  }
}

function describePlace(place: Place): string {
  return [place.rule, place.field].filter(Boolean).join(': ') || '(top level)'
}

function ruleFirstName(value: JsonValue): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return ''
  const first = Array.isArray(value.names) ? value.names[0] : value.name
  return typeof first === 'string' ? ` (${JSON.stringify(first)})` : ''
}

function describe(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'a list'
  if (value === null) return 'null'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return JSON.stringify(value)
  return String(value)
}

/** The candidate nearest by edit distance, if near enough to be a typo. */
function closest(value: string, candidates: Iterable<string>): string | undefined {
  return nearest(value, candidates, Math.max(1, Math.floor(value.length / 3)))[0]
}
