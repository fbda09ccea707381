import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {AppCgroup, appCgroupPath, planCgroup, planningLayout, removeStaleScope, type CgroupLimits} from '../../../src/cgroup/index.js'
import {instanceCgroupPlan} from '../../../src/cgroup/instance.js'
import type {CgroupLayout, Hierarchy} from '../../../src/cgroup/layout.js'
import {flagNaming, nameFields} from '../../../src/config/naming.js'
import {CgroupError, HostError, OptionFieldsError} from '../../../src/errors.js'
import {tempCgroupFs, writeFiles} from '../helpers/cgroup-fs.js'
import {errnoError, rejection, thrown} from '../helpers/errors.js'

/** The cgroup layer names limits by their fields; contain run's config names them by their flags. */
const named = (error: Error) => nameFields(error, flagNaming) as HostError

const MiB = 2 ** 20
const PID = String(process.pid)
/** An app of contain run: the scope every run shares. */
const WEB = {scope: 'run', name: 'web'}
/** A pid that cannot exist (above the kernel's pid_max limit), for "someone else is here". */
const OTHER_PID = '4194999'

const LIMITS: CgroupLimits = {
  cpuQuotaMicros: 50_000,
  cpuPeriodMicros: 100_000,
  cpuShares: 1024,
  memoryBytes: 64 * MiB,
  memoryReservationBytes: 32 * MiB,
  pidsMax: 100,
}

/**
 * This host's hybrid layout below `root`: one v1 hierarchy per controller, contain's own memory
 * cgroup at process_api/abc, an empty cgroup2 at unified. Creates the parent files contain reads.
 */
function hybridHost(root: string, {swapAccounting = true, coMountCpu = false} = {}): CgroupLayout {
  const v1 = (mount: string, controllers: string[], own = ''): Hierarchy => {
    const mountPoint = join(root, mount)
    const ownDir = join(mountPoint, own)
    mkdirSync(ownDir, {recursive: true})
    return {version: 1, mountPoint, ownDir, controllers}
  }
  const hierarchies = [
    ...(coMountCpu ? [v1('cpu,cpuacct', ['cpu', 'cpuacct'])] : [v1('cpu', ['cpu']), v1('cpuacct', ['cpuacct'])]),
    v1('cpuset', ['cpuset']),
    v1('memory', ['memory'], 'process_api/abc'),
    v1('pids', ['pids']),
  ]
  mkdirSync(join(root, 'unified'))
  hierarchies.push({version: 2, mountPoint: join(root, 'unified'), ownDir: join(root, 'unified'), controllers: []})
  writeFiles({
    [join(root, 'cpuset', 'cpuset.mems')]: '0\n',
    [join(root, 'cpuset', 'cpuset.cpus')]: '0-3\n',
    [join(root, 'memory/process_api/abc/memory.limit_in_bytes')]: '9223372036854771712\n',
  })
  if (swapAccounting) writeFiles({[join(root, 'memory/process_api/abc/memory.memsw.limit_in_bytes')]: '9223372036854771712\n'})
  return {mode: 'hybrid', hierarchies}
}

interface V2HostOptions {
  /** contain's own cgroup below the mount; '' is the root cgroup. */
  own?: string
  controllers?: string[]
  subtreeControl?: string
  procs?: string[]
  swapAccounting?: boolean
}

/** A cgroup v2 host below `root`, with contain's own cgroup and its parent files. */
function v2Host(
  root: string,
  {own = '', controllers = ['cpuset', 'cpu', 'io', 'memory', 'pids'], subtreeControl = '', procs = [PID], swapAccounting = true}: V2HostOptions = {},
): CgroupLayout {
  const ownDir = join(root, own)
  mkdirSync(ownDir, {recursive: true})
  writeFiles({
    [join(ownDir, 'cgroup.controllers')]: `${controllers.join(' ')}\n`,
    [join(ownDir, 'cgroup.subtree_control')]: `${subtreeControl}\n`,
    [join(ownDir, 'cgroup.procs')]: procs.map(pid => `${pid}\n`).join(''),
  })
  // Every cgroup but the real root has cgroup.type.
  if (own !== '') writeFiles({[join(ownDir, 'cgroup.type')]: 'domain\n'})
  if (own !== '' && controllers.includes('cpuset')) writeFiles({[join(ownDir, 'cpuset.mems')]: '\n'})
  if (own !== '' && swapAccounting) writeFiles({[join(ownDir, 'memory.swap.max')]: 'max\n'})
  return {mode: 'v2', hierarchies: [{version: 2, mountPoint: root, ownDir, controllers}]}
}

const read = (path: string) => readFileSync(path, 'utf8')

t.test('appCgroupPath nests the app below contain and its scope, as systemd slices nest', async t => {
  t.equal(
    appCgroupPath('/sys/fs/cgroup/system.slice/app.service', {scope: 'shop-0123abcd', name: 'web'}),
    '/sys/fs/cgroup/system.slice/app.service/contain/shop-0123abcd/web',
  )
  t.equal(appCgroupPath('/sys/fs/cgroup/cpu', WEB), '/sys/fs/cgroup/cpu/contain/run/web')
})

