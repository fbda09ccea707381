/**
 * Memory protection passed down through the cgroups contain makes. cgroup v2 protects an app's
 * memory.low (mem_reservation) only as far as each ancestor passes it on: an ancestor whose own
 * memory.low is 0 caps the protection of everything below it at 0 (Documentation/admin-guide/
 * cgroup-v2.rst, "memory.low"). So each parent contain made (contain, the project's, an app's above
 * its instances) carries the sum of its children's, read back from the kernel, deepest first,
 * whenever a reserving app comes or goes. The protection then holds up to contain's own cgroup;
 * above it, it is the host's to give (systemd: MemoryLow= on the unit), as for any container.
 */
import {join} from 'node:path'
import {ignoreMissing, writeError, type CgroupFs} from './fs.js'
import type {ParentCgroup} from './plan.js'

export function passMemoryProtection(parents: readonly ParentCgroup[], fs: CgroupFs): void {
  for (const {dir} of [...parents].reverse()) {
    const file = join(dir, 'memory.low')
    if (!fs.exists(file)) continue // v1's memory hierarchy, or a parent that is gone
    let total = 0
    for (const child of ignoreMissing(() => fs.children(dir)) ?? []) {
      const low = ignoreMissing(() => fs.read(join(dir, child, 'memory.low')).trim())
      total += low === 'max' ? Infinity : Number(low ?? 0) || 0
    }
    const value = total === Infinity ? 'max' : String(total)
    if (ignoreMissing(() => fs.read(file).trim()) === value) continue
    try {
      fs.write(file, value)
    } catch (error) {
      // Removed by another project's last app meanwhile: nothing is left to pass on there.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw writeError(file, value, error)
    }
  }
}
