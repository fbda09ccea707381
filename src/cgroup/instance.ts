/**
 * The cgroup of one instance of a supervised app: a leaf below the app's own cgroup,
 * `<own>/contain/<scope>/<app>/<instance>`. A rolling restart runs the new instance beside the
 * old one, and replicas run side by side, each with its own process tree to stop and count.
 *
 * Each instance gets the app's limits (memory, CPU quota, pids, cpuset, devices), as compose gives
 * each replica its mem_limit and a start-first update gives each task its own: the app inside
 * reads its own limit from /sys/fs/cgroup, as in a container. The app's cgroup holds no limit of
 * its own but its CPU share (see isRelativeWeight); it becomes a parent that enables the instances' controllers (v2) and holds no process,
 * as v2's no-internal-process rule wants, and its figures are the sum of its instances'.
 * So during a rolling restart's overlap the app may use twice its limits, and N replicas N times.
 */
import {dirname, join} from 'node:path'
import type {CgroupPlan, ParentCgroup} from './index.js'

/**
 * CPU shares (v1 cpu.shares, v2 cpu.weight) only weigh a cgroup against its siblings: the app's
 * share stays on the app's own cgroup, where it competes with the project's other apps; its
 * instances (one, or two during a rolling restart) split it evenly.
 */
function isRelativeWeight(path: string): boolean {
  const file = path.slice(path.lastIndexOf('/') + 1)
  return file === 'cpu.shares' || file === 'cpu.weight'
}

/** `dir` moved below `from` to the same place below `to`. */
function moved(path: string, from: string, to: string): string {
  return path === from || path.startsWith(`${from}/`) ? to + path.slice(from.length) : path
}

/** The plan of one instance's cgroup from its app's: the app's directories become parents. */
export function instanceCgroupPlan(app: CgroupPlan, instance: string): CgroupPlan {
  if (app.dirs.length === 0) return app // no cgroup of the app's own (a user without delegation)
  const move = (path: string) => app.dirs.reduce((result, dir) => moved(result, dir, join(dir, instance)), path)
  // Each app directory as a parent, set up as the parent above it (the project's scope) is.
  const appParents = app.dirs.map((dir): ParentCgroup => {
    const above = app.parents.find(parent => parent.dir === dirname(dir))
    return {dir, enable: above?.enable ?? [], inheritCpuset: above?.inheritCpuset ?? false}
  })
  return {
    ...app,
    parents: [...app.parents, ...appParents],
    dirs: app.dirs.map(move),
    joined: app.joined.map(hierarchy => ({...hierarchy, dir: move(hierarchy.dir)})),
    writes: app.writes.map(write => (isRelativeWeight(write.path) ? write : {path: move(write.path), value: write.value})),
    procsFiles: app.procsFiles.map(move),
    attachFiles: app.attachFiles.map(move),
    cloneInto: app.cloneInto === undefined ? undefined : move(app.cloneInto),
    deviceProgram: app.deviceProgram && {...app.deviceProgram, cgroup: move(app.deviceProgram.cgroup)},
  }
}

/** How deep an instance's cgroup is below contain's own: contain/<scope>/<app>/<instance>. */
export const INSTANCE_DEPTH = 4
