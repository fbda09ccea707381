// CPU accounting for daemons the bench starts: a cgroup of their own below the bench's (no limits), read
// from the kernel's own counter, which keeps the time of processes that have already exited (a shim that
// ends with its container) and of every descendant (containerd, shims), unlike sampling /proc/PID/stat.
import {readFileSync, readdirSync} from 'node:fs'
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
  const usageSeconds =
    h.version === 1
      ? () => Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e9
      : () => Number(/^usage_usec (\d+)/m.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'))[1]) / 1e6
  return {dir, procsFile: join(dir, 'cgroup.procs'), usageSeconds}
}

/**
 * On-CPU time of one process, in seconds: the sum over its threads of /proc/PID/task/TID/schedstat
 * (nanoseconds). /proc/PID/schedstat alone is the main thread's only, which misses a multi-threaded
 * spinner's other threads and Node's libuv workers. Threads that ended between two readings are not
 * counted (the spinner's and the supervisor's live as long as the process); NaN when the process is gone.
 */
export function processCpuSeconds(pid) {
  let tids
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return NaN
  }
  let ns = 0
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
    } catch {} // the thread ended since the listing
  }
  return ns / 1e9
}