t.test('planCgroup', async t => {
  t.test('hybrid/v1: one contain-<name> dir below each hierarchy own dir, with v1 files', async t => {
    const root = t.testdir({})
    const plan = planCgroup(hybridHost(root), WEB, LIMITS, tempCgroupFs())

    t.equal(plan.mode, 'hybrid')
    t.equal(plan.delegation, undefined, 'v1 needs no delegation')
    t.strictSame(plan.dirs, [
      join(root, 'cpu/contain/run/web'),
      join(root, 'cpuacct/contain/run/web'),
      join(root, 'memory/process_api/abc/contain/run/web'),
      join(root, 'pids/contain/run/web'),
    ])
    t.strictSame(
      plan.procsFiles,
      plan.dirs.map(dir => join(dir, 'cgroup.procs')),
    )
    t.strictSame(
      plan.attachFiles,
      plan.dirs.map(dir => join(dir, 'tasks')),
      'v1 joins through tasks: no threadgroup lock',
    )
    t.equal(plan.cloneInto, undefined)
    const memory = join(root, 'memory/process_api/abc/contain/run/web')
    t.strictSame(plan.writes, [
      {path: join(root, 'cpu/contain/run/web/cpu.cfs_period_us'), value: '100000'},
      {path: join(root, 'cpu/contain/run/web/cpu.cfs_quota_us'), value: '50000'},
      {path: join(root, 'cpu/contain/run/web/cpu.shares'), value: '1024'},
      {path: join(memory, 'memory.limit_in_bytes'), value: String(64 * MiB)},
      {path: join(memory, 'memory.memsw.limit_in_bytes'), value: String(128 * MiB)},
      {path: join(memory, 'memory.soft_limit_in_bytes'), value: String(32 * MiB)},
      {path: join(root, 'pids/contain/run/web/pids.max'), value: '100'},
    ])
  })

  t.test('hybrid/v1: the app sees a tmpfs at the cgroup root and a fresh mount of every hierarchy', async t => {
    const root = t.testdir({})
    const plan = planCgroup(hybridHost(root), WEB, {}, tempCgroupFs())
    t.strictSame(plan.viewMounts, [
      {fsType: 'tmpfs', target: root, data: 'mode=755'},
      {fsType: 'cgroup', target: join(root, 'cpu'), data: 'cpu'},
      {fsType: 'cgroup', target: join(root, 'cpuacct'), data: 'cpuacct'},
      {fsType: 'cgroup', target: join(root, 'cpuset'), data: 'cpuset'},
      {fsType: 'cgroup', target: join(root, 'memory'), data: 'memory'},
      {fsType: 'cgroup', target: join(root, 'pids'), data: 'pids'},
      {fsType: 'cgroup2', target: join(root, 'unified'), data: ''},
    ])
  })

  t.test('v1: co-mounted controllers are mounted together', async t => {
    const root = t.testdir({})
    const plan = planCgroup(hybridHost(root, {coMountCpu: true}), WEB, {}, tempCgroupFs())
    t.strictSame(plan.viewMounts[1], {fsType: 'cgroup', target: join(root, 'cpu,cpuacct'), data: 'cpu,cpuacct'})
  })

  t.test('v2: the app sees one fresh cgroup2 mount, and no tmpfs', async t => {
    const root = t.testdir({})
    const plan = planCgroup(v2Host(root, {own: 'app.service'}), WEB, {}, tempCgroupFs())
    t.strictSame(plan.viewMounts, [{fsType: 'cgroup2', target: root, data: ''}])
  })

  t.test('planning touches nothing on the host', async t => {
    const root = t.testdir({})
    const layout = hybridHost(root)
    const before = readdirSync(join(root, 'cpu'))
    const fs = tempCgroupFs()
    planCgroup(layout, WEB, LIMITS, fs)
    t.strictSame(fs.calls, [])
    t.strictSame(readdirSync(join(root, 'cpu')), before)
  })

  t.test('v1: cpu and cpuacct co-mounted share one dir', async t => {
    const root = t.testdir({})
    const plan = planCgroup(hybridHost(root, {coMountCpu: true}), WEB, {cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000}, tempCgroupFs())
    t.strictSame(plan.dirs, [
      join(root, 'cpu,cpuacct/contain/run/web'),
      join(root, 'memory/process_api/abc/contain/run/web'),
      join(root, 'pids/contain/run/web'),
    ])
    t.strictSame(
      plan.writes.map(write => write.path),
      [join(root, 'cpu,cpuacct/contain/run/web/cpu.cfs_period_us'), join(root, 'cpu,cpuacct/contain/run/web/cpu.cfs_quota_us')],
    )
  })

  t.test('v1: cpuset is joined only with --cpuset-cpus, and copies the parent mems', async t => {
    const root = t.testdir({})
    const layout = hybridHost(root)
    const without = planCgroup(layout, WEB, {}, tempCgroupFs())
    t.notOk(
      without.dirs.some(dir => dir.startsWith(join(root, 'cpuset'))),
      'no cpuset dir without --cpuset-cpus',
    )

    const pinned = planCgroup(layout, WEB, {cpusetCpus: '1'}, tempCgroupFs())
    t.ok(pinned.dirs.includes(join(root, 'cpuset/contain/run/web')))
    t.strictSame(pinned.writes, [
      {path: join(root, 'cpuset/contain/run/web/cpuset.cpus'), value: '1'},
      {path: join(root, 'cpuset/contain/run/web/cpuset.mems'), value: '0'},
    ])
  })

  t.test('v1: default swap needs memory.memsw.limit_in_bytes in the parent; without it, none is written', async t => {
    const root = t.testdir({})
    const plan = planCgroup(hybridHost(root, {swapAccounting: false}), WEB, {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.strictSame(
      plan.writes.map(write => write.path),
      [join(root, 'memory/process_api/abc/contain/run/web/memory.limit_in_bytes')],
    )
  })

  t.test('v1: explicit --memory-swap without swap accounting names the limit, which config names as the user wrote it', async t => {
    const root = t.testdir({})
    const error = thrown(() =>
      planCgroup(hybridHost(root, {swapAccounting: false}), WEB, {memoryBytes: 64 * MiB, memorySwapBytes: 'unlimited'}, tempCgroupFs()),
    )
    t.type(error, OptionFieldsError)
    t.strictSame((error as OptionFieldsError).fields, ['memorySwapBytes'])
    t.match(named(error).message, /^--memory-swap needs swap accounting/)
  })

  t.test('v1: a requested limit whose hierarchy is not mounted is a HostError naming the flag', async t => {
    const root = t.testdir({})
    const layout = hybridHost(root)
    layout.hierarchies = layout.hierarchies.filter(hierarchy => !hierarchy.controllers.includes('pids'))
    const error = named(thrown(() => planCgroup(layout, WEB, {pidsMax: 10}, tempCgroupFs())))
    t.type(error, HostError)
    t.match(error.message, /--pids-limit needs the pids cgroup controller/)
    t.match(error.fix, /mount the pids controller, or leave --pids-limit out/)
  })

  t.test('a missing controller that no limit needs is skipped', async t => {
    const root = t.testdir({})
    const layout = hybridHost(root)
    layout.hierarchies = layout.hierarchies.filter(hierarchy => !hierarchy.controllers.includes('pids'))
    const plan = planCgroup(layout, WEB, {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.notOk(plan.dirs.some(dir => dir.includes('pids')))
    t.ok(plan.dirs.includes(join(root, 'memory/process_api/abc/contain/run/web')))
  })

  t.test('v2 root cgroup: app dir below the root, missing controllers enabled, no leaf move', async t => {
    const root = t.testdir({})
    const plan = planCgroup(v2Host(root, {subtreeControl: 'cpu'}), WEB, LIMITS, tempCgroupFs())

    t.equal(plan.mode, 'v2')
    t.strictSame(plan.delegation, {ownDir: root, enable: ['memory', 'pids']}, 'the root cgroup may hold processes: no leafDir')
    t.strictSame(plan.dirs, [join(root, 'contain/run/web')])
    t.strictSame(plan.procsFiles, [join(root, 'contain/run/web/cgroup.procs')])
    t.strictSame(plan.attachFiles, [], 'v2 is not joined by a write')
    t.equal(plan.cloneInto, join(root, 'contain/run/web'), 'the launcher is cloned into it')
    const dir = join(root, 'contain/run/web')
    t.strictSame(plan.writes, [
      {path: join(dir, 'cpu.max'), value: '50000 100000'},
      {path: join(dir, 'cpu.weight'), value: '39'},
      {path: join(dir, 'memory.max'), value: String(64 * MiB)},
      {path: join(dir, 'memory.oom.group'), value: '1'},
      {path: join(dir, 'memory.swap.max'), value: String(64 * MiB)},
      {path: join(dir, 'memory.low'), value: String(32 * MiB)},
      {path: join(dir, 'pids.max'), value: '100'},
    ])
  })

  t.test('v2 non-root own cgroup: delegation moves contain into contain.supervisor', async t => {
    const root = t.testdir({})
    const own = join(root, 'system.slice/app.service')
    const plan = planCgroup(v2Host(root, {own: 'system.slice/app.service'}), WEB, {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.strictSame(plan.delegation, {ownDir: own, leafDir: join(own, 'contain.supervisor'), enable: ['cpu', 'memory', 'pids']})
    t.strictSame(plan.dirs, [join(own, 'contain/run/web')])
  })

  t.test('v2 cgroup-namespace root (a container): not the real root, so contain still moves to a leaf', async t => {
    const root = t.testdir({})
    const layout = v2Host(root)
    writeFiles({[join(root, 'cgroup.type')]: 'domain\n'}) // only the real root cgroup lacks cgroup.type
    const plan = planCgroup(layout, WEB, {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.equal(plan.delegation?.leafDir, join(root, 'contain.supervisor'), 'moves contain out of the namespace root')
  })

  t.test('v2 cgroup-namespace root without swap accounting: no memory.swap.max write', async t => {
    const root = t.testdir({})
    const layout = v2Host(root)
    writeFiles({[join(root, 'cgroup.type')]: 'domain\n', [join(root, 'memory.max')]: 'max\n'})
    const plan = planCgroup(layout, WEB, {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.notOk(
      plan.writes.some(write => write.path.endsWith('memory.swap.max')),
      'no swap file the kernel does not offer',
    )
  })

  t.test('v2: controllers already enabled in subtree_control need no delegation', async t => {
    const root = t.testdir({})
    const plan = planCgroup(v2Host(root, {own: 'app.slice', subtreeControl: 'cpu io memory pids'}), WEB, {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.equal(plan.delegation, undefined)
  })

  t.test('v2: delegation enables only the controllers contain joins', async t => {
    const root = t.testdir({})
    const plan = planCgroup(v2Host(root, {own: 'app.slice', controllers: ['memory', 'pids', 'io']}), WEB, {}, tempCgroupFs())
    t.strictSame(plan.delegation?.enable, ['memory', 'pids'], 'no cpu (not delegated), no io (not used)')
  })

  t.test('v2 non-root: swap is written only when the parent has memory.swap.max', async t => {
    const withSwap = planCgroup(v2Host(t.testdir({}), {own: 'a'}), WEB, {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.ok(withSwap.writes.some(write => write.path.endsWith('memory.swap.max')))
    const withoutSwap = planCgroup(v2Host(t.testdir({}), {own: 'a', swapAccounting: false}), WEB, {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.notOk(withoutSwap.writes.some(write => write.path.endsWith('memory.swap.max')))
  })

  t.test('v2: a requested limit whose controller is not delegated is a HostError naming the flag and Delegate=yes', async t => {
    const root = t.testdir({})
    const layout = v2Host(root, {own: 'user.slice/session.scope', controllers: ['memory', 'pids']})
    const error = named(thrown(() => planCgroup(layout, WEB, {cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000}, tempCgroupFs())))
    t.type(error, HostError)
    t.match(error.message, /^--cpus needs the cpu cgroup controller/, 'names only the limit that was set')
    t.match(error.fix, /Delegate=yes/)
    const both = named(thrown(() => planCgroup(layout, WEB, {cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000, cpuShares: 512}, tempCgroupFs())))
    t.match(both.message, /^--cpus, --cpu-shares need the cpu cgroup controller/)

    const cpuset = named(thrown(() => planCgroup(layout, WEB, {cpusetCpus: '0'}, tempCgroupFs())))
    t.type(cpuset, HostError)
    t.match(cpuset.message, /--cpuset-cpus needs the cpuset cgroup controller/)
  })

  t.test('v2 non-root: --cpuset-cpus writes cpuset.cpus only', async t => {
    const root = t.testdir({})
    const plan = planCgroup(v2Host(root, {own: 'a', subtreeControl: 'cpuset cpu memory pids'}), WEB, {cpusetCpus: '0-1'}, tempCgroupFs())
    t.strictSame(plan.writes, [{path: join(root, 'a/contain/run/web/cpuset.cpus'), value: '0-1'}])
  })

  t.test('v2 root: --cpuset-cpus works although the root cgroup has no cpuset.mems', async t => {
    const root = t.testdir({})
    let writes: unknown
    t.doesNotThrow(() => {
      writes = planCgroup(v2Host(root, {subtreeControl: 'cpuset cpu memory pids'}), WEB, {cpusetCpus: '0-1'}, tempCgroupFs()).writes
    }, 'plans without reading cpuset.mems')
    t.strictSame(writes, [{path: join(root, 'contain/run/web/cpuset.cpus'), value: '0-1'}], 'writes cpuset.cpus only')
  })
})

t.test('AppCgroup.create and remove', async t => {
  t.test('v1: creates every dir, writes every value, and remove() undoes it all', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const plan = planCgroup(hybridHost(root), WEB, LIMITS, fs)
    const cgroup = AppCgroup.create(plan, fs)

    for (const dir of plan.dirs) t.ok(existsSync(dir), `created ${dir}`)
    for (const {path, value} of plan.writes) t.equal(read(path), value, `wrote ${path}`)

    await cgroup.remove()
    for (const dir of plan.dirs) t.notOk(existsSync(dir), `removed ${dir}`)
    t.ok(existsSync(join(root, 'memory/process_api/abc')), "contain's own cgroup stays")
    t.strictSame(
      fs.calls.filter(call => call.op === 'rmdir').map(call => call.path),
      [...plan.dirs].reverse().concat(plan.parents.map(parent => parent.dir).reverse()),
      'removed in reverse order, the app dirs, then their parents bottom-up',
    )
    t.notOk(existsSync(join(root, 'cpu/contain')), 'the empty contain parent is gone')
  })

  t.test('v2 with delegation: moves contain to the leaf, enables controllers; remove() reverses it in order', async t => {
    const root = t.testdir({})
    const own = join(root, 'app.service')
    const leaf = join(own, 'contain.supervisor')
    const fs = tempCgroupFs()
    const plan = planCgroup(v2Host(root, {own: 'app.service'}), WEB, {memoryBytes: 64 * MiB}, fs)
    const cgroup = AppCgroup.create(plan, fs)

    t.equal(read(join(leaf, 'cgroup.procs')), PID, 'contain moved itself into the leaf')
    t.equal(read(join(own, 'cgroup.subtree_control')), '+cpu +memory +pids')
    t.strictSame(
      fs.calls.slice(0, 8),
      [
        {op: 'mkdir', path: leaf},
        {op: 'write', path: join(leaf, 'cgroup.procs'), value: PID},
        {op: 'write', path: join(own, 'cgroup.subtree_control'), value: '+cpu +memory +pids'},
        {op: 'mkdir', path: join(own, 'contain')},
        {op: 'write', path: join(own, 'contain/cgroup.subtree_control'), value: '+cpu +memory +pids'},
        {op: 'mkdir', path: join(own, 'contain/run')},
        {op: 'write', path: join(own, 'contain/run/cgroup.subtree_control'), value: '+cpu +memory +pids'},
        {op: 'mkdir', path: join(own, 'contain/run/web')},
      ],
      'leaves its own cgroup before enabling controllers, passes them down each parent, then creates the app dir',
    )

    const before = fs.calls.length
    await cgroup.remove()
    t.strictSame(
      fs.calls.slice(before),
      [
        {op: 'rmdir', path: join(own, 'contain/run/web')},
        {op: 'rmdir', path: join(own, 'contain/run')},
        {op: 'rmdir', path: join(own, 'contain')},
        {op: 'write', path: join(own, 'cgroup.subtree_control'), value: '-cpu -memory -pids'},
        {op: 'write', path: join(own, 'cgroup.procs'), value: PID},
        {op: 'rmdir', path: leaf},
      ],
      'removes the parents, disables controllers before moving contain back, then removes the leaf',
    )
    t.notOk(existsSync(leaf))
  })

  t.test('v2: a supervisor in its leaf plans a later app (a changed contain.yml) in the delegated cgroup, and the app holds the delegation', async t => {
    const root = t.testdir({})
    const own = join(root, 'app.service')
    const leaf = join(own, 'contain.supervisor')
    const fs = tempCgroupFs()
    const layout = v2Host(root, {own: 'app.service'})
    const web = AppCgroup.create(planCgroup(planningLayout(layout), WEB, {memoryBytes: 64 * MiB}, fs), fs)
    // Now contain sits in the leaf (as /proc/self/cgroup says), next to web's launcher; the kernel shows the enabled controllers.
    writeFiles({
      [join(own, 'cgroup.subtree_control')]: 'cpu memory pids\n',
      [join(leaf, 'cgroup.procs')]: `${PID}\n${OTHER_PID}\n`,
      [join(leaf, 'cgroup.controllers')]: 'cpu memory pids\n',
    })
    const seen: CgroupLayout = {mode: 'v2', hierarchies: [{...layout.hierarchies[0], ownDir: leaf}]}
    t.equal(planningLayout(seen).hierarchies[0].ownDir, own, 'the leaf is seen through to the delegated cgroup')
    const plan = planCgroup(planningLayout(seen), {scope: 'run', name: 'cron'}, {memoryBytes: 32 * MiB}, fs)
    t.strictSame(plan.dirs, [join(own, 'contain/run/cron')], 'beside web, not below the leaf')
    t.strictSame(
      plan.delegation,
      {ownDir: own, leafDir: leaf, enable: ['cpu', 'memory', 'pids']},
      'controllers enabled by this process still take the delegation',
    )
    const cron = AppCgroup.create(plan, fs)
    const before = fs.calls.length
    await web.remove()
    t.strictSame(fs.calls.slice(before), [{op: 'rmdir', path: join(own, 'contain/run/web')}], 'web gone: cron still holds the delegation, nothing disabled')
    await cron.remove()
    t.strictSame(fs.writesTo(join(own, 'cgroup.subtree_control')).at(-1), '-cpu -memory -pids', 'the last app undoes it')
    t.notOk(existsSync(leaf))
    t.equal(planningLayout(seen).hierarchies[0].ownDir, leaf, 'no delegation left: the layout as it is')
  })

  t.test('v2 root delegation: enables controllers without moving contain', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const plan = planCgroup(v2Host(root, {subtreeControl: 'cpu memory'}), WEB, {pidsMax: 'unlimited'}, fs)
    const cgroup = AppCgroup.create(plan, fs)
    t.strictSame(fs.writesTo(join(root, 'cgroup.subtree_control')), ['+pids'])
    t.equal(read(join(root, 'contain/run/web/pids.max')), 'max')
    t.notOk(existsSync(join(root, 'contain.supervisor')))
    await cgroup.remove()
    t.strictSame(fs.writesTo(join(root, 'cgroup.subtree_control')), ['+pids', '-pids'])
    t.strictSame(fs.writesTo(join(root, 'cgroup.procs')), [], 'contain never moved')
  })

  t.test('a rejected write rolls back every dir and throws a CgroupError naming the file and value', async t => {
    const root = t.testdir({})
    const layout = hybridHost(root)
    const failing = join(root, 'memory/process_api/abc/contain/run/web/memory.limit_in_bytes')
    const fs = tempCgroupFs(path => (path === failing ? errnoError('EINVAL', path) : undefined))
    const plan = planCgroup(layout, WEB, LIMITS, fs)

    const error = thrown(() => AppCgroup.create(plan, fs))
    t.type(error, CgroupError)
    t.equal((error as CgroupError).path, failing)
    t.equal(error.message, `cgroup ${failing}: cannot write "${64 * MiB}": the kernel rejected the value`)
    t.match((error as CgroupError).fix, /leave the limit out/)
    t.equal((error.cause as NodeJS.ErrnoException).code, 'EINVAL', 'keeps the cause')
    for (const dir of plan.dirs) t.notOk(existsSync(dir), `rolled back ${dir}`)
  })

  t.test('write errors are described by errno', async t => {
    for (const [code, text] of [
      ['EBUSY', 'the cgroup is busy'],
      ['EACCES', 'permission denied'],
      ['EPERM', 'permission denied'],
      ['ENOENT', 'the kernel does not offer this file'],
    ]) {
      const root = t.testdir({})
      const fs = tempCgroupFs(path => (path.endsWith('pids.max') ? errnoError(code, path) : undefined))
      const error = thrown(() => AppCgroup.create(planCgroup(hybridHost(root), WEB, {pidsMax: 5}, fs), fs))
      t.match(error.message, new RegExp(`cannot write "5": ${text}$`), code)
    }
  })

  t.test('a rejected write also undoes the delegation', async t => {
    const root = t.testdir({})
    const own = join(root, 'app.service')
    const fs = tempCgroupFs(path => (path.endsWith('cpu.max') ? errnoError('EINVAL', path) : undefined))
    const plan = planCgroup(v2Host(root, {own: 'app.service'}), WEB, {cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000}, fs)

    const error = thrown(() => AppCgroup.create(plan, fs))
    t.type(error, CgroupError)
    t.match(error.message, /cpu\.max: cannot write "50000 100000"/)
    t.notOk(existsSync(join(own, 'contain/run/web')), 'app dir removed')
    t.notOk(existsSync(join(own, 'contain.supervisor')), 'leaf removed')
    t.strictSame(fs.writesTo(join(own, 'cgroup.subtree_control')), ['+cpu +memory +pids', '-cpu -memory -pids'], 'controllers disabled again')
    t.strictSame(fs.writesTo(join(own, 'cgroup.procs')), [PID], 'contain moved back')
  })

  t.test('a dir that cannot be created is a CgroupError with the fix, and earlier dirs are rolled back', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const plan = planCgroup(hybridHost(root), WEB, {}, fs)
    const mkdir = fs.mkdir
    fs.mkdir = path => {
      if (path.includes('/memory/')) throw errnoError('EACCES', path)
      mkdir(path)
    }
    const error = thrown(() => AppCgroup.create(plan, fs))
    t.type(error, CgroupError)
    t.match(error.message, /memory\/process_api\/abc\/contain: cannot create: permission denied/, 'the first directory the kernel refused')
    t.match((error as CgroupError).fix, /run contain as root/)
    t.notOk(existsSync(join(root, 'cpu/contain')), 'parents made before it are removed too')
    t.notOk(existsSync(join(root, 'cpuacct/contain')))
  })

  t.test('an empty app dir left by a killed contain is replaced', async t => {
    const root = t.testdir({})
    const stale = join(root, 'pids/contain/run/web')
    writeFiles({[join(stale, 'cgroup.procs')]: '', [join(stale, 'stale-marker')]: 'x'})
    const fs = tempCgroupFs()
    const plan = planCgroup(hybridHost(root), WEB, {pidsMax: 5}, fs)
    const cgroup = AppCgroup.create(plan, fs)
    t.notOk(existsSync(join(stale, 'stale-marker')), 'the old dir was removed')
    t.equal(read(join(stale, 'pids.max')), '5', 'and the new one written')
    await cgroup.remove()
    t.notOk(existsSync(stale))
  })

  t.test('an app dir with a process in it means the app is already running', async t => {
    const root = t.testdir({})
    const live = join(root, 'memory/process_api/abc/contain/run/web')
    writeFiles({[join(live, 'cgroup.procs')]: `${OTHER_PID}\n`})
    const fs = tempCgroupFs()
    const plan = planCgroup(hybridHost(root), WEB, {memoryBytes: 64 * MiB}, fs)

    const error = thrown(() => AppCgroup.create(plan, fs))
    t.type(error, CgroupError)
    t.equal(error.message, `cgroup ${live}: an app named "web" is already running`)
    t.match((error as CgroupError).fix, /another --name/)
    t.equal(read(join(live, 'cgroup.procs')), `${OTHER_PID}\n`, "the running app's cgroup is left alone")
    t.notOk(existsSync(join(root, 'cpu/contain/run/web')), 'dirs made before it are rolled back')
  })

  t.test('delegation refuses when another process shares contain own cgroup', async t => {
    const root = t.testdir({})
    const own = join(root, 'user.slice/session-1.scope')
    const fs = tempCgroupFs()
    const plan = planCgroup(v2Host(root, {own: 'user.slice/session-1.scope', procs: [PID, OTHER_PID]}), WEB, {}, fs)

    const error = thrown(() => AppCgroup.create(plan, fs))
    t.type(error, CgroupError)
    t.equal((error as CgroupError).path, own)
    t.match(error.message, new RegExp(`must be the only process in its cgroup .*also there: ${OTHER_PID}\\)`))
    t.match((error as CgroupError).fix, /Delegate=yes/)
    t.strictSame(fs.calls, [], 'nothing was created or written')
  })

  t.test("delegation takes contain's own helpers along (notify, journal forwarder): into the leaf and back", async t => {
    const root = t.testdir({})
    const own = join(root, 'app.service')
    const leaf = join(own, 'contain.supervisor')
    const helper = spawn('sleep', ['30'], {stdio: 'ignore'})
    t.teardown(() => helper.kill('SIGKILL'))
    const HELPER = String(helper.pid)
    const fs = tempCgroupFs()
    const plan = planCgroup(v2Host(root, {own: 'app.service', procs: [PID, HELPER, OTHER_PID.replace(/9$/, '8')]}), WEB, {}, fs)
    // Another process than contain's children still refuses; a child of contain does not.
    t.match(thrown(() => AppCgroup.create(plan, fs)).message, /also there: 4194998\)/)
    writeFileSync(join(own, 'cgroup.procs'), `${PID}\n${HELPER}\n`)
    const cgroup = AppCgroup.create(plan, fs)
    t.strictSame(fs.writesTo(join(leaf, 'cgroup.procs')), [PID, HELPER], 'contain first, then its helper')
    const before = fs.calls.length
    await cgroup.remove()
    t.strictSame(
      fs.calls
        .slice(before)
        .filter(call => call.op === 'write' && call.path === join(own, 'cgroup.procs'))
        .map(call => (call as {value?: string}).value),
      [PID, HELPER],
      'both moved back before the leaf is removed',
    )
    t.notOk(existsSync(leaf))
  })

  t.test('delegation accepts contain alone in its cgroup', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const cgroup = AppCgroup.create(planCgroup(v2Host(root, {own: 'a', procs: [PID]}), WEB, {}, fs), fs)
    t.ok(existsSync(join(root, 'a/contain.supervisor')))
    await cgroup.remove()
  })

  t.test('a failed removal is reported and can be retried from where it stopped', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const plan = planCgroup(hybridHost(root, {coMountCpu: true}), WEB, {}, fs)
    const cgroup = AppCgroup.create(plan, fs)
    const rmdir = fs.rmdir
    let busy = true
    fs.rmdir = path => {
      if (busy && path.includes('memory')) throw errnoError('EBUSY', path)
      rmdir(path)
    }

    const error = await rejection(cgroup.remove())
    t.type(error, CgroupError)
    t.match(error.message, /cannot remove/)
    t.notOk(existsSync(join(root, 'pids/contain/run/web')), 'steps before the failure ran')
    t.ok(existsSync(join(root, 'memory/process_api/abc/contain/run/web')))
    t.ok(existsSync(join(root, 'cpu,cpuacct/contain/run/web')), 'steps after the failure wait')

    busy = false
    await cgroup.remove()
    for (const dir of plan.dirs) t.notOk(existsSync(dir), `finally removed ${dir}`)
  })
})

t.test('AppCgroup.outcome', async t => {
  t.test('v1: OOM kills from memory.oom_control, peak from max_usage_in_bytes, and the limit', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const cgroup = AppCgroup.create(planCgroup(hybridHost(root), WEB, {memoryBytes: 64 * MiB}, fs), fs)
    const dir = join(root, 'memory/process_api/abc/contain/run/web')
    writeFiles({
      [join(dir, 'memory.oom_control')]: 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
      [join(dir, 'memory.max_usage_in_bytes')]: `${60 * MiB}\n`,
    })
    t.strictSame(cgroup.outcome(), {oomKills: 1, peakMemoryBytes: 60 * MiB, memoryLimitBytes: 64 * MiB})
  })

  t.test('v1: the "unlimited" value of memory.limit_in_bytes is no limit', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const cgroup = AppCgroup.create(planCgroup(hybridHost(root), WEB, {}, fs), fs)
    const dir = join(root, 'memory/process_api/abc/contain/run/web')
    writeFiles({
      [join(dir, 'memory.oom_control')]: 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
      [join(dir, 'memory.max_usage_in_bytes')]: '4096\n',
      [join(dir, 'memory.limit_in_bytes')]: '9223372036854771712\n',
    })
    t.strictSame(cgroup.outcome(), {oomKills: 0, peakMemoryBytes: 4096, memoryLimitBytes: undefined})
  })

  t.test('v2: OOM kills from memory.events, peak from memory.peak, limit from memory.max', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const cgroup = AppCgroup.create(planCgroup(v2Host(root, {subtreeControl: 'cpu memory pids'}), WEB, {memoryBytes: 64 * MiB}, fs), fs)
    writeFiles({
      [join(root, 'contain/run/web/memory.events')]: 'low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\noom_group_kill 1\n',
      [join(root, 'contain/run/web/memory.peak')]: `${64 * MiB}\n`,
    })
    t.strictSame(cgroup.outcome(), {oomKills: 2, peakMemoryBytes: 64 * MiB, memoryLimitBytes: 64 * MiB})
  })

  t.test('v2: memory.max "max" is no limit, and a kernel without memory.peak gives no peak', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const cgroup = AppCgroup.create(planCgroup(v2Host(root, {subtreeControl: 'cpu memory pids'}), WEB, {}, fs), fs)
    writeFiles({[join(root, 'contain/run/web/memory.events')]: 'oom_kill 0\n', [join(root, 'contain/run/web/memory.max')]: 'max\n'})
    t.strictSame(cgroup.outcome(), {oomKills: 0, peakMemoryBytes: undefined, memoryLimitBytes: undefined})
  })

  t.test('no memory controller files: no OOM kills and nothing else', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const cgroup = AppCgroup.create(planCgroup(hybridHost(root), WEB, {}, fs), fs)
    t.strictSame(cgroup.outcome(), {oomKills: 0})
  })
})

t.test('AppCgroup.pids lists each process once across hierarchies', async t => {
  const root = t.testdir({})
  const fs = tempCgroupFs()
  const cgroup = AppCgroup.create(planCgroup(hybridHost(root), WEB, {}, fs), fs)
  writeFileSync(join(root, 'cpu/contain/run/web/cgroup.procs'), `${OTHER_PID}\n4194998\n`)
  writeFileSync(join(root, 'pids/contain/run/web/cgroup.procs'), `${OTHER_PID}\n`)
  t.strictSame(cgroup.pids().sort(), [4_194_998, Number(OTHER_PID)])
})

t.test('AppCgroup.killAll uses cgroup.kill where the kernel has it', async t => {
  const root = t.testdir({})
  const fs = tempCgroupFs()
  const cgroup = AppCgroup.create(planCgroup(v2Host(root, {subtreeControl: 'cpu memory pids'}), WEB, {}, fs), fs)
  writeFileSync(join(root, 'contain/run/web/cgroup.kill'), '')
  cgroup.killAll()
  t.strictSame(fs.writesTo(join(root, 'contain/run/web/cgroup.kill')), ['1'])
})

t.test('projects side by side: contain/<project>/<app>', async t => {
  const SHOP = {scope: 'shop-0123abcd', name: 'web'}
  const BLOG = {scope: 'blog-89abcdef', name: 'web'}

  t.test('two projects with an app named web get two cgroups; the shared parents go with the last app', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const layout = hybridHost(root)
    const shop = AppCgroup.create(planCgroup(layout, SHOP, {pidsMax: 5}, fs), fs)
    const blog = AppCgroup.create(planCgroup(layout, BLOG, {pidsMax: 7}, fs), fs)
    t.equal(read(join(root, 'pids/contain/shop-0123abcd/web/pids.max')), '5')
    t.equal(read(join(root, 'pids/contain/blog-89abcdef/web/pids.max')), '7')
    t.strictSame(
      shop.plan.parents.filter(parent => parent.dir.startsWith(join(root, 'pids/'))).map(parent => parent.dir),
      [join(root, 'pids/contain'), join(root, 'pids/contain/shop-0123abcd')],
      'contain, then the project, above the app',
    )
    t.notOk(fs.writesTo(join(root, 'pids/contain/pids.max')).length > 0, 'no limit on a shared parent')

    await shop.remove()
    t.notOk(existsSync(join(root, 'pids/contain/shop-0123abcd')), "the project's dir goes with its last app")
    t.ok(existsSync(join(root, 'pids/contain/blog-89abcdef/web')), "the other project's app is untouched")
    t.ok(existsSync(join(root, 'pids/contain')), 'contain stays while another project uses it')
    await blog.remove()
    t.notOk(existsSync(join(root, 'pids/contain')), 'and goes with the last project')
  })

  t.test('v1 cpuset: a parent made by contain gets its parent CPUs and memory nodes, an existing one keeps its own', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const layout = hybridHost(root)
    writeFiles({[join(root, 'cpuset/contain/cpuset.cpus')]: '1-2\n', [join(root, 'cpuset/contain/cpuset.mems')]: '0\n'})
    const cgroup = AppCgroup.create(planCgroup(layout, SHOP, {cpusetCpus: '1'}, fs), fs)
    t.strictSame(fs.writesTo(join(root, 'cpuset/contain/cpuset.cpus')), [], 'the existing parent is not written')
    t.strictSame(fs.writesTo(join(root, 'cpuset/contain/shop-0123abcd/cpuset.cpus')), ['1-2'], 'the new one copies its parent')
    t.strictSame(fs.writesTo(join(root, 'cpuset/contain/shop-0123abcd/cpuset.mems')), ['0'])
    t.equal(read(join(root, 'cpuset/contain/shop-0123abcd/web/cpuset.cpus')), '1')
    await cgroup.remove()
  })

  t.test('v2: an existing parent gets the controllers enabled, and another contain keeps the delegation it needs', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    // Another contain (another process) runs blog's web below the same root cgroup.
    writeFiles({[join(root, 'contain/blog-89abcdef/web/cgroup.procs')]: `${OTHER_PID}\n`, [join(root, 'contain/cgroup.subtree_control')]: 'memory\n'})
    const cgroup = AppCgroup.create(planCgroup(v2Host(root, {subtreeControl: ''}), SHOP, {memoryBytes: 64 * MiB}, fs), fs)
    t.strictSame(fs.writesTo(join(root, 'contain/cgroup.subtree_control')), ['+cpu +memory +pids'])
    t.strictSame(fs.writesTo(join(root, 'contain/shop-0123abcd/cgroup.subtree_control')), ['+cpu +memory +pids'])
    await cgroup.remove()
    t.ok(existsSync(join(root, 'contain/blog-89abcdef/web')), "the other contain's app is untouched")
    t.notOk(existsSync(join(root, 'contain/shop-0123abcd')))
    t.strictSame(
      fs.writesTo(join(root, 'cgroup.subtree_control')),
      ['+cpu +memory +pids'],
      'controllers stay enabled for the other contain (disabling them would fail with EBUSY)',
    )
  })

  t.test('a parent removed by another project while the chain is made: made again, not a failure', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const layout = hybridHost(root)
    const mkdir = fs.mkdir
    let raced = false
    fs.mkdir = path => {
      // Between our mkdir of contain (EEXIST or new) and of the project: the other's last app removes contain.
      if (!raced && path === join(root, 'pids/contain/shop-0123abcd')) {
        raced = true
        fs.rmdir(join(root, 'pids/contain'))
        throw errnoError('ENOENT', path)
      }
      mkdir(path)
    }
    const cgroup = AppCgroup.create(planCgroup(layout, SHOP, {pidsMax: 5}, fs), fs)
    t.ok(raced, 'the race happened')
    t.equal(read(join(root, 'pids/contain/shop-0123abcd/web/pids.max')), '5', 'the chain was made again')
    await cgroup.remove()
    for (const hierarchy of ['cpu', 'cpuacct', 'pids', 'memory/process_api/abc'])
      t.notOk(existsSync(join(root, hierarchy, 'contain')), `nothing left in ${hierarchy}`)
  })

  t.test('a parent that keeps vanishing is a CgroupError that names it, after a few attempts', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const mkdir = fs.mkdir
    let attempts = 0
    fs.mkdir = path => {
      if (path === join(root, 'pids/contain/shop-0123abcd')) {
        attempts++
        throw errnoError('ENOENT', path)
      }
      mkdir(path)
    }
    const error = thrown(() => AppCgroup.create(planCgroup(hybridHost(root), SHOP, {pidsMax: 5}, fs), fs))
    t.type(error, CgroupError)
    t.match(error.message, /pids\/contain: keeps being removed/)
    t.ok(attempts > 1 && attempts <= 20, `tried ${attempts} times`)
    t.notOk(existsSync(join(root, 'cpu/contain')), 'what was made is removed')
  })

  t.test('an app of the same project already running is named with its project', async t => {
    const root = t.testdir({})
    writeFiles({[join(root, 'pids/contain/shop-0123abcd/web/cgroup.procs')]: `${OTHER_PID}\n`})
    const fs = tempCgroupFs()
    const error = thrown(() => AppCgroup.create(planCgroup(hybridHost(root), SHOP, {pidsMax: 5}, fs), fs))
    t.match(error.message, /an app named "web" is already running in project shop$/)
    t.ok(existsSync(join(root, 'pids/contain/shop-0123abcd/web')), 'left alone')
  })

  t.test('removeStaleScope removes the empty app dirs, the scope, contain and the leaf; never a live one', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    writeFiles({
      [join(root, 'pids/contain/shop-0123abcd/web/cgroup.procs')]: '',
      [join(root, 'pids/contain/shop-0123abcd/worker/cgroup.procs')]: '',
      [join(root, 'pids/contain.supervisor/cgroup.procs')]: '',
      [join(root, 'memory/contain/shop-0123abcd/web/cgroup.procs')]: `${OTHER_PID}\n`,
      [join(root, 'memory/contain/shop-0123abcd/worker/cgroup.procs')]: '',
    })
    removeStaleScope([join(root, 'pids/contain/shop-0123abcd'), join(root, 'memory/contain/shop-0123abcd'), join(root, 'cpu/not-contain/shop-0123abcd')], fs)
    t.notOk(existsSync(join(root, 'pids/contain')), 'all of it in pids')
    t.notOk(existsSync(join(root, 'pids/contain.supervisor')), 'and the leaf')
    t.ok(existsSync(join(root, 'memory/contain/shop-0123abcd/web')), 'a cgroup with a process stays')
    t.notOk(existsSync(join(root, 'memory/contain/shop-0123abcd/worker')), 'its empty sibling goes')
  })
})

