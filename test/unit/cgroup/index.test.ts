import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {AppCgroup, appCgroupName, planCgroup, planningLayout, type CgroupLimits} from '../../../src/cgroup/index.js'
import type {CgroupLayout, Hierarchy} from '../../../src/cgroup/layout.js'
import {CgroupError, HostError} from '../../../src/errors.js'
import {tempCgroupFs, writeFiles} from '../helpers/cgroup-fs.js'
import {errnoError, rejection, thrown} from '../helpers/errors.js'

const MiB = 2 ** 20
const PID = String(process.pid)
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
  writeFiles({[join(root, 'cpuset', 'cpuset.mems')]: '0\n', [join(root, 'memory/process_api/abc/memory.limit_in_bytes')]: '9223372036854771712\n'})
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
function v2Host(root: string, {own = '', controllers = ['cpuset', 'cpu', 'io', 'memory', 'pids'], subtreeControl = '', procs = [PID], swapAccounting = true}: V2HostOptions = {}): CgroupLayout {
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

t.test('appCgroupName prefixes the app name with contain-', async t => {
  t.equal(appCgroupName('web'), 'contain-web')
})

t.test('planCgroup', async t => {
  t.test('hybrid/v1: one contain-<name> dir below each hierarchy own dir, with v1 files', async t => {
    const root = t.testdir({})
    const plan = planCgroup(hybridHost(root), 'web', LIMITS, tempCgroupFs())

    t.equal(plan.mode, 'hybrid')
    t.equal(plan.delegation, undefined, 'v1 needs no delegation')
    t.strictSame(plan.dirs, [
      join(root, 'cpu/contain-web'),
      join(root, 'cpuacct/contain-web'),
      join(root, 'memory/process_api/abc/contain-web'),
      join(root, 'pids/contain-web'),
    ])
    t.strictSame(plan.procsFiles, plan.dirs.map(dir => join(dir, 'cgroup.procs')))
    t.strictSame(plan.attachFiles, plan.dirs.map(dir => join(dir, 'tasks')), 'v1 joins through tasks: no threadgroup lock')
    t.equal(plan.cloneInto, undefined)
    const memory = join(root, 'memory/process_api/abc/contain-web')
    t.strictSame(plan.writes, [
      {path: join(root, 'cpu/contain-web/cpu.cfs_period_us'), value: '100000'},
      {path: join(root, 'cpu/contain-web/cpu.cfs_quota_us'), value: '50000'},
      {path: join(root, 'cpu/contain-web/cpu.shares'), value: '1024'},
      {path: join(memory, 'memory.limit_in_bytes'), value: String(64 * MiB)},
      {path: join(memory, 'memory.memsw.limit_in_bytes'), value: String(128 * MiB)},
      {path: join(memory, 'memory.soft_limit_in_bytes'), value: String(32 * MiB)},
      {path: join(root, 'pids/contain-web/pids.max'), value: '100'},
    ])
  })

  t.test('hybrid/v1: the app sees a tmpfs at the cgroup root and a fresh mount of every hierarchy', async t => {
    const root = t.testdir({})
    const plan = planCgroup(hybridHost(root), 'web', {}, tempCgroupFs())
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
    const plan = planCgroup(hybridHost(root, {coMountCpu: true}), 'web', {}, tempCgroupFs())
    t.strictSame(plan.viewMounts[1], {fsType: 'cgroup', target: join(root, 'cpu,cpuacct'), data: 'cpu,cpuacct'})
  })

  t.test('v2: the app sees one fresh cgroup2 mount, and no tmpfs', async t => {
    const root = t.testdir({})
    const plan = planCgroup(v2Host(root, {own: 'app.service'}), 'web', {}, tempCgroupFs())
    t.strictSame(plan.viewMounts, [{fsType: 'cgroup2', target: root, data: ''}])
  })

  t.test('planning touches nothing on the host', async t => {
    const root = t.testdir({})
    const layout = hybridHost(root)
    const before = readdirSync(join(root, 'cpu'))
    const fs = tempCgroupFs()
    planCgroup(layout, 'web', LIMITS, fs)
    t.strictSame(fs.calls, [])
    t.strictSame(readdirSync(join(root, 'cpu')), before)
  })

  t.test('v1: cpu and cpuacct co-mounted share one dir', async t => {
    const root = t.testdir({})
    const plan = planCgroup(hybridHost(root, {coMountCpu: true}), 'web', {cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000}, tempCgroupFs())
    t.strictSame(plan.dirs, [
      join(root, 'cpu,cpuacct/contain-web'),
      join(root, 'memory/process_api/abc/contain-web'),
      join(root, 'pids/contain-web'),
    ])
    t.strictSame(plan.writes.map(write => write.path), [
      join(root, 'cpu,cpuacct/contain-web/cpu.cfs_period_us'),
      join(root, 'cpu,cpuacct/contain-web/cpu.cfs_quota_us'),
    ])
  })

  t.test('v1: cpuset is joined only with --cpuset-cpus, and copies the parent mems', async t => {
    const root = t.testdir({})
    const layout = hybridHost(root)
    const without = planCgroup(layout, 'web', {}, tempCgroupFs())
    t.notOk(without.dirs.some(dir => dir.startsWith(join(root, 'cpuset'))), 'no cpuset dir without --cpuset-cpus')

    const pinned = planCgroup(layout, 'web', {cpusetCpus: '1'}, tempCgroupFs())
    t.ok(pinned.dirs.includes(join(root, 'cpuset/contain-web')))
    t.strictSame(pinned.writes, [
      {path: join(root, 'cpuset/contain-web/cpuset.cpus'), value: '1'},
      {path: join(root, 'cpuset/contain-web/cpuset.mems'), value: '0'},
    ])
  })

  t.test('v1: default swap needs memory.memsw.limit_in_bytes in the parent; without it, none is written', async t => {
    const root = t.testdir({})
    const plan = planCgroup(hybridHost(root, {swapAccounting: false}), 'web', {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.strictSame(plan.writes.map(write => write.path), [join(root, 'memory/process_api/abc/contain-web/memory.limit_in_bytes')])
  })

  t.test('v1: explicit --memory-swap without swap accounting is a CgroupError', async t => {
    const root = t.testdir({})
    const error = thrown(() => planCgroup(hybridHost(root, {swapAccounting: false}), 'web', {memoryBytes: 64 * MiB, memorySwapBytes: 'unlimited'}, tempCgroupFs()))
    t.type(error, CgroupError)
    t.match(error.message, /--memory-swap needs swap accounting/)
  })

  t.test('v1: a requested limit whose hierarchy is not mounted is a HostError naming the flag', async t => {
    const root = t.testdir({})
    const layout = hybridHost(root)
    layout.hierarchies = layout.hierarchies.filter(hierarchy => !hierarchy.controllers.includes('pids'))
    const error = thrown(() => planCgroup(layout, 'web', {pidsMax: 10}, tempCgroupFs()))
    t.type(error, HostError)
    t.match(error.message, /--pids-limit needs the pids cgroup controller/)
    t.match((error as HostError).fix, /mount the pids controller, or leave --pids-limit out/)
  })

  t.test('a missing controller that no limit needs is skipped', async t => {
    const root = t.testdir({})
    const layout = hybridHost(root)
    layout.hierarchies = layout.hierarchies.filter(hierarchy => !hierarchy.controllers.includes('pids'))
    const plan = planCgroup(layout, 'web', {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.notOk(plan.dirs.some(dir => dir.includes('pids')))
    t.ok(plan.dirs.includes(join(root, 'memory/process_api/abc/contain-web')))
  })

  t.test('v2 root cgroup: app dir below the root, missing controllers enabled, no leaf move', async t => {
    const root = t.testdir({})
    const plan = planCgroup(v2Host(root, {subtreeControl: 'cpu'}), 'web', LIMITS, tempCgroupFs())

    t.equal(plan.mode, 'v2')
    t.strictSame(plan.delegation, {ownDir: root, enable: ['memory', 'pids']}, 'the root cgroup may hold processes: no leafDir')
    t.strictSame(plan.dirs, [join(root, 'contain-web')])
    t.strictSame(plan.procsFiles, [join(root, 'contain-web/cgroup.procs')])
    t.strictSame(plan.attachFiles, [], 'v2 is not joined by a write')
    t.equal(plan.cloneInto, join(root, 'contain-web'), 'the launcher is cloned into it')
    const dir = join(root, 'contain-web')
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
    const plan = planCgroup(v2Host(root, {own: 'system.slice/app.service'}), 'web', {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.strictSame(plan.delegation, {ownDir: own, leafDir: join(own, 'contain.supervisor'), enable: ['cpu', 'memory', 'pids']})
    t.strictSame(plan.dirs, [join(own, 'contain-web')])
  })

  t.test('v2 cgroup-namespace root (a container): not the real root, so contain still moves to a leaf', async t => {
    const root = t.testdir({})
    const layout = v2Host(root)
    writeFiles({[join(root, 'cgroup.type')]: 'domain\n'}) // only the real root cgroup lacks cgroup.type
    const plan = planCgroup(layout, 'web', {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.equal(plan.delegation?.leafDir, join(root, 'contain.supervisor'), 'moves contain out of the namespace root')
  })

  t.test('v2 cgroup-namespace root without swap accounting: no memory.swap.max write', async t => {
    const root = t.testdir({})
    const layout = v2Host(root)
    writeFiles({[join(root, 'cgroup.type')]: 'domain\n', [join(root, 'memory.max')]: 'max\n'})
    const plan = planCgroup(layout, 'web', {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.notOk(plan.writes.some(write => write.path.endsWith('memory.swap.max')), 'no swap file the kernel does not offer')
  })

  t.test('v2: controllers already enabled in subtree_control need no delegation', async t => {
    const root = t.testdir({})
    const plan = planCgroup(v2Host(root, {own: 'app.slice', subtreeControl: 'cpu io memory pids'}), 'web', {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.equal(plan.delegation, undefined)
  })

  t.test('v2: delegation enables only the controllers contain joins', async t => {
    const root = t.testdir({})
    const plan = planCgroup(v2Host(root, {own: 'app.slice', controllers: ['memory', 'pids', 'io']}), 'web', {}, tempCgroupFs())
    t.strictSame(plan.delegation?.enable, ['memory', 'pids'], 'no cpu (not delegated), no io (not used)')
  })

  t.test('v2 non-root: swap is written only when the parent has memory.swap.max', async t => {
    const withSwap = planCgroup(v2Host(t.testdir({}), {own: 'a'}), 'web', {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.ok(withSwap.writes.some(write => write.path.endsWith('memory.swap.max')))
    const withoutSwap = planCgroup(v2Host(t.testdir({}), {own: 'a', swapAccounting: false}), 'web', {memoryBytes: 64 * MiB}, tempCgroupFs())
    t.notOk(withoutSwap.writes.some(write => write.path.endsWith('memory.swap.max')))
  })

  t.test('v2: a requested limit whose controller is not delegated is a HostError naming the flag and Delegate=yes', async t => {
    const root = t.testdir({})
    const layout = v2Host(root, {own: 'user.slice/session.scope', controllers: ['memory', 'pids']})
    const error = thrown(() => planCgroup(layout, 'web', {cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000}, tempCgroupFs()))
    t.type(error, HostError)
    t.match(error.message, /--cpus\/--cpu-shares needs the cpu cgroup controller/)
    t.match((error as HostError).fix, /Delegate=yes/)

    const cpuset = thrown(() => planCgroup(layout, 'web', {cpusetCpus: '0'}, tempCgroupFs()))
    t.type(cpuset, HostError)
    t.match(cpuset.message, /--cpuset-cpus needs the cpuset cgroup controller/)
  })

  t.test('v2 non-root: --cpuset-cpus writes cpuset.cpus only', async t => {
    const root = t.testdir({})
    const plan = planCgroup(v2Host(root, {own: 'a', subtreeControl: 'cpuset cpu memory pids'}), 'web', {cpusetCpus: '0-1'}, tempCgroupFs())
    t.strictSame(plan.writes, [{path: join(root, 'a/contain-web/cpuset.cpus'), value: '0-1'}])
  })

  t.test('v2 root: --cpuset-cpus works although the root cgroup has no cpuset.mems', async t => {
    const root = t.testdir({})
    let writes: unknown
    t.doesNotThrow(() => {
      writes = planCgroup(v2Host(root, {subtreeControl: 'cpuset cpu memory pids'}), 'web', {cpusetCpus: '0-1'}, tempCgroupFs()).writes
    }, 'plans without reading cpuset.mems')
    t.strictSame(writes, [{path: join(root, 'contain-web/cpuset.cpus'), value: '0-1'}], 'writes cpuset.cpus only')
  })
})

t.test('AppCgroup.create and remove', async t => {
  t.test('v1: creates every dir, writes every value, and remove() undoes it all', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const plan = planCgroup(hybridHost(root), 'web', LIMITS, fs)
    const cgroup = AppCgroup.create(plan, fs)

    for (const dir of plan.dirs) t.ok(existsSync(dir), `created ${dir}`)
    for (const {path, value} of plan.writes) t.equal(read(path), value, `wrote ${path}`)

    await cgroup.remove()
    for (const dir of plan.dirs) t.notOk(existsSync(dir), `removed ${dir}`)
    t.ok(existsSync(join(root, 'memory/process_api/abc')), "contain's own cgroup stays")
    t.strictSame(fs.calls.filter(call => call.op === 'rmdir').map(call => call.path), [...plan.dirs].reverse(), 'removed in reverse order')
  })

  t.test('v2 with delegation: moves contain to the leaf, enables controllers; remove() reverses it in order', async t => {
    const root = t.testdir({})
    const own = join(root, 'app.service')
    const leaf = join(own, 'contain.supervisor')
    const fs = tempCgroupFs()
    const plan = planCgroup(v2Host(root, {own: 'app.service'}), 'web', {memoryBytes: 64 * MiB}, fs)
    const cgroup = AppCgroup.create(plan, fs)

    t.equal(read(join(leaf, 'cgroup.procs')), PID, 'contain moved itself into the leaf')
    t.equal(read(join(own, 'cgroup.subtree_control')), '+cpu +memory +pids')
    t.strictSame(fs.calls.slice(0, 4), [
      {op: 'mkdir', path: leaf},
      {op: 'write', path: join(leaf, 'cgroup.procs'), value: PID},
      {op: 'write', path: join(own, 'cgroup.subtree_control'), value: '+cpu +memory +pids'},
      {op: 'mkdir', path: join(own, 'contain-web')},
    ], 'leaves its own cgroup before enabling controllers, then creates the app dir')

    const before = fs.calls.length
    await cgroup.remove()
    t.strictSame(fs.calls.slice(before), [
      {op: 'rmdir', path: join(own, 'contain-web')},
      {op: 'write', path: join(own, 'cgroup.subtree_control'), value: '-cpu -memory -pids'},
      {op: 'write', path: join(own, 'cgroup.procs'), value: PID},
      {op: 'rmdir', path: leaf},
    ], 'disables controllers before moving contain back, then removes the leaf')
    t.notOk(existsSync(leaf))
  })

  t.test('v2: a supervisor in its leaf plans a later app (a changed contain.yml) in the delegated cgroup, and the app holds the delegation', async t => {
    const root = t.testdir({})
    const own = join(root, 'app.service')
    const leaf = join(own, 'contain.supervisor')
    const fs = tempCgroupFs()
    const layout = v2Host(root, {own: 'app.service'})
    const web = AppCgroup.create(planCgroup(planningLayout(layout), 'web', {memoryBytes: 64 * MiB}, fs), fs)
    // Now contain sits in the leaf (as /proc/self/cgroup says), next to web's launcher; the kernel shows the enabled controllers.
    writeFiles({[join(own, 'cgroup.subtree_control')]: 'cpu memory pids\n', [join(leaf, 'cgroup.procs')]: `${PID}\n${OTHER_PID}\n`, [join(leaf, 'cgroup.controllers')]: 'cpu memory pids\n'})
    const seen: CgroupLayout = {mode: 'v2', hierarchies: [{...layout.hierarchies[0], ownDir: leaf}]}
    t.equal(planningLayout(seen).hierarchies[0].ownDir, own, 'the leaf is seen through to the delegated cgroup')
    const plan = planCgroup(planningLayout(seen), 'cron', {memoryBytes: 32 * MiB}, fs)
    t.strictSame(plan.dirs, [join(own, 'contain-cron')], 'beside web, not below the leaf')
    t.strictSame(plan.delegation, {ownDir: own, leafDir: leaf, enable: ['cpu', 'memory', 'pids']}, 'controllers enabled by this process still take the delegation')
    const cron = AppCgroup.create(plan, fs)
    const before = fs.calls.length
    await web.remove()
    t.strictSame(fs.calls.slice(before), [{op: 'rmdir', path: join(own, 'contain-web')}], 'web gone: cron still holds the delegation, nothing disabled')
    await cron.remove()
    t.strictSame(fs.writesTo(join(own, 'cgroup.subtree_control')).at(-1), '-cpu -memory -pids', 'the last app undoes it')
    t.notOk(existsSync(leaf))
    t.equal(planningLayout(seen).hierarchies[0].ownDir, leaf, 'no delegation left: the layout as it is')
  })

  t.test('v2 root delegation: enables controllers without moving contain', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const plan = planCgroup(v2Host(root, {subtreeControl: 'cpu memory'}), 'web', {pidsMax: 'unlimited'}, fs)
    const cgroup = AppCgroup.create(plan, fs)
    t.strictSame(fs.writesTo(join(root, 'cgroup.subtree_control')), ['+pids'])
    t.equal(read(join(root, 'contain-web/pids.max')), 'max')
    t.notOk(existsSync(join(root, 'contain.supervisor')))
    await cgroup.remove()
    t.strictSame(fs.writesTo(join(root, 'cgroup.subtree_control')), ['+pids', '-pids'])
    t.strictSame(fs.writesTo(join(root, 'cgroup.procs')), [], 'contain never moved')
  })

  t.test('a rejected write rolls back every dir and throws a CgroupError naming the file and value', async t => {
    const root = t.testdir({})
    const layout = hybridHost(root)
    const failing = join(root, 'memory/process_api/abc/contain-web/memory.limit_in_bytes')
    const fs = tempCgroupFs(path => (path === failing ? errnoError('EINVAL', path) : undefined))
    const plan = planCgroup(layout, 'web', LIMITS, fs)

    const error = thrown(() => AppCgroup.create(plan, fs))
    t.type(error, CgroupError)
    t.equal((error as CgroupError).path, failing)
    t.equal(error.message, `cgroup ${failing}: cannot write "${64 * MiB}": the kernel rejected the value`)
    t.match((error as CgroupError).fix, /leave the limit out/)
    t.equal((error.cause as NodeJS.ErrnoException).code, 'EINVAL', 'keeps the cause')
    for (const dir of plan.dirs) t.notOk(existsSync(dir), `rolled back ${dir}`)
  })

  t.test('write errors are described by errno', async t => {
    for (const [code, text] of [['EBUSY', 'the cgroup is busy'], ['EACCES', 'permission denied'], ['EPERM', 'permission denied'], ['ENOENT', 'the kernel does not offer this file']]) {
      const root = t.testdir({})
      const fs = tempCgroupFs(path => (path.endsWith('pids.max') ? errnoError(code, path) : undefined))
      const error = thrown(() => AppCgroup.create(planCgroup(hybridHost(root), 'web', {pidsMax: 5}, fs), fs))
      t.match(error.message, new RegExp(`cannot write "5": ${text}$`), code)
    }
  })

  t.test('a rejected write also undoes the delegation', async t => {
    const root = t.testdir({})
    const own = join(root, 'app.service')
    const fs = tempCgroupFs(path => (path.endsWith('cpu.max') ? errnoError('EINVAL', path) : undefined))
    const plan = planCgroup(v2Host(root, {own: 'app.service'}), 'web', {cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000}, fs)

    const error = thrown(() => AppCgroup.create(plan, fs))
    t.type(error, CgroupError)
    t.match(error.message, /cpu\.max: cannot write "50000 100000"/)
    t.notOk(existsSync(join(own, 'contain-web')), 'app dir removed')
    t.notOk(existsSync(join(own, 'contain.supervisor')), 'leaf removed')
    t.strictSame(fs.writesTo(join(own, 'cgroup.subtree_control')), ['+cpu +memory +pids', '-cpu -memory -pids'], 'controllers disabled again')
    t.strictSame(fs.writesTo(join(own, 'cgroup.procs')), [PID], 'contain moved back')
  })

  t.test('a dir that cannot be created is a CgroupError with the fix, and earlier dirs are rolled back', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const plan = planCgroup(hybridHost(root), 'web', {}, fs)
    const mkdir = fs.mkdir
    fs.mkdir = path => {
      if (path.includes('/memory/')) throw errnoError('EACCES', path)
      mkdir(path)
    }
    const error = thrown(() => AppCgroup.create(plan, fs))
    t.type(error, CgroupError)
    t.match(error.message, /memory\/process_api\/abc\/contain-web: cannot create: permission denied/)
    t.match((error as CgroupError).fix, /run contain as root/)
    t.notOk(existsSync(join(root, 'cpu/contain-web')))
    t.notOk(existsSync(join(root, 'cpuacct/contain-web')))
  })

  t.test('an empty app dir left by a killed contain is replaced', async t => {
    const root = t.testdir({})
    const stale = join(root, 'pids/contain-web')
    writeFiles({[join(stale, 'cgroup.procs')]: '', [join(stale, 'stale-marker')]: 'x'})
    const fs = tempCgroupFs()
    const plan = planCgroup(hybridHost(root), 'web', {pidsMax: 5}, fs)
    const cgroup = AppCgroup.create(plan, fs)
    t.notOk(existsSync(join(stale, 'stale-marker')), 'the old dir was removed')
    t.equal(read(join(stale, 'pids.max')), '5', 'and the new one written')
    await cgroup.remove()
    t.notOk(existsSync(stale))
  })

  t.test('an app dir with a process in it means the app is already running', async t => {
    const root = t.testdir({})
    const live = join(root, 'memory/process_api/abc/contain-web')
    writeFiles({[join(live, 'cgroup.procs')]: `${OTHER_PID}\n`})
    const fs = tempCgroupFs()
    const plan = planCgroup(hybridHost(root), 'web', {memoryBytes: 64 * MiB}, fs)

    const error = thrown(() => AppCgroup.create(plan, fs))
    t.type(error, CgroupError)
    t.equal(error.message, `cgroup ${live}: an app named "web" is already running`)
    t.match((error as CgroupError).fix, /another --name/)
    t.equal(read(join(live, 'cgroup.procs')), `${OTHER_PID}\n`, "the running app's cgroup is left alone")
    t.notOk(existsSync(join(root, 'cpu/contain-web')), 'dirs made before it are rolled back')
  })

  t.test('delegation refuses when another process shares contain own cgroup', async t => {
    const root = t.testdir({})
    const own = join(root, 'user.slice/session-1.scope')
    const fs = tempCgroupFs()
    const plan = planCgroup(v2Host(root, {own: 'user.slice/session-1.scope', procs: [PID, OTHER_PID]}), 'web', {}, fs)

    const error = thrown(() => AppCgroup.create(plan, fs))
    t.type(error, CgroupError)
    t.equal((error as CgroupError).path, own)
    t.match(error.message, new RegExp(`must be the only process in its cgroup .*also there: ${OTHER_PID}\\)`))
    t.match((error as CgroupError).fix, /Delegate=yes/)
    t.strictSame(fs.calls, [], 'nothing was created or written')
  })

  t.test('delegation accepts contain alone in its cgroup', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const cgroup = AppCgroup.create(planCgroup(v2Host(root, {own: 'a', procs: [PID]}), 'web', {}, fs), fs)
    t.ok(existsSync(join(root, 'a/contain.supervisor')))
    await cgroup.remove()
  })

  t.test('a failed removal is reported and can be retried from where it stopped', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const plan = planCgroup(hybridHost(root, {coMountCpu: true}), 'web', {}, fs)
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
    t.notOk(existsSync(join(root, 'pids/contain-web')), 'steps before the failure ran')
    t.ok(existsSync(join(root, 'memory/process_api/abc/contain-web')))
    t.ok(existsSync(join(root, 'cpu,cpuacct/contain-web')), 'steps after the failure wait')

    busy = false
    await cgroup.remove()
    for (const dir of plan.dirs) t.notOk(existsSync(dir), `finally removed ${dir}`)
  })
})

t.test('AppCgroup.outcome', async t => {
  t.test('v1: OOM kills from memory.oom_control, peak from max_usage_in_bytes, and the limit', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const cgroup = AppCgroup.create(planCgroup(hybridHost(root), 'web', {memoryBytes: 64 * MiB}, fs), fs)
    const dir = join(root, 'memory/process_api/abc/contain-web')
    writeFiles({
      [join(dir, 'memory.oom_control')]: 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
      [join(dir, 'memory.max_usage_in_bytes')]: `${60 * MiB}\n`,
    })
    t.strictSame(cgroup.outcome(), {oomKills: 1, peakMemoryBytes: 60 * MiB, memoryLimitBytes: 64 * MiB})
  })

  t.test('v1: the "unlimited" value of memory.limit_in_bytes is no limit', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const cgroup = AppCgroup.create(planCgroup(hybridHost(root), 'web', {}, fs), fs)
    const dir = join(root, 'memory/process_api/abc/contain-web')
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
    const cgroup = AppCgroup.create(planCgroup(v2Host(root, {subtreeControl: 'cpu memory pids'}), 'web', {memoryBytes: 64 * MiB}, fs), fs)
    writeFiles({
      [join(root, 'contain-web/memory.events')]: 'low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\noom_group_kill 1\n',
      [join(root, 'contain-web/memory.peak')]: `${64 * MiB}\n`,
    })
    t.strictSame(cgroup.outcome(), {oomKills: 2, peakMemoryBytes: 64 * MiB, memoryLimitBytes: 64 * MiB})
  })

  t.test('v2: memory.max "max" is no limit, and a kernel without memory.peak gives no peak', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const cgroup = AppCgroup.create(planCgroup(v2Host(root, {subtreeControl: 'cpu memory pids'}), 'web', {}, fs), fs)
    writeFiles({[join(root, 'contain-web/memory.events')]: 'oom_kill 0\n', [join(root, 'contain-web/memory.max')]: 'max\n'})
    t.strictSame(cgroup.outcome(), {oomKills: 0, peakMemoryBytes: undefined, memoryLimitBytes: undefined})
  })

  t.test('no memory controller files: no OOM kills and nothing else', async t => {
    const root = t.testdir({})
    const fs = tempCgroupFs()
    const cgroup = AppCgroup.create(planCgroup(hybridHost(root), 'web', {}, fs), fs)
    t.strictSame(cgroup.outcome(), {oomKills: 0})
  })
})

t.test('AppCgroup.pids lists each process once across hierarchies', async t => {
  const root = t.testdir({})
  const fs = tempCgroupFs()
  const cgroup = AppCgroup.create(planCgroup(hybridHost(root), 'web', {}, fs), fs)
  writeFileSync(join(root, 'cpu/contain-web/cgroup.procs'), `${OTHER_PID}\n4194998\n`)
  writeFileSync(join(root, 'pids/contain-web/cgroup.procs'), `${OTHER_PID}\n`)
  t.strictSame(cgroup.pids().sort(), [4_194_998, Number(OTHER_PID)])
})

t.test('AppCgroup.killAll uses cgroup.kill where the kernel has it', async t => {
  const root = t.testdir({})
  const fs = tempCgroupFs()
  const cgroup = AppCgroup.create(planCgroup(v2Host(root, {subtreeControl: 'cpu memory pids'}), 'web', {}, fs), fs)
  writeFileSync(join(root, 'contain-web/cgroup.kill'), '')
  cgroup.killAll()
  t.strictSame(fs.writesTo(join(root, 'contain-web/cgroup.kill')), ['1'])
})
