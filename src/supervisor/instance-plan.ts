/**
 * One instance's launch, from its app's plan: the same chain (namespaces, view, identity,
 * seccomp, sockets), entered into the instance's own cgroup below the app's, with a reaper of its
 * own: an instance's cgroup is made when it starts and removed when it ends.
 */
import {INSTANCE_DEPTH, instanceCgroupPlan} from '../cgroup/instance.js'
import {enterArguments, reaperArguments, type LaunchPlan} from '../launch/plan.js'

/** The cgroup directory name of an app's instance number `id` (counted per app, never reused while the supervisor runs). */
export function instanceName(id: number): string {
  return `i${id}`
}

export function planInstance(app: LaunchPlan, id: number): LaunchPlan {
  const cgroup = instanceCgroupPlan(app.cgroup, instanceName(id))
  if (cgroup === app.cgroup) return app
  // contain-init enter's own options come before the first `--`; the chain after it is the app's.
  const chain = app.argv.slice(app.argv.indexOf('--'))
  const reap = reaperArguments(cgroup, INSTANCE_DEPTH)
  const enter = (withReaper: boolean) => [app.argv[0], ...enterArguments(cgroup, cgroup.deviceProgram, withReaper ? reap : [], app.listen.length), ...chain]
  return {...app, cgroup, argv: enter(true), restartArgv: reap.length > 0 ? enter(false) : undefined}
}
