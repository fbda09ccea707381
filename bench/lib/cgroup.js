// Where this process sits in each cgroup hierarchy, and a janitor for the cgroups the bench creates.
// Rule: the bench only creates cgroups BELOW its own cgroup, per hierarchy (never at the root of the
// memory hierarchy), and removes every one of them (and any ancestor directory it caused) at the end.
import {existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync} from 'node:fs'
import {join, posix} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {killPid, pidAlive} from './proc.js'

const unescape = p => p.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(Number.parseInt(o, 8)))

function cgroupMounts() {
  const mounts = []
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ')
    if (!after) continue
    const [fsType, , superOptions = ''] = after.split(' ')
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue
    const fields = before.split(' ')
    mounts.push({root: unescape(fields[3]), mountPoint: unescape(fields[4]), version: fsType === 'cgroup2' ? 2 : 1, options: superOptions.split(',')})
  }
  return mounts
}

const knownV1 = new Set([
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'devices',
  'freezer',
  'net_cls',
  'net_prio',
  'blkio',
  'perf_event',
  'hugetlb',
  'pids',
  'rdma',
  'misc',
])

/**
 * @returns {{mode: 'v1'|'v2'|'hybrid', hierarchies: {version: 1|2, mountPoint: string, controllers: string[], key: string, ownPath: string, ownDir: string}[]}}
 * ownPath: this process's cgroup path inside the hierarchy (/proc/self/cgroup); ownDir: that cgroup as a directory.
 */
export function cgroupLayout() {
  const self = new Map()
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line)
    if (m) self.set(m[1], m[2])
  }
  const hierarchies = []
  const seen = new Set()
  for (const mount of cgroupMounts()) {
    const controllers = mount.version === 2 ? readControllers(mount.mountPoint) : mount.options.filter(o => knownV1.has(o) || o.startsWith('name='))
    const key = mount.version === 2 ? '' : controllers.join(',')
    if (seen.has(key)) continue // the same hierarchy mounted twice
    const ownPath = self.get(key) ?? [...self.entries()].find(([k]) => k && k.split(',').sort().join(',') === [...controllers].sort().join(','))?.[1]
    if (ownPath === undefined) continue
    seen.add(key)
    const rel = posix.relative(mount.root, ownPath)
    if (rel.startsWith('..')) continue // our cgroup is not visible in this mount
    hierarchies.push({version: mount.version, mountPoint: mount.mountPoint, controllers, key, ownPath, ownDir: join(mount.mountPoint, rel)})
  }
  const v1 = hierarchies.filter(h => h.version === 1 && h.controllers.some(c => !c.startsWith('name=')))
  const v2 = hierarchies.some(h => h.version === 2)
  const mode = v1.length === 0 ? 'v2' : v2 ? 'hybrid' : 'v1'
  return {mode, hierarchies}
}

function readControllers(dir) {
  try {
    return readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean)
  } catch {
    return []
  }
}

/** The hierarchy carrying a v1 controller (or the v2 one). */
export function hierarchyFor(layout, controller) {
  if (layout.mode === 'v2') return layout.hierarchies.find(h => h.version === 2)
  return layout.hierarchies.find(h => h.version === 1 && h.controllers.includes(controller))
}

/**
 * One cgroup path that is at or below this process's cgroup in EVERY hierarchy, for tools that take a
 * single cgroup path for all hierarchies (runc/crun cgroupsPath, dockerd/podman --cgroup-parent).
 * On this host: /process_api/<id> (memory), "/" everywhere else -> /process_api/<id>.
 */
export function commonParentPath(layout) {
  const relevant = layout.hierarchies.filter(h => layout.mode !== 'hybrid' || h.version === 1)
  const deepest = relevant.map(h => h.ownPath).sort((a, b) => b.length - a.length)[0] ?? '/'
  const under = (p, parent) => parent === '/' || p === parent || p.startsWith(`${parent}/`)
  return relevant.every(h => under(deepest, h.ownPath)) ? deepest : undefined
}

