import {readFileSync} from 'node:fs'
import {maskToCapabilities, resolveCapabilities, type CapabilityName} from '../capabilities.js'
import {InvalidValueError} from '../errors.js'
import {defaultSeccompProfile} from '../paths.js'
import {DEFAULT_PROFILE, profileFile, UNCONFINED} from '../seccomp/profile-file.js'

/** How the app is confined beyond namespaces and cgroups. */
export interface SecurityOptions {
  /** The app's capability set (bounding; effective too when the app runs as root). */
  capabilities: CapabilityName[]
  /** Capabilities a non-root app keeps effective (ambient): the ones asked for with --cap-add. */
  grantedToNonRoot: CapabilityName[]
  /** A profile path, or undefined for no filter at all. */
  seccompProfile?: string
  seccompMode: 'enforce' | 'complain'
  seccompStrict: boolean
  noNewPrivileges: boolean
  privileged: boolean
}

/** The capabilities contain itself holds: an app can be given no more. */
export function heldCapabilities(status = readFileSync('/proc/self/status', 'utf8')): CapabilityName[] {
  return maskToCapabilities(BigInt(`0x${/^CapPrm:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0'}`))
}

function parseBoolean(field: string, text: string): boolean {
  if (text === '' || text === 'true') return true
  if (text === 'false') return false
  throw new InvalidValueError(field, text, 'must be true or false', `write ${field.replace(/[=:].*/, '')} or ${field.replace(/[=:].*/, '')}=false`)
}

/** Docker's --security-opt forms: `seccomp=X` and `no-new-privileges[=|:]BOOL`. */
function parseSecurityOpts(n: (id: string) => string, entries: string[]): {seccomp?: string; noNewPrivileges?: boolean} {
  const result: {seccomp?: string; noNewPrivileges?: boolean} = {}
  for (const entry of entries) {
    const match = /^([a-z-]+)(?:[=:](.*))?$/s.exec(entry)
    const [key, value = ''] = match ? [match[1], match[2]] : [entry]
    if (key === 'seccomp' && value) result.seccomp = value
    else if (key === 'no-new-privileges') result.noNewPrivileges = parseBoolean(`${n('security-opt')} ${entry}`, value)
    else {
      throw new InvalidValueError(
        n('security-opt'),
        entry,
        key === 'apparmor' || key === 'label'
          ? `contain does not apply ${key === 'label' ? 'SELinux labels' : 'AppArmor profiles'}`
          : 'unknown security option',
        'use seccomp=PROFILE or no-new-privileges[=true|false]',
      )
    }
  }
  return result
}

/** The options resolveSecurity reads, by option id (config/schema.ts). */
export interface SecurityInput {
  'security-opt'?: string[]
  seccomp?: string
  'seccomp-mode'?: string
  'seccomp-strict'?: boolean
  privileged?: boolean
  'cap-add'?: string[]
  'cap-drop'?: string[]
}

/**
 * Docker's rules with stricter defaults: the default profile, podman's 11 capabilities (Docker's 14
 * without NET_RAW, MKNOD and AUDIT_WRITE), no_new_privs on, --privileged turning all three off. A non-root app gets only the
 * capabilities asked for with --cap-add, as ambient ones, so `--user 1000 --cap-add
 * NET_BIND_SERVICE` can bind port 80 (as with podman and systemd's AmbientCapabilities).
 */
export function resolveSecurity(
  raw: SecurityInput,
  n: (id: string) => string,
  defaultProfile = defaultSeccompProfile(),
  held: readonly CapabilityName[] = heldCapabilities(),
): SecurityOptions {
  const opts = parseSecurityOpts(n, raw['security-opt'] ?? [])
  if (raw.seccomp !== undefined && opts.seccomp !== undefined && raw.seccomp !== opts.seccomp) {
    throw new InvalidValueError(n('seccomp'), raw.seccomp, `conflicts with ${n('security-opt')} seccomp=${opts.seccomp}`, 'give the profile once')
  }
  const privileged = raw.privileged ?? false
  const choice = raw.seccomp ?? opts.seccomp ?? (privileged ? UNCONFINED : DEFAULT_PROFILE)
  if (choice === '') throw new InvalidValueError(n('seccomp'), choice, 'is empty', 'use default, unconfined or the path of a profile')
  const mode = raw['seccomp-mode'] ?? 'enforce'
  if (mode !== 'enforce' && mode !== 'complain') {
    throw new InvalidValueError(n('seccomp-mode'), mode, 'unknown mode', 'use enforce (deny what the profile denies) or complain (only log it)')
  }
  const seccompProfile = profileFile(choice, defaultProfile)
  if (mode === 'complain' && seccompProfile === undefined) {
    throw new InvalidValueError(
      n('seccomp-mode'),
      mode,
      'needs a seccomp profile, but the app runs unconfined',
      `leave out ${n('seccomp')} unconfined (or ${n('privileged')}), or leave out ${n('seccomp-mode')}`,
    )
  }
  const fields = {add: n('cap-add'), drop: n('cap-drop')}
  const asked = new Set(resolveCapabilities({add: raw['cap-add'], drop: ['ALL'], fields}))
  const missing = [...asked].filter(name => !held.includes(name))
  if (missing.length > 0 && !(raw['cap-add'] ?? []).some(name => name.toUpperCase() === 'ALL')) {
    throw new InvalidValueError(
      n('cap-add'),
      missing.join(','),
      'contain itself does not hold this capability, so it cannot give it to the app',
      'run contain with the capability (as full root), or leave it out',
    )
  }
  // --privileged and --cap-add ALL mean every capability contain holds, as with Docker's daemon.
  const capabilities = resolveCapabilities({add: raw['cap-add'], drop: raw['cap-drop'], privileged, fields}).filter(name => held.includes(name))
  return {
    capabilities,
    grantedToNonRoot: privileged ? capabilities : capabilities.filter(name => asked.has(name)),
    seccompProfile,
    seccompMode: mode,
    seccompStrict: raw['seccomp-strict'] ?? false,
    noNewPrivileges: opts.noNewPrivileges ?? !privileged,
    privileged,
  }
}
