/**
 * The device allow-list: which device nodes the app may open or create, enforced by the kernel
 * (cgroup v1 `devices` controller, or a cgroup v2 BPF_PROG_TYPE_CGROUP_DEVICE program). Every
 * device not allowed here is refused, whatever the node's file permissions or the app's
 * capabilities: a root app that mknods the host's disk still cannot open it.
 */

/** b: block, c: character, a: both (only in "deny all"). */
export type DeviceType = 'a' | 'b' | 'c'

/** One allow rule, as cgroup v1's devices.allow spells it: `c 1:3 rwm`. */
export interface DeviceRule {
  type: DeviceType
  /** '*' matches every number. */
  major: number | '*'
  minor: number | '*'
  /** A non-empty subset of "rwm": read, write, mknod. */
  access: string
  /** What the rule is for, shown by --dry-run. */
  note?: string
}

/**
 * Docker's (and runc's) default allow-list: any node may be created (mknod), but only these may
 * be opened. /dev/net/tun (10:200) is not among them, as in Docker since 20.10.
 */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  {type: 'c', major: '*', minor: '*', access: 'm', note: 'mknod of any character device'},
  {type: 'b', major: '*', minor: '*', access: 'm', note: 'mknod of any block device'},
  {type: 'c', major: 1, minor: 3, access: 'rwm', note: '/dev/null'},
  {type: 'c', major: 1, minor: 5, access: 'rwm', note: '/dev/zero'},
  {type: 'c', major: 1, minor: 7, access: 'rwm', note: '/dev/full'},
  {type: 'c', major: 1, minor: 8, access: 'rwm', note: '/dev/random'},
  {type: 'c', major: 1, minor: 9, access: 'rwm', note: '/dev/urandom'},
  {type: 'c', major: 5, minor: 0, access: 'rwm', note: '/dev/tty'},
  {type: 'c', major: 5, minor: 1, access: 'rwm', note: '/dev/console'},
  {type: 'c', major: 5, minor: 2, access: 'rwm', note: '/dev/ptmx'},
  {type: 'c', major: 136, minor: '*', access: 'rwm', note: '/dev/pts/*'},
]

/** A device passed through with --device / devices:, as the plan carries it. */
export interface DeviceOption {
  /** The node on the host, as given. */
  host: string
  /** Where the app sees it (default: the host path). */
  container: string
  type: 'b' | 'c'
  major: number
  minor: number
  access: string
}

/** The rules for one app: Docker's defaults plus each --device; none at all when privileged. */
export function deviceRules(devices: readonly DeviceOption[], privileged: boolean): DeviceRule[] | undefined {
  if (privileged) return undefined
  return [
    ...DEFAULT_DEVICE_RULES,
    ...devices.map(device => ({type: device.type, major: device.major, minor: device.minor, access: device.access, note: `--device ${device.host}`})),
  ]
}

/** cgroup v1's spelling, also used to show a rule: `c 1:3 rwm`. */
export function formatRule(rule: DeviceRule): string {
  return `${rule.type} ${rule.major}:${rule.minor} ${rule.access}`
}

/**
 * The v1 files that give a fresh devices cgroup exactly these rules: "a" to devices.deny first
 * (a child starts with its parent's list, usually "a *:* rwm"), then one write per allow rule
 * (the kernel takes one rule per write).
 */
export function v1DeviceWrites(rules: readonly DeviceRule[]): Array<{file: string; value: string}> {
  return [{file: 'devices.deny', value: 'a'}, ...rules.map(rule => ({file: 'devices.allow', value: formatRule(rule)}))]
}
