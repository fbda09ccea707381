import {readFileSync} from 'node:fs'
import t from 'tap'
import {hierarchyFor, parseLayout, type CgroupLayout} from '../../../src/cgroup/layout.js'

const fixture = (name: string) => readFileSync(new URL(`../fixtures/cgroup/${name}`, import.meta.url), 'utf8')

/** cgroup.controllers of v2 directories, keyed by directory; records which ones were asked for. */
function controllersFiles(byDir: Record<string, string[]>) {
  const asked: string[] = []
  const read = (dir: string) => {
    asked.push(dir)
    return byDir[dir] ?? []
  }
  return {read, asked}
}

const summary = (layout: CgroupLayout) => layout.hierarchies.map(({version, mountPoint, ownDir, controllers}) => ({version, mountPoint, ownDir, controllers}))

t.test('hybrid host (this machine): v1 controllers, name=systemd and an empty cgroup2 at unified', async t => {
  const controllers = controllersFiles({})
  const layout = parseLayout(fixture('hybrid.mountinfo'), fixture('hybrid.cgroup'), controllers.read)

  t.equal(layout.mode, 'hybrid')
  t.strictSame(summary(layout), [
    {version: 1, mountPoint: '/sys/fs/cgroup/cpu', ownDir: '/sys/fs/cgroup/cpu', controllers: ['cpu']},
    {version: 1, mountPoint: '/sys/fs/cgroup/cpuacct', ownDir: '/sys/fs/cgroup/cpuacct', controllers: ['cpuacct']},
    {version: 1, mountPoint: '/sys/fs/cgroup/cpuset', ownDir: '/sys/fs/cgroup/cpuset', controllers: ['cpuset']},
    {version: 1, mountPoint: '/sys/fs/cgroup/memory', ownDir: '/sys/fs/cgroup/memory/process_api/abc', controllers: ['memory']},
    {version: 1, mountPoint: '/sys/fs/cgroup/devices', ownDir: '/sys/fs/cgroup/devices', controllers: ['devices']},
    {version: 1, mountPoint: '/sys/fs/cgroup/freezer', ownDir: '/sys/fs/cgroup/freezer', controllers: ['freezer']},
    {version: 1, mountPoint: '/sys/fs/cgroup/blkio', ownDir: '/sys/fs/cgroup/blkio', controllers: ['blkio']},
    {version: 1, mountPoint: '/sys/fs/cgroup/pids', ownDir: '/sys/fs/cgroup/pids', controllers: ['pids']},
    {version: 2, mountPoint: '/sys/fs/cgroup/unified', ownDir: '/sys/fs/cgroup/unified', controllers: []},
  ])
  t.strictSame(controllers.asked, ['/sys/fs/cgroup/unified'], 'reads cgroup.controllers only for the v2 hierarchy')
})

t.test('hybrid host: the name=systemd hierarchy has no controller and is left out', async t => {
  const layout = parseLayout(fixture('hybrid.mountinfo'), fixture('hybrid.cgroup'), () => [])
  t.notOk(layout.hierarchies.some(hierarchy => hierarchy.mountPoint === '/sys/fs/cgroup/systemd'))
})

t.test('hybrid host: every controller is served by its v1 hierarchy', async t => {
  const layout = parseLayout(fixture('hybrid.mountinfo'), fixture('hybrid.cgroup'), () => [])
  for (const controller of ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids']) {
    t.equal(hierarchyFor(layout, controller)?.mountPoint, `/sys/fs/cgroup/${controller}`, controller)
    t.equal(hierarchyFor(layout, controller)?.version, 1)
  }
  t.equal(hierarchyFor(layout, 'memory')?.ownDir, '/sys/fs/cgroup/memory/process_api/abc')
  t.equal(hierarchyFor(layout, 'io'), undefined, 'a controller nobody serves')
  t.equal(hierarchyFor(layout, 'hugetlb'), undefined)
})

t.test('hybrid host: v1 wins even when cgroup2 lists the same controller', async t => {
  const layout = parseLayout(fixture('hybrid.mountinfo'), fixture('hybrid.cgroup'), () => ['memory'])
  t.equal(hierarchyFor(layout, 'memory')?.version, 1)
})

const V2_MOUNTINFO = `\
22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 27 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
27 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
31 23 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
32 23 0:28 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:5 - bpf bpf rw,mode=700
`

