// Cleaning up after a killed contain: removes only what nothing uses.
import {readdirSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {DELEGATION_LEAF} from './delegation.js'
import {hostCgroupFs, readListIfThere, removeQuietly, type CgroupFs} from './fs.js'
import {CONTAIN_CGROUP} from './paths.js'

/**
 * Removes what a killed contain left of one scope (a project's apps): its app cgroups, the scope
 * and `contain` itself, and the delegation leaf beside it. Only empty ones, so a live app is never
 * touched. `scopeDirs` are the scope's directories, one per hierarchy (scopeCgroupPath).
 * False while some of it is still in use (its apps are still dying).
 */
export function removeStaleScope(scopeDirs: readonly string[], fs: CgroupFs = hostCgroupFs): boolean {
  let removed = true
  for (const scopeDir of scopeDirs) {
    const containDir = dirname(scopeDir)
    if (basename(containDir) !== CONTAIN_CGROUP || !fs.exists(scopeDir)) continue
    for (const app of listChildren(scopeDir)) {
      // A supervised app's instances are below it (see instance.ts): they go first.
      for (const instance of listChildren(join(scopeDir, app))) removeIfUnused(join(scopeDir, app, instance), fs)
      removeIfUnused(join(scopeDir, app), fs)
    }
    removeIfUnused(scopeDir, fs)
    removeIfUnused(containDir, fs)
    removeIfUnused(join(dirname(containDir), DELEGATION_LEAF), fs)
    removed &&= !fs.exists(scopeDir)
  }
  return removed
}

/** Sub-directories of a cgroup: its child cgroups. */
function listChildren(dir: string): string[] {
  try {
    return readdirSync(dir, {withFileTypes: true})
      .filter(entry => entry.isDirectory())
      .map(entry => entry.name)
  } catch {
    return []
  }
}

/** rmdir of a cgroup left by a killed contain, if nothing runs in it: a live app is never touched. */
function removeIfUnused(dir: string, fs: CgroupFs): void {
  if (!fs.exists(dir) || readListIfThere(fs, join(dir, 'cgroup.procs')).length > 0) return
  removeQuietly(dir, fs)
}
