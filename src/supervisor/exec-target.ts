import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {appCgroupPath, type AppCgroupId, type CgroupPlan} from '../cgroup/index.js'
import {layoutOfProcess} from '../cgroup/layout.js'
import {ContainError} from '../errors.js'
import type {LaunchPlan} from '../launch/plan.js'
import {projectKey, type ProjectState} from './state.js'
import {planApps} from './plan-apps.js'

/** Field 4 of /proc/PID/stat. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return undefined
  }
}

/**
 * The supervisor starts each app through at most three processes (contain-init enter, its child
 * born in the cgroup, contain-init run) before its PID 1: a pid whose ancestry does not reach the
 * supervisor within that is not one of its apps, whatever a reply said.
 */
export function isStartedBy(pid: number, supervisor: number, maxHops = 4): boolean {
  let current: number | undefined = pid
  for (let hop = 0; hop < maxHops && current !== undefined && current > 1; hop++) {
    current = parentOf(current)
    if (current === supervisor) return true
  }
  return false
}

/**
 * The app's cgroup as the kernel places its PID 1: in each hierarchy, the directory that ends as
 * the app's path does (`contain/<project key>/<app>`; the supervisor's own cgroup above it may
 * differ from this command's).
 */
export function cgroupOfApp(app: AppCgroupId, pid1: number): Pick<CgroupPlan, 'dirs' | 'procsFiles' | 'attachFiles' | 'cloneInto'> {
  const tail = appCgroupPath('/', app)
  // A supervised app's PID 1 is in one of its instances' cgroups, right below the app's.
  const hierarchies = layoutOfProcess(pid1).hierarchies.filter(hierarchy => hierarchy.ownDir.endsWith(tail) || dirname(hierarchy.ownDir).endsWith(tail))
  const v2 = hierarchies.find(hierarchy => hierarchy.version === 2)
  return {
    dirs: hierarchies.map(hierarchy => hierarchy.ownDir),
    procsFiles: hierarchies.map(hierarchy => join(hierarchy.ownDir, 'cgroup.procs')),
    attachFiles: hierarchies.filter(hierarchy => hierarchy.version === 1).map(hierarchy => join(hierarchy.ownDir, 'tasks')),
    cloneInto: v2?.ownDir,
  }
}

/**
 * `contain exec`'s plan: the command line, identity, capabilities, seccomp filter and environment
 * from the project as the supervisor resolved it (its state's record, not contain.yml), the cgroup
 * from the kernel. The supervisor's reply gives only the pid, which must be an app PID 1 it started.
 */
export async function planExecIn(project: Parameters<typeof planApps>[0], state: ProjectState, app: string, pid1: number): Promise<LaunchPlan> {
  if (!Number.isSafeInteger(pid1) || pid1 <= 1 || !isStartedBy(pid1, state.supervisor.pid)) {
    throw new ContainError(`the supervisor of ${project.name} named pid ${pid1} as ${app}'s, and it is not a process that supervisor started`, {
      fix: 'check contain ps; if it persists, restart the project (contain down && contain up -d)',
    })
  }
  const [spec] = (await planApps(project, [app])).specs
  const cgroup = cgroupOfApp({scope: projectKey(project), name: app}, pid1)
  if (spec.plan.cgroup.dirs.length > 0 && cgroup.dirs.length === 0) {
    throw new ContainError(`pid ${pid1} is not in a cgroup of ${app}`, {fix: 'check contain ps; the app may have just restarted: try again'})
  }
  return {...spec.plan, cgroup: {...spec.plan.cgroup, ...cgroup, parents: [], writes: [], delegation: undefined}}
}