t.test('pure v2: one cgroup2 hierarchy; ownDir from the 0:: line, controllers from cgroup.controllers', async t => {
  const controllers = controllersFiles({'/sys/fs/cgroup/system.slice/app.service': ['cpu', 'memory', 'pids']})
  const layout = parseLayout(V2_MOUNTINFO, '0::/system.slice/app.service\n', controllers.read)

  t.equal(layout.mode, 'v2')
  t.strictSame(summary(layout), [
    {version: 2, mountPoint: '/sys/fs/cgroup', ownDir: '/sys/fs/cgroup/system.slice/app.service', controllers: ['cpu', 'memory', 'pids']},
  ])
  t.strictSame(controllers.asked, ['/sys/fs/cgroup/system.slice/app.service'])
  t.equal(hierarchyFor(layout, 'memory')?.ownDir, '/sys/fs/cgroup/system.slice/app.service')
  t.equal(hierarchyFor(layout, 'cpuset'), undefined, 'a controller not delegated to ownDir')
  t.equal(hierarchyFor(layout, 'cpuacct'), undefined, 'v2 has no cpuacct')
})

t.test('pure v2 at the root cgroup: ownDir is the mount point', async t => {
  const layout = parseLayout(V2_MOUNTINFO, '0::/\n', () => ['cpuset', 'cpu', 'io', 'memory', 'pids'])
  t.equal(layout.hierarchies[0].ownDir, '/sys/fs/cgroup')
  t.equal(layout.mode, 'v2')
})

t.test('a cgroup path may contain colons', async t => {
  const layout = parseLayout(V2_MOUNTINFO, '0::/user.slice/app:web.scope\n', () => [])
  t.equal(layout.hierarchies[0].ownDir, '/sys/fs/cgroup/user.slice/app:web.scope')
})

const V1_MOUNTINFO = `\
25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
31 25 0:28 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpuset,clone_children
32 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
33 25 0:30 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,net_cls,net_prio
`
const V1_CGROUP = `\
11:pids:/system.slice/app.service
10:net_cls,net_prio:/
8:memory:/system.slice/app.service
5:cpuset:/
4:cpu,cpuacct:/system.slice/app.service
1:name=systemd:/system.slice/app.service
`

t.test('pure v1 with co-mounted cpu,cpuacct: one hierarchy serves both', async t => {
  const controllers = controllersFiles({})
  const layout = parseLayout(V1_MOUNTINFO, V1_CGROUP, controllers.read)

  t.equal(layout.mode, 'v1')
  t.strictSame(summary(layout), [
    {version: 1, mountPoint: '/sys/fs/cgroup/cpu,cpuacct', ownDir: '/sys/fs/cgroup/cpu,cpuacct/system.slice/app.service', controllers: ['cpu', 'cpuacct']},
    {version: 1, mountPoint: '/sys/fs/cgroup/memory', ownDir: '/sys/fs/cgroup/memory/system.slice/app.service', controllers: ['memory']},
    {version: 1, mountPoint: '/sys/fs/cgroup/cpuset', ownDir: '/sys/fs/cgroup/cpuset', controllers: ['cpuset']},
    {version: 1, mountPoint: '/sys/fs/cgroup/pids', ownDir: '/sys/fs/cgroup/pids/system.slice/app.service', controllers: ['pids']},
    {version: 1, mountPoint: '/sys/fs/cgroup/net_cls,net_prio', ownDir: '/sys/fs/cgroup/net_cls,net_prio', controllers: ['net_cls', 'net_prio']},
  ])
  t.strictSame(controllers.asked, [], 'no cgroup2 mount, so no cgroup.controllers read')
  t.equal(hierarchyFor(layout, 'cpu'), hierarchyFor(layout, 'cpuacct'), 'cpu and cpuacct share a hierarchy')
})

t.test('pure v1: mount options such as clone_children and name= are not controllers', async t => {
  const layout = parseLayout(V1_MOUNTINFO, V1_CGROUP, () => [])
  t.strictSame(hierarchyFor(layout, 'cpuset')?.controllers, ['cpuset'])
  t.notOk(layout.hierarchies.some(hierarchy => hierarchy.mountPoint.endsWith('/systemd')))
})

