// The cgroup layer's one entry: the layout (layout.ts), the fs seam (fs.ts), where app cgroups go
// (paths.ts), the plan of every file to write (plan.ts), the created cgroup's lifecycle and readers
// (app-cgroup.ts), the delegation this process holds (delegation.ts) and what a killed contain left
// (stale.ts). v1.ts and v2.ts say how each version spells a limit.
export {AppCgroup, type CgroupOutcome, type CgroupUsage} from './app-cgroup.js'
export {planningLayout} from './delegation.js'
export {hostCgroupFs, type CgroupFs} from './fs.js'
export {detectLayout, type CgroupLayout, type CgroupMode} from './layout.js'
export type {CgroupLimits} from './limits.js'
export {appCgroupPath, CONTAIN_CGROUP, RUN_SCOPE, scopeCgroupPath, type AppCgroupId} from './paths.js'
export {planCgroup, type CgroupPlan, type Delegation, type FileWrite, type ParentCgroup, type ViewMount} from './plan.js'
export {removeStaleScope} from './stale.js'