/** Tracks cgroup subtrees the bench (or a tool it runs) creates, and removes them bottom-up. */
export class CgroupJanitor {
  /** @type {{dir: string, createdAncestors: string[]}[]} */
  #trees = []

  /**
   * Track <mountPoint>/<relPath> in every hierarchy of the layout. Records which directories on the way
   * down do not exist yet, so the ones a tool creates (e.g. dockerd's cgroup-parent in the cpu hierarchy)
   * are removed too. Call BEFORE anything creates them.
   */
  track(layout, relPath) {
    const dirs = []
    for (const h of layout.hierarchies) {
      const dir = join(h.mountPoint, relPath)
      const createdAncestors = []
      let p = dir
      while (p.length > h.ownDir.length && p.startsWith(h.ownDir)) {
        p = posix.dirname(p)
        if (p.length > h.ownDir.length && !existsSync(p)) createdAncestors.push(p)
      }
      this.#trees.push({dir, createdAncestors})
      dirs.push(dir)
    }
    return dirs
  }

  /** Track one directory and create it (mkdir -p) below an ownDir. */
  make(dir, ownDir) {
    if (!dir.startsWith(`${ownDir}/`)) throw new Error(`refusing to create cgroup ${dir}: not below ${ownDir}`)
    const createdAncestors = []
    let p = posix.dirname(dir)
    while (p.length > ownDir.length) {
      if (!existsSync(p)) createdAncestors.push(p)
      p = posix.dirname(p)
    }
    this.#trees.push({dir, createdAncestors})
    mkdirSync(dir, {recursive: true})
    return dir
  }

  /** Track an existing directory (a leftover of an earlier run) for removal. */
  adopt(dir) {
    this.#trees.push({dir, createdAncestors: []})
  }

  /** Remove every tracked tree, deepest directories first; processes still inside are ours and get SIGKILL. */
  async removeAll() {
    const removed = []
    const failed = []
    const dirs = [...new Set(this.#trees.flatMap(t => [...subdirsDeepestFirst(t.dir), ...t.createdAncestors]))]
    dirs.sort((a, b) => b.split('/').length - a.split('/').length)
    for (const dir of dirs) {
      if (!existsSync(dir)) continue
      const ok = await removeCgroupDir(dir)
      if (ok === true) removed.push(dir)
      else failed.push(`${dir}: ${ok}`)
    }
    this.#trees = []
    return {removed, failed}
  }

  /** Every tracked directory that still exists (for the leak check). */
  leftovers() {
    return this.#trees.flatMap(t => [t.dir, ...t.createdAncestors]).filter(d => existsSync(d))
  }
}

function subdirsDeepestFirst(dir) {
  if (!existsSync(dir)) return []
  const out = []
  const walk = d => {
    let entries = []
    try {
      entries = readdirSync(d, {withFileTypes: true})
    } catch {}
    for (const e of entries) if (e.isDirectory()) walk(join(d, e.name))
    out.push(d)
  }
  walk(dir)
  return out
}

async function removeCgroupDir(dir) {
  let lastError
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      rmdirSync(dir)
      return true
    } catch (error) {
      if (error.code === 'ENOENT') return true
      lastError = error
      if (error.code !== 'EBUSY' && error.code !== 'ENOTEMPTY') break
      for (const pid of readProcs(dir)) if (pidAlive(pid)) killPid(pid, 'SIGKILL')
      await sleep(50)
    }
  }
  return `${lastError?.code ?? lastError}`
}

export function readProcs(dir) {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)
  } catch {
    return []
  }
}

export function writeCgroupFile(dir, file, value) {
  writeFileSync(join(dir, file), String(value))
}

export function isDir(p) {
  try {
    return statSync(p).isDirectory()
  } catch {
    return false
  }
}
