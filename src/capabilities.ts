/**
 * Linux capabilities: names, numbers and Docker's rules for --cap-add / --cap-drop / --privileged.
 * Pure: no host access. The native helper receives the result as a bitmask.
 */
import {InvalidValueError} from './errors.js'
import {nearest} from './suggest.js'

/** Every capability the kernel defines, in number order: index = CAP_* value (linux/capability.h). */
export const CAPABILITIES = [
  'CAP_CHOWN', // 0
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL', // 5
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE', // 10
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', // 15
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', // 20
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', // 25
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL', // 30
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM', // 35
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE', // 40
] as const

export type CapabilityName = (typeof CAPABILITIES)[number]

/** The 14 capabilities Docker gives a container unless told otherwise (moby oci/caps/defaults.go). */
export const DOCKER_DEFAULT_CAPABILITIES: readonly CapabilityName[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
]

/**
 * contain's default: Docker's 14 without NET_RAW, MKNOD and AUDIT_WRITE (podman's 11, containers.conf).
 * The app shares the host's network by default, where NET_RAW would let a root app forge packets
 * and sniff every host interface; MKNOD makes device nodes, AUDIT_WRITE writes the host's audit
 * log. None of the three appears in the default seccomp profile's capability conditions, so the
 * filter is the one Docker's 14 get. --cap-add restores each.
 */
export const DEFAULT_CAPABILITIES: readonly CapabilityName[] = DOCKER_DEFAULT_CAPABILITIES.filter(
  name => name !== 'CAP_NET_RAW' && name !== 'CAP_MKNOD' && name !== 'CAP_AUDIT_WRITE',
)

const capabilityNumbers: ReadonlyMap<string, number> = new Map(CAPABILITIES.map((name, number) => [name, number]))

/** The capability's number (bit position in the kernel's masks). */
export function capabilityNumber(name: CapabilityName): number {
  return capabilityNumbers.get(name)!
}

/**
 * `sys_admin`, `SYS_ADMIN` and `CAP_SYS_ADMIN` all name CAP_SYS_ADMIN, as Docker accepts.
 * `field` names the flag or config field in the error (`--cap-add`, `apps.web.cap_drop`).
 */
export function parseCapability(name: string, field = 'capability'): CapabilityName {
  const normalized = normalizeCapabilityName(name)
  if (capabilityNumbers.has(normalized)) return normalized as CapabilityName
  throw unknownCapability(field, name)
}

export interface CapabilityOptions {
  add?: readonly string[]
  drop?: readonly string[]
  /** --privileged: every capability, whatever add and drop say (Docker ignores them too). */
  privileged?: boolean
  /** The starting set; contain's default 11 (DEFAULT_CAPABILITIES) unless given. */
  base?: readonly CapabilityName[]
  /** How the user wrote the add and drop options, for errors: contain.yml's keys from config/resolve.ts; the seccomp commands' flags by default. */
  fields?: {add: string; drop: string}
}

/**
 * The app's capability set with Docker's semantics (moby oci/caps TweakCapabilities):
 * `ALL` in add gives every capability except those dropped; `ALL` in drop leaves only those added;
 * otherwise drop from the base set, then add. Sorted by capability number.
 */
export function resolveCapabilities(options: CapabilityOptions = {}): CapabilityName[] {
  if (options.privileged) return [...CAPABILITIES]
  const add = parseCapabilityList(options.add ?? [], options.fields?.add ?? '--cap-add')
  const drop = parseCapabilityList(options.drop ?? [], options.fields?.drop ?? '--cap-drop')
  const base = options.base ?? DEFAULT_CAPABILITIES

  let result: Set<CapabilityName>
  if (add.all) {
    result = new Set(CAPABILITIES.filter(name => !drop.names.has(name)))
  } else if (drop.all) {
    result = new Set(add.names)
  } else {
    result = new Set(base.filter(name => !drop.names.has(name)))
    for (const name of add.names) result.add(name)
  }
  return sortCapabilities(result)
}

/** Bit N set for capability N: the form capset(2) and the native helper take. */
export function capabilitiesToMask(names: Iterable<CapabilityName>): bigint {
  let mask = 0n
  for (const name of names) mask |= 1n << BigInt(capabilityNumber(name))
  return mask
}

/** The names whose bits are set, sorted; unknown high bits are ignored. */
export function maskToCapabilities(mask: bigint): CapabilityName[] {
  return CAPABILITIES.filter((_, number) => (mask >> BigInt(number)) & 1n)
}

function sortCapabilities(names: Iterable<CapabilityName>): CapabilityName[] {
  return [...names].sort((a, b) => capabilityNumber(a) - capabilityNumber(b))
}

function parseCapabilityList(values: readonly string[], field: string): {all: boolean; names: Set<CapabilityName>} {
  const names = new Set<CapabilityName>()
  let all = false
  for (const value of values) {
    if (normalizeCapabilityName(value) === 'CAP_ALL') all = true
    else names.add(parseCapability(value, field))
  }
  return {all, names}
}

function normalizeCapabilityName(name: string): string {
  const upper = name.trim().toUpperCase()
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`
}

function unknownCapability(field: string, value: string): InvalidValueError {
  const suggestion = closestCapability(normalizeCapabilityName(value))
  const hint = suggestion ? `; did you mean ${suggestion.slice(4)}?` : ''
  return new InvalidValueError(
    field,
    value,
    `unknown capability${hint}`,
    `use a name from capabilities(7) such as ${suggestion?.slice(4) ?? 'NET_ADMIN'} (the CAP_ prefix and case are optional), or ALL`,
  )
}

/** The known name nearest by edit distance, if it is near enough to be a typo. */
function closestCapability(normalized: string): CapabilityName | undefined {
  // More than a third of the name (after CAP_) changed is not a typo.
  return nearest(normalized, CAPABILITIES, Math.max(2, Math.floor((normalized.length - 4) / 3)))[0] as CapabilityName | undefined
}
