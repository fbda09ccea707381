import {InvalidValueError} from './errors.js'

export const NAMESPACES = ['pid', 'mount', 'uts', 'ipc', 'cgroup', 'net', 'user'] as const
export type Namespace = (typeof NAMESPACES)[number]

/** Docker's default set: the app gets its own pids, mounts, hostname, IPC and cgroup view. */
export const DEFAULT_NAMESPACES: readonly Namespace[] = ['pid', 'mount', 'uts', 'ipc', 'cgroup']

const ALIASES: Record<string, Namespace> = {mnt: 'mount', network: 'net', cgroupns: 'cgroup', userns: 'user'}

function toNamespace(field: string, text: string, name: string): Namespace {
  const namespace = ALIASES[name] ?? name
  if (!(NAMESPACES as readonly string[]).includes(namespace)) {
    throw new InvalidValueError(field, text, `unknown namespace ${JSON.stringify(name)}`, `use a comma-separated list of ${NAMESPACES.join(', ')}; prefix one with - to turn a default off (e.g. -ipc)`)
  }
  return namespace as Namespace
}

/**
 * "pid,mount" is the exact set; "-ipc,+net" edits the default set, so each default can be
 * turned off without retyping the rest.
 */
export function parseNamespaces(field: string, text: string): Namespace[] {
  const entries = text.split(',').map(entry => entry.trim()).filter(Boolean)
  const edits = entries.every(entry => entry.startsWith('-') || entry.startsWith('+'))
  const result = new Set<Namespace>(edits ? DEFAULT_NAMESPACES : [])
  for (const entry of entries) {
    const removing = entry.startsWith('-')
    const namespace = toNamespace(field, text, entry.replace(/^[+-]/, ''))
    if (removing) result.delete(namespace)
    else result.add(namespace)
  }
  return NAMESPACES.filter(namespace => result.has(namespace))
}

/** Who contain runs as: in a user namespace, root inside is mapped to this uid and gid outside. */
export interface Caller {
  uid: number
  gid: number
}

/**
 * contain-init run's flags that create the namespaces, in one unshare(2) as util-linux unshare
 * makes them (contain used to exec it; doing it in contain-init saves one program start per
 * launch). No fork here either: contain-init forks PID 1 itself so that the exit status and
 * signals come from contain's own code. A user namespace maps the caller to root, as
 * `unshare --map-root-user`; a mount namespace is made private first, so that no mount made for
 * the app propagates back to the host.
 */
export function unshareArguments(namespaces: readonly Namespace[], caller: Caller): string[] {
  if (namespaces.length === 0) return []
  const args = ['--unshare', namespaces.join(',')]
  if (namespaces.includes('user')) args.push('--map-root', String(caller.uid), String(caller.gid))
  if (namespaces.includes('mount')) args.push('--private-mounts')
  return args
}