t.test('removeStaleScope says whether the scope is gone: not while an app in it still has a process', async t => {
  const root = t.testdir({})
  const fs = tempCgroupFs()
  const scope = join(root, 'pids/contain/shop-0123abcd')
  writeFiles({[join(scope, 'web/cgroup.procs')]: `${OTHER_PID}\n`})
  t.equal(removeStaleScope([scope], fs), false, 'busy')
  writeFiles({[join(scope, 'web/cgroup.procs')]: ''})
  t.equal(removeStaleScope([scope], fs), true, 'gone once empty')
  t.equal(removeStaleScope([scope], fs), true, 'and stays gone')
})

t.test("instanceCgroupPlan: a supervised app's instance is a leaf below the app's cgroup, with the app's limits", async t => {
  const SHOP = {scope: 'shop-0123abcd', name: 'web'}
  t.test("the CPU share stays on the app's cgroup, where it weighs against the other apps; the quota goes to the instance", async t => {
    const root = t.testdir({})
    const app = planCgroup(
      v2Host(root, {own: 'app.service', subtreeControl: 'cpu memory pids'}),
      SHOP,
      {cpuShares: 2048, cpuQuotaMicros: 50_000, memoryBytes: 64 * MiB},
      tempCgroupFs(),
      [],
    )
    const appDir = join(root, 'app.service/contain/shop-0123abcd/web')
    const writes = instanceCgroupPlan(app, 'i1').writes.map(write => write.path)
    t.ok(writes.includes(join(appDir, 'cpu.weight')), "cpu.weight on the app's cgroup")
    t.ok(writes.includes(join(appDir, 'i1/cpu.max')) && writes.includes(join(appDir, 'i1/memory.max')), 'cpu.max and memory.max on the instance')
  })
  t.test("v2: the app's cgroup becomes a parent that enables the controllers; limits, procs and devices go to the instance", async t => {
    const root = t.testdir({})
    const app = planCgroup(v2Host(root, {own: 'app.service', subtreeControl: 'memory pids'}), SHOP, {memoryBytes: 64 * MiB, pidsMax: 100}, tempCgroupFs(), [])
    const instance = instanceCgroupPlan(app, 'i3')
    const appDir = join(root, 'app.service/contain/shop-0123abcd/web')
    t.strictSame(instance.dirs, [join(appDir, 'i3')])
    t.strictSame(
      instance.parents.map(parent => parent.dir),
      [...app.parents.map(parent => parent.dir), appDir],
      "the app's cgroup is the last parent",
    )
    t.strictSame(instance.parents.at(-1)?.enable, app.parents.at(-1)?.enable, 'it enables what the scope enables, so each instance has the controllers')
    t.ok(instance.writes.length > 0 && instance.writes.every(write => write.path.startsWith(`${appDir}/i3/`)), "every limit is the instance's")
    t.strictSame(
      instance.writes.map(write => write.value),
      app.writes.map(write => write.value),
      "the same values as the app's",
    )
    t.equal(instance.cloneInto, join(appDir, 'i3'))
    t.strictSame(instance.procsFiles, [join(appDir, 'i3/cgroup.procs')])
    t.equal(instance.deviceProgram?.cgroup, join(appDir, 'i3'), 'the device program is attached to the instance')
    t.strictSame(app.dirs, [appDir], "the app's plan is left as it was")

    const fs = tempCgroupFs()
    const made = AppCgroup.create(instance, fs)
    t.ok(existsSync(join(appDir, 'i3')), 'made')
    t.ok(fs.writesTo(join(appDir, 'cgroup.subtree_control')).length > 0, "the app's cgroup passes its controllers down")
    t.equal(read(join(appDir, 'i3/memory.max')), String(64 * MiB))
    await made.remove()
    t.notOk(existsSync(appDir), "the last instance removes the app's cgroup too")
  })

  t.test('hybrid/v1: the same below every hierarchy; the cpuset parent gets its CPUs from above', async t => {
    const root = t.testdir({})
    const app = planCgroup(hybridHost(root), SHOP, {...LIMITS, cpusetCpus: '1'}, tempCgroupFs())
    const instance = instanceCgroupPlan(app, 'i1')
    t.strictSame(
      instance.dirs,
      app.dirs.map(dir => join(dir, 'i1')),
    )
    t.strictSame(
      instance.attachFiles,
      app.attachFiles.map(file => file.replace(/\/tasks$/, '/i1/tasks')),
    )
    const cpusetParent = instance.parents.find(parent => parent.dir === join(root, 'cpuset/contain/shop-0123abcd/web'))
    t.equal(cpusetParent?.inheritCpuset, true)
    const fs = tempCgroupFs()
    const first = AppCgroup.create(instance, fs)
    const second = AppCgroup.create(instanceCgroupPlan(app, 'i2'), fs)
    t.equal(read(join(root, 'memory/process_api/abc/contain/shop-0123abcd/web/i2/memory.limit_in_bytes')), String(64 * MiB), 'each instance has the limit')
    await first.remove()
    t.ok(existsSync(join(root, 'memory/process_api/abc/contain/shop-0123abcd/web/i2')), 'one instance going leaves the other')
    await second.remove()
    t.notOk(existsSync(join(root, 'memory/process_api/abc/contain/shop-0123abcd')), 'the last one takes the parents')
  })

  t.test('an app without a cgroup of its own has no instance cgroups either', async t => {
    const plan = {mode: 'v2' as const, parents: [], dirs: [], writes: [], procsFiles: [], attachFiles: [], viewMounts: [], joined: []}
    t.equal(instanceCgroupPlan(plan, 'i1'), plan)
  })

  t.test("removeStaleScope removes a killed supervisor's empty instance cgroups first", async t => {
    const root = t.testdir({})
    writeFiles({
      [join(root, 'pids/contain/shop-0123abcd/web/i1/cgroup.procs')]: '',
      [join(root, 'pids/contain/shop-0123abcd/web/i2/cgroup.procs')]: '',
      [join(root, 'pids/contain/shop-0123abcd/web/cgroup.procs')]: '',
    })
    t.ok(removeStaleScope([join(root, 'pids/contain/shop-0123abcd')], tempCgroupFs()))
    t.notOk(existsSync(join(root, 'pids/contain')))
  })
})
