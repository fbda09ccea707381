import {closeSync, constants, openSync, readFileSync, readSync} from 'node:fs'
import {CAPABILITIES, type CapabilityName} from '../capabilities.js'
import {evaluateSyscall} from './explain.js'
import {parseProfile} from './profile.js'
import {readProfileText} from './profile-file.js'
import {currentKernelVersion, resolvePolicy} from './resolve.js'
import {seccompArchOf} from './host.js'
import {AUDIT_ARCH, syscallName} from './syscalls.js'

/** A syscall the profile would have denied, as the kernel logged it under SECCOMP_RET_LOG. */
export interface LoggedSyscall {
  name: string
  calls: number
  /** How to allow it: a --cap-add that makes the profile allow it, or a rule to add. */
  fix: string
}

const SECCOMP_RET_LOG = '0x7ffc0000'

/** Seconds since boot: the clock of the kernel log's timestamps. */
export function kernelUptime(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0])
}

/** Kernel log records ("pri,seq,usec,flags;message") since `sinceSeconds` of uptime. */
function readKernelLog(sinceSeconds: number): string[] {
  const fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK)
  const records: string[] = []
  const buffer = Buffer.alloc(8192)
  try {
    for (;;) {
      let length: number
      try {
        length = readSync(fd, buffer)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'EPIPE') continue // the record was overwritten while we read: skip it
        if (code === 'EAGAIN') break
        throw error
      }
      const record = buffer.toString('utf8', 0, length)
      const micros = Number(record.split(',')[2])
      if (micros / 1e6 >= sinceSeconds) records.push(record)
    }
  } finally {
    closeSync(fd)
  }
  return records
}

/** The cheapest way to allow `name`: a capability that the profile's includes rules wait for, or a rule. */
function fixFor(profileText: string, profileFile: string, capabilities: readonly CapabilityName[], nr: number, name: string): string {
  const {profile} = parseProfile(profileText, {file: profileFile})
  const arch = seccompArchOf()
  const kernel = currentKernelVersion()
  for (const capability of CAPABILITIES.filter(candidate => !capabilities.includes(candidate))) {
    const policy = resolvePolicy(profile, {arch, capabilities: [...capabilities, capability], kernel})
    if (evaluateSyscall(policy, nr).verdict.action === 'SCMP_ACT_ALLOW') return `--cap-add ${capability.replace(/^CAP_/, '')}`
  }
  return `a rule {"names": ["${name}"], "action": "SCMP_ACT_ALLOW"} in a copy of ${profileFile}, passed as --seccomp PATH`
}

/**
 * The syscalls logged by a complain-mode filter since `sinceSeconds` of uptime, by name, each with
 * its fix. Reading the kernel log needs root (CAP_SYSLOG); the caller reports failures.
 */
export async function loggedSyscalls(sinceSeconds: number, profileFile: string, capabilities: readonly CapabilityName[]): Promise<LoggedSyscall[]> {
  const arch = seccompArchOf()
  const auditArch = AUDIT_ARCH[arch].toString(16)
  const calls = new Map<number, number>()
  for (const record of readKernelLog(sinceSeconds)) {
    if (!record.includes('type=1326') || !record.includes(`code=${SECCOMP_RET_LOG}`) || !record.includes(`arch=${auditArch}`)) continue
    const nr = Number(/ syscall=(\d+)/.exec(record)?.[1])
    if (Number.isInteger(nr)) calls.set(nr, (calls.get(nr) ?? 0) + 1)
  }
  if (calls.size === 0) return []
  const profileText = await readProfileText(profileFile)
  return [...calls].map(([nr, count]) => {
    const name = syscallName(arch, nr) ?? `syscall ${nr}`
    return {name, calls: count, fix: fixFor(profileText, profileFile, capabilities, nr, name)}
  })
}
