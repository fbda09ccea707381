import {readFileSync} from 'node:fs'
import {join, relative} from 'node:path'

export type CgroupMode = 'v1' | 'v2' | 'hybrid'

/** One mounted cgroup hierarchy and where this process sits in it. */
export interface Hierarchy {
  version: 1 | 2
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string
  /** This process's cgroup as a directory under mountPoint. */
  ownDir: string
  /** v1: the controllers bound to the hierarchy; v2: those delegated to ownDir (cgroup.controllers). */
  controllers: string[]
}

export interface CgroupLayout {
  mode: CgroupMode
  hierarchies: Hierarchy[]
}

interface CgroupMount {
  mountPoint: string
  /** The directory of the hierarchy that is mounted (not "/" when a subtree is bind-mounted). */
  root: string
  fsType: 'cgroup' | 'cgroup2'
  superOptions: string[]
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
}

function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = []
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ')
    if (!after) continue
    const [fsType, , superOptions = ''] = after.split(' ')
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue
    const fields = before.split(' ')
    mounts.push({root: unescapeMountPath(fields[3]), mountPoint: unescapeMountPath(fields[4]), fsType, superOptions: superOptions.split(',')})
  }
  return mounts
}

/** Lines of /proc/self/cgroup: "ID:controller,controller:/path" (v2: "0::/path"). */
function parseSelfCgroup(text: string): Map<string, string> {
  const byControllers = new Map<string, string>()
  for (const line of text.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line)
    if (match) byControllers.set(match[1], match[2])
  }
  return byControllers
}

function ownDirIn(mount: CgroupMount, ownPath: string): string {
  return join(mount.mountPoint, relative(mount.root, ownPath))
}

/**
 * Finds every cgroup hierarchy and this process's place in it. `readControllers` reads a v2
 * cgroup.controllers file; it is a parameter so tests can describe a host in plain text.
 */
export function parseLayout(mountinfo: string, selfCgroup: string, readControllers: (dir: string) => string[]): CgroupLayout {
  const own = parseSelfCgroup(selfCgroup)
  // Keyed by the sorted controller list, as each mount's is compared: one sort per line, not one per pair.
  const ownBySortedControllers = new Map<string, string>()
  for (const [key, path] of own) {
    const sorted = key.split(',').sort().join(',')
    if (!ownBySortedControllers.has(sorted)) ownBySortedControllers.set(sorted, path)
  }
  const hierarchies: Hierarchy[] = []
  for (const mount of parseCgroupMounts(mountinfo)) {
    if (mount.fsType === 'cgroup2') {
      const ownPath = own.get('')
      if (ownPath === undefined) continue
      const ownDir = ownDirIn(mount, ownPath)
      hierarchies.push({version: 2, mountPoint: mount.mountPoint, ownDir, controllers: readControllers(ownDir)})
      continue
    }
    const controllers = mount.superOptions.filter(
      option =>
        !option.includes('=') &&
        !['rw', 'ro', 'relatime', 'noexec', 'nosuid', 'nodev', 'xattr', 'clone_children', 'noprefix', 'cpuset_v2_mode'].includes(option),
    )
    const ownPath = ownBySortedControllers.get([...controllers].sort().join(','))
    if (ownPath === undefined || controllers.length === 0) continue
    hierarchies.push({version: 1, mountPoint: mount.mountPoint, ownDir: ownDirIn(mount, ownPath), controllers})
  }
  const hasV1 = hierarchies.some(hierarchy => hierarchy.version === 1)
  const hasV2 = hierarchies.some(hierarchy => hierarchy.version === 2)
  return {mode: hasV1 ? (hasV2 ? 'hybrid' : 'v1') : 'v2', hierarchies}
}

function readControllersFile(dir: string): string[] {
  try {
    return readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean)
  } catch {
    return []
  }
}

/** The layout of the running host, read from /proc (`procRoot` lets tests point elsewhere). */
export function detectLayout(procRoot = '/proc'): CgroupLayout {
  return parseLayout(readFileSync(join(procRoot, 'self/mountinfo'), 'utf8'), readFileSync(join(procRoot, 'self/cgroup'), 'utf8'), readControllersFile)
}

/** The layout as another process sits in it (each hierarchy's ownDir is that process's cgroup): the kernel's word on where an app runs. */
export function layoutOfProcess(pid: number, procRoot = '/proc'): CgroupLayout {
  return parseLayout(readFileSync(join(procRoot, 'self/mountinfo'), 'utf8'), readFileSync(join(procRoot, String(pid), 'cgroup'), 'utf8'), readControllersFile)
}

/** The hierarchy that serves a controller; v1 wins on hybrid hosts, where v2 lacks it. */
export function hierarchyFor(layout: CgroupLayout, controller: string): Hierarchy | undefined {
  return layout.hierarchies.find(hierarchy => hierarchy.controllers.includes(controller))
}
