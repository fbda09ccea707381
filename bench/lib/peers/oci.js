// crun and runc, driven directly with OCI bundles made from `crun spec` / `runc spec` (no image, no registry).
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {run, tail, which} from '../proc.js'
import {Unavailable, firstLine, requirePackages} from './common.js'

/** Edit the runtime's own default spec: no terminal, our rootfs and args, pid/mount/uts/ipc(/cgroup) namespaces, limits. */
export function editSpec(spec, ctx, {rootfs, args, cgroupsPath, hostname}) {
  const s = structuredClone(spec)
  s.process.terminal = false
  s.process.args = args
  s.root = {path: rootfs, readonly: true}
  s.hostname = hostname
  // The namespaces contain uses. The default network namespace is dropped (contain keeps the host network too).
  s.linux.namespaces = ['pid', 'mount', 'uts', 'ipc', 'cgroup'].map(type => ({type}))
  s.linux.resources = {
    ...s.linux.resources,
    memory: {limit: ctx.limits.memoryBytes},
    cpu: {quota: ctx.limits.cpuQuota, period: ctx.limits.cpuPeriod},
  }
  s.linux.cgroupsPath = cgroupsPath
  // Without a network namespace the kernel refuses a fresh sysfs mount: bind the host's read-only instead.
  s.mounts = s.mounts.map(m =>
    m.destination === '/sys' ? {destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro']} : m,
  )
  return s
}

async function makeBundles(ctx, tool, bin) {
  if (!ctx.commonParent) throw new Unavailable("no single cgroup path lies below the bench's own cgroup in every hierarchy")
  const rootfs = await ctx.rootfs()
  const base = join(ctx.workDir, 'oci', tool)
  const specDir = join(base, 'default-spec')
  mkdirSync(specDir, {recursive: true})
  const made = await run(bin, ['spec'], {cwd: specDir})
  if (!made.ok) throw new Unavailable(`${tool} spec failed: ${tail(made.all, 300)}`)
  const spec = JSON.parse(readFileSync(join(specDir, 'config.json'), 'utf8'))
  const bundles = {}
  for (const [name, workload] of Object.entries(ctx.workloads)) {
    const dir = join(base, name)
    mkdirSync(dir, {recursive: true})
    const config = editSpec(spec, ctx, {
      rootfs: rootfs.dir,
      args: workload.container,
      cgroupsPath: `${ctx.commonParent}/${ctx.runId}/${tool}-${name}`,
      hostname: `${tool}-bench`,
    })
    writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`)
    bundles[name] = {dir, id: `${ctx.runId}-${tool}-${name}`}
  }
  return {bundles, state: join(base, 'state'), hadSeccomp: Boolean(spec.linux?.seccomp)}
}

/** Run the probe, return undefined on success or the error text. */
async function probe(argv) {
  const r = await run(argv[0], argv.slice(1), {timeout: 60_000})
  return r.ok ? undefined : `exit ${r.exitCode ?? 'n/a'}: ${tail(r.all || r.error, 300)}`
}

function registerDelete(ctx, tool, wrap, bin, state, bundles) {
  ctx.cleanup.add(`${tool}: delete leftover containers`, async () => {
    const list = wrap([bin, '--root', state, 'list', '--quiet'])
    const listed = await run(list[0], list.slice(1), {timeout: 30_000})
    const ours = new Set(Object.values(bundles).map(b => b.id))
    const left = listed.stdout
      .split('\n')
      .map(l => l.trim())
      .filter(id => ours.has(id))
    const gone = []
    for (const id of left) {
      const argv = wrap([bin, '--root', state, 'delete', '--force', id])
      const r = await run(argv[0], argv.slice(1), {timeout: 30_000})
      gone.push(`${id}${r.ok ? '' : ` (failed: ${tail(r.all, 100)})`}`)
    }
    return gone.length ? `deleted ${gone.join(', ')}` : 'no container left'
  })
}

export const runc = {
  id: 'runc',
  label: 'runc run',
  packages: ['runc'],
  what: 'runc run --bundle B ID with a bundle from `runc spec` (terminal false, busybox rootfs read-only, pid/mount/uts/ipc/cgroup namespaces, 256 MiB + 1 CPU cgroup); runc has no built-in seccomp profile.',
  async prepare(ctx) {
    requirePackages(ctx, this.packages)
    const bin = which('runc', ['/usr/sbin', '/usr/bin', '/sbin', '/bin'])
    if (!bin) throw new Unavailable('runc not found after installing runc')
    const {bundles, state} = await makeBundles(ctx, 'runc', bin)
    registerDelete(ctx, 'runc', a => a, bin, state, bundles)
    const argv = w => [bin, '--root', state, 'run', '--bundle', bundles[w.name].dir, bundles[w.name].id]
    const err = await probe(argv(ctx.workloads.true))
    if (err) throw new Unavailable(`runc run failed: ${err}`)
    return {argv, version: firstLine((await run(bin, ['--version'])).stdout), note: 'no default seccomp profile in runc'}
  },
}

export const crun = {
  id: 'crun',
  label: 'crun run',
  packages: ['crun'],
  what: "crun run --bundle B ID with a bundle from `crun spec` (same edits as runc). On a hybrid cgroup host crun 1.8 refuses to run, so it is started as `unshare -m sh -c 'umount <cgroup2 mount>; exec crun …'` (its own mount namespace without the cgroup2 mount).",
  async prepare(ctx) {
    requirePackages(ctx, this.packages)
    const bin = which('crun', ['/usr/bin', '/usr/sbin', '/bin', '/sbin'])
    if (!bin) throw new Unavailable('crun not found after installing crun')
    const {bundles, state} = await makeBundles(ctx, 'crun', bin)
    const runArgv = w => [bin, '--root', state, '--cgroup-manager=cgroupfs', 'run', '--bundle', bundles[w.name].dir, bundles[w.name].id]
    // --root: a bare `crun --version` creates /run/crun.
    const version = firstLine((await run(bin, ['--root', state, '--version'])).stdout)

    const directErr = await probe(runArgv(ctx.workloads.true))
    if (!directErr) {
      registerDelete(ctx, 'crun', a => a, bin, state, bundles)
      return {argv: runArgv, version, note: 'no default seccomp profile in crun'}
    }
    const unified = ctx.layout.mode === 'hybrid' ? ctx.layout.hierarchies.find(h => h.version === 2)?.mountPoint : undefined
    if (!unified) throw new Unavailable(`crun run failed: ${directErr}`)
    const unshareBin = which('unshare', ['/usr/bin', '/bin'])
    const sh = which('sh', ['/bin', '/usr/bin'])
    const wrap = argv => [unshareBin, '--mount', '--propagation', 'private', sh, '-c', `umount ${unified} && exec "$@"`, 'sh', ...argv]
    registerDelete(ctx, 'crun', wrap, bin, state, bundles)
    const wrappedErr = await probe(wrap(runArgv(ctx.workloads.true)))
    if (wrappedErr) throw new Unavailable(`crun run failed directly (${directErr}) and inside its own mount namespace without ${unified} (${wrappedErr})`)
    return {
      argv: w => wrap(runArgv(w)),
      version,
      note: `hybrid cgroups: run as unshare -m sh -c 'umount ${unified}; exec crun …' (direct run failed: ${tail(directErr, 160)}); no default seccomp profile in crun`,
    }
  },
}