t.test('pure v1: controllers match /proc/self/cgroup whatever their order', async t => {
  const mountinfo = '29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpuacct,cpu\n'
  const layout = parseLayout(mountinfo, '4:cpu,cpuacct:/app\n', () => [])
  t.equal(layout.hierarchies.length, 1)
  t.equal(layout.hierarchies[0].ownDir, '/sys/fs/cgroup/cpu,cpuacct/app')
})

t.test('a v1 hierarchy absent from /proc/self/cgroup is left out', async t => {
  const mountinfo = '30 25 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n'
  const layout = parseLayout(mountinfo, '0::/\n', () => [])
  t.strictSame(layout.hierarchies, [])
})

t.test('container bind mount: ownDir is relative to the mounted root, not to the hierarchy root', async t => {
  // Docker without a cgroup namespace: /sys/fs/cgroup/memory is the host's /docker/0123abcd.
  const mountinfo = `\
1200 1190 0:57 / / rw,relatime master:600 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A
1210 1209 0:27 /docker/0123abcd /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:14 - cgroup cgroup rw,memory
1211 1209 0:26 /docker/0123abcd /sys/fs/cgroup/cpu,cpuacct ro,nosuid,nodev,noexec,relatime master:13 - cgroup cgroup rw,cpu,cpuacct
1212 1209 0:29 /docker/0123abcd /sys/fs/cgroup/pids ro,nosuid,nodev,noexec,relatime master:16 - cgroup cgroup rw,pids
`
  const self = `\
11:pids:/docker/0123abcd/app
8:memory:/docker/0123abcd
4:cpu,cpuacct:/docker/0123abcd/app
`
  const layout = parseLayout(mountinfo, self, () => [])
  t.equal(layout.mode, 'v1')
  t.equal(hierarchyFor(layout, 'memory')?.ownDir, '/sys/fs/cgroup/memory', 'own cgroup is the mounted root')
  t.equal(hierarchyFor(layout, 'cpu')?.ownDir, '/sys/fs/cgroup/cpu,cpuacct/app', 'own cgroup is below the mounted root')
  t.equal(hierarchyFor(layout, 'pids')?.ownDir, '/sys/fs/cgroup/pids/app')
})

t.test('container bind mount on cgroup v2', async t => {
  const mountinfo = '1300 1290 0:30 /kubepods/pod1/ctr /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n'
  const controllers = controllersFiles({'/sys/fs/cgroup/sub': ['memory']})
  const layout = parseLayout(mountinfo, '0::/kubepods/pod1/ctr/sub\n', controllers.read)
  t.equal(layout.mode, 'v2')
  t.equal(layout.hierarchies[0].ownDir, '/sys/fs/cgroup/sub')
  t.strictSame(layout.hierarchies[0].controllers, ['memory'])
})

t.test('mount points and roots with escaped spaces (\\040) are unescaped', async t => {
  const mountinfo = `\
40 31 0:40 / /srv/my\\040cgroups/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:41 /with\\040space /srv/my\\040cgroups/unified rw,relatime - cgroup2 cgroup2 rw
`
  const controllers = controllersFiles({'/srv/my cgroups/unified/app': ['pids']})
  const layout = parseLayout(mountinfo, '4:memory:/a b\n0::/with space/app\n', controllers.read)
  t.equal(layout.mode, 'hybrid')
  t.strictSame(summary(layout), [
    {version: 1, mountPoint: '/srv/my cgroups/memory', ownDir: '/srv/my cgroups/memory/a b', controllers: ['memory']},
    {version: 2, mountPoint: '/srv/my cgroups/unified', ownDir: '/srv/my cgroups/unified/app', controllers: ['pids']},
  ])
})

t.test('other octal escapes (tab, backslash) are unescaped too', async t => {
  const mountinfo = '40 31 0:40 / /srv/a\\011b\\134c rw,relatime - cgroup2 cgroup2 rw\n'
  const layout = parseLayout(mountinfo, '0::/\n', () => [])
  t.equal(layout.hierarchies[0].mountPoint, '/srv/a\tb\\c')
})

t.test('no cgroup mounts at all: no hierarchies', async t => {
  const layout = parseLayout('27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n', '0::/\n', () => [])
  t.strictSame(layout.hierarchies, [])
  t.equal(hierarchyFor(layout, 'memory'), undefined)
})
