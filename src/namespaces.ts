import {InvalidValueError} from './errors.js'

export const NAMESPACES = ['pid', 'mount', 'uts', 'ipc', 'cgroup', 'net', 'user'] as const
export type Namespace = (typeof NAMESPACES)[number]

/** Docker's default set: the app gets its own pids, mounts, hostname, IPC and cgroup view. */
export const DEFAULT_NAMESPACES: readonly Namespace[] = ['pid', 'mount', 'uts', 'ipc', 'cgroup']

const ALIASES: Record<string, Namespace> = {mnt: 'mount', network: 'net', cgroupns: 'cgroup', userns: 'user'}

/** util-linux unshare's flag for each namespace. */
const NAMESPACE_FLAGS: Record<Namespace, string> = {
  pid: '--pid',
  mount: '--mount',
  uts: '--uts',
  ipc: '--ipc',
  cgroup: '--cgroup',
  net: '--net',
  user: '--user',
}

function toNamespace(field: string, text: string, name: string): Namespace {
  const namespace = ALIASES[name] ?? name
  if (!(NAMESPACES as readonly string[]).includes(namespace)) {
    throw new InvalidValueError(
      field,
      text,
      `unknown namespace ${JSON.stringify(name)}`,
      `use a comma-separated list of ${NAMESPACES.join(', ')}; prefix one with - to turn a default off (e.g. -ipc)`,
    )
  }
  return namespace
}

/**
 * "pid,mount" is the exact set; "-ipc,+net" edits the default set, so each default can be
 * turned off without retyping the rest.
 */
export function parseNamespaces(field: string, text: string | readonly string[]): Namespace[] {
  const entries = (typeof text === 'string' ? text.split(',') : text).map(entry => entry.trim()).filter(Boolean)
  const edits = entries.every(entry => entry.startsWith('-') || entry.startsWith('+'))
  const result = new Set<Namespace>(edits ? DEFAULT_NAMESPACES : [])
  for (const entry of entries) {
    const removing = entry.startsWith('-')
    const namespace = toNamespace(field, typeof text === 'string' ? text : entry, entry.replace(/^[+-]/, ''))
    if (removing) result.delete(namespace)
    else result.add(namespace)
  }
  return NAMESPACES.filter(namespace => result.has(namespace))
}

export function namespaceFlag(namespace: Namespace): string {
  return NAMESPACE_FLAGS[namespace]
}

/**
 * util-linux unshare arguments. No --fork: contain-init forks PID 1 itself so that the exit
 * status and signals come from contain's own code, not from unshare's.
 */
export function unshareArguments(namespaces: readonly Namespace[]): string[] {
  const args = namespaces.map(namespaceFlag)
  if (namespaces.includes('user')) args.push('--map-root-user')
  if (namespaces.includes('mount')) args.push('--propagation', 'private')
  return args
}
