// CPU accounting for daemons the bench starts: a cgroup of their own below the bench's (no limits), read
// from the kernel's own counter, which keeps the time of processes that have already exited (a shim that
// ends with its container) and of every descendant (containerd, shims), unlike sampling /proc/PID/stat.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {hierarchyFor} from './cgroup.js'

/**
 * A cgroup <commonParent>/<runId>/<name> in the hierarchy that accounts CPU time (cpuacct on v1, the
 * unified one on v2); undefined when the layout has none. {dir, procsFile, usageSeconds()}.
 */
export function accountingCgroup(ctx, name) {
  const h = hierarchyFor(ctx.layout, ctx.layout.mode === 'v2' ? 'cpu' : 'cpuacct')
  if (!h || !ctx.commonParent) return undefined
  const dir = join(h.mountPoint, ctx.commonParent, ctx.runId, name)
  if (!dir.startsWith(`${h.ownDir}/`)) return undefined
  ctx.janitor.make(dir, h.ownDir)
  const usageSeconds = h.version === 1
    ? () => Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e9
    : () => Number(/^usage_usec (\d+)/m.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'))[1]) / 1e6
  return {dir, procsFile: join(dir, 'cgroup.procs'), usageSeconds}
}

/** On-CPU time of one process (all its threads), in seconds, from /proc/PID/schedstat (nanoseconds). */
export function processCpuSeconds(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e9
  } catch {
    return NaN
  }
}
