import t from 'tap'
import type {CgroupPlan} from '../../../src/cgroup/index.js'
import {enterArguments, reaperArguments, type LaunchPlan} from '../../../src/launch/plan.js'
import {instanceName, planInstance} from '../../../src/supervisor/instance-plan.js'

const APP_DIR = '/sys/fs/cgroup/unified/contain/shop-0123abcd/web'
const cgroup: CgroupPlan = {
  mode: 'v2',
  parents: [
    {dir: '/sys/fs/cgroup/unified/contain', enable: ['memory'], inheritCpuset: false},
    {dir: '/sys/fs/cgroup/unified/contain/shop-0123abcd', enable: ['memory'], inheritCpuset: false},
  ],
  dirs: [APP_DIR],
  writes: [{path: `${APP_DIR}/memory.max`, value: '1048576'}],
  procsFiles: [`${APP_DIR}/cgroup.procs`],
  attachFiles: [],
  cloneInto: APP_DIR,
  viewMounts: [],
  joined: [{dir: APP_DIR, version: 2, controllers: ['memory']}],
}
const chain = ['--', '/usr/bin/unshare', '--pid', '--', '/contain-init', 'run', '--', 'server']
const app = {
  name: 'web',
  namespaces: ['pid'],
  cgroup,
  env: {},
  appArguments: [],
  hiddenPaths: [],
  deviceBinds: [],
  listen: [],
  argv: ['/contain-init', ...enterArguments(cgroup, undefined, reaperArguments(cgroup)), ...chain],
  restartArgv: ['/contain-init', ...enterArguments(cgroup), ...chain],
} as unknown as LaunchPlan

t.test("an instance enters its own cgroup below the app's, with a reaper of its own", async t => {
  t.equal(instanceName(7), 'i7')
  const plan = planInstance(app, 7)
  t.strictSame(plan.cgroup.dirs, [`${APP_DIR}/i7`])
  t.strictSame(plan.argv.slice(plan.argv.indexOf('--')), chain, "the chain after enter is the app's")
  const enter = plan.argv.slice(0, plan.argv.indexOf('--'))
  t.strictSame(
    enter.slice(enter.indexOf('--reap'), enter.indexOf('--reap') + 3),
    ['--reap', '/sys/fs/cgroup/unified', 'contain/shop-0123abcd/web/i7'],
    "the reaper opens contain's own cgroup and finds the instance four levels down",
  )
  t.strictSame(
    enter.slice(enter.indexOf('--clone-into'), enter.indexOf('--clone-into') + 2),
    ['--clone-into', `${APP_DIR}/i7`],
    "born in the instance's cgroup",
  )
  t.notOk(plan.restartArgv?.includes('--reap'), 'the argv without the reaper is there for startApp to tell a reaper is wanted')
  t.ok(plan.restartArgv)
  t.strictSame(app.cgroup.dirs, [APP_DIR], "the app's plan is left alone")
})
