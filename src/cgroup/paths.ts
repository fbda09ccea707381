// Where app cgroups go: one name for the place, one function that computes an app's directory.
import {join} from 'node:path'

/** Which app a cgroup is for: its project's scope (see appCgroupPath) and its name. */
export interface AppCgroupId {
  scope: string
  name: string
}

/**
 * Every app cgroup is below one `contain` directory in contain's own cgroup, as systemd nests
 * slices: `<own>/contain/<scope>/<app>`. A project's scope is its key (`<name>-<hash>`, see
 * projectKey), so two projects with an app named web never meet. `contain run` has no project:
 * its apps share the scope `run`, where `--name` is what tells them apart, as it always was;
 * no project key can be `run` (a key always ends in -<hash>).
 */
export const CONTAIN_CGROUP = 'contain'
export const RUN_SCOPE = 'run'

/** The one place an app's cgroup path is computed, in the hierarchy whose own cgroup is `ownDir`. */
export function appCgroupPath(ownDir: string, app: AppCgroupId): string {
  return join(scopeCgroupPath(ownDir, app.scope), app.name)
}

/** The directory of one project's (or `contain run`'s) apps in the hierarchy whose own cgroup is `ownDir`. */
export function scopeCgroupPath(ownDir: string, scope: string): string {
  return join(ownDir, CONTAIN_CGROUP, scope)
}
