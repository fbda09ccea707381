// podman with a private store under bench/work: cgroupfs manager, file events, runc, no network, and
// explicit ulimits (podman's default nofile/nproc exceed this host's hard limits and the run fails).
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {unmountUnder} from '../host.js'
import {run, systemPath, tail, which} from '../proc.js'
import {Unavailable, firstLine, requirePackages} from './common.js'

const image = 'localhost/contain-bench-rootfs:latest'
const podmanNprocCap = 32768

let started

/**
 * podman's private store with the busybox image imported (once per run, shared by the suites).
 * Resolves {bin, global, env, image, driver, runFlags, base, version, note}; runFlags are the flags of a
 * `podman run` with the bench's limits and ulimits, without --rm / -d.
 */
export function startPodman(ctx) {
  started ??= preparePodman(ctx).catch(error => {
    started = undefined
    throw error
  })
  return started
}

async function preparePodman(ctx) {
  requirePackages(ctx, podman.packages)
  const bin = which('podman', ['/usr/bin', '/bin'])
  if (!bin) throw new Unavailable('podman not found after installing podman')
  if (!which('runc', ['/usr/sbin', '/usr/bin'])) throw new Unavailable('runc (podman --runtime runc) not installed')
  if (!ctx.commonParent) throw new Unavailable("no single cgroup path lies below the bench's own cgroup in every hierarchy")
  const rootfs = await ctx.rootfs()
  const base = join(ctx.workDir, 'podman')
  const dirs = {
    root: join(base, 'root'),
    runroot: join(base, 'runroot'),
    tmp: join(base, 'tmp'),
    volumes: join(base, 'volumes'),
    networks: join(base, 'networks'),
    tmpdir: join(base, 'TMPDIR'),
    runc: join(base, 'runc-state'),
  }
  for (const d of Object.values(dirs)) mkdirSync(d, {recursive: true})
  const env = {...process.env, PATH: systemPath, TMPDIR: dirs.tmpdir}

  let driver
  let global
  const reasons = []
  ctx.cleanup.add('podman: remove containers, images and storage mounts', async () => {
    started = undefined
    if (!global) return 'never started'
    const rm = await run(bin, [...global, 'rm', '--all', '--force', '--time', '0'], {env, timeout: 120_000})
    const rmi = await run(bin, [...global, 'rmi', '--all', '--force'], {env, timeout: 120_000})
    const mounts = await unmountUnder(base)
    return `rm: ${rm.ok ? 'ok' : tail(rm.all, 120)}; rmi: ${rmi.ok ? 'ok' : tail(rmi.all, 120)}; unmounted ${mounts.unmounted.length}, remaining ${mounts.remaining.length}`
  })
  for (const candidate of ['overlay', 'vfs']) {
    global = [
      '--root',
      dirs.root,
      '--runroot',
      dirs.runroot,
      '--tmpdir',
      dirs.tmp,
      '--volumepath',
      dirs.volumes,
      '--network-config-dir',
      dirs.networks,
      '--storage-driver',
      candidate,
      '--cgroup-manager',
      'cgroupfs',
      '--events-backend',
      'file',
      '--runtime',
      'runc',
      `--runtime-flag=root=${dirs.runc}`,
      '--log-level',
      'error',
    ]
    const imported = await run(bin, [...global, 'import', rootfs.tarball, image], {env, timeout: 300_000})
    if (imported.ok) {
      driver = candidate
      break
    }
    reasons.push(`podman import with --storage-driver ${candidate}: ${tail(imported.all, 200)}`)
    await run(bin, [...global, 'system', 'reset', '--force'], {env, timeout: 120_000})
    await unmountUnder(base)
  }
  if (!driver) throw new Unavailable(reasons.join('; '))

  // Host hard limits, and podman 4.3 itself caps its own RLIMIT_NPROC at 32768 before it starts conmon/runc;
  // without CAP_SYS_RESOURCE (missing on this host) runc cannot raise a limit above what it inherited.
  const nofile = ctx.hostLimits.nofile
  const nproc = Math.min(ctx.hostLimits.nproc, podmanNprocCap)
  const runFlags = [
    '--pull',
    'never',
    '--network',
    'none',
    '--ulimit',
    `nofile=${nofile}:${nofile}`,
    '--ulimit',
    `nproc=${nproc}:${nproc}`,
    '--cgroup-parent',
    `${ctx.commonParent}/${ctx.runId}/podman`,
    '--cpus',
    String(ctx.limits.cpus),
    '--memory',
    `${ctx.limits.memoryBytes}b`,
  ]
  return {
    bin,
    global,
    env,
    image,
    driver,
    runFlags,
    base,
    cli: (args, options = {}) => run(bin, [...global, ...args], {env, timeout: 120_000, ...options}),
    version: firstLine((await run(bin, ['--version'])).stdout),
    note: `storage driver ${driver}; --ulimit nofile=${nofile} nproc=${nproc} (host hard limits ${ctx.hostLimits.nofile}/${ctx.hostLimits.nproc}; podman caps its own nproc at ${podmanNprocCap})${reasons.length ? `; ${reasons.join('; ')}` : ''}`,
  }
}

export const podman = {
  id: 'podman',
  label: 'podman run --rm',
  packages: ['podman'],
  what: "podman run --rm --network none --cpus 1 -m 256m with a `podman import`ed busybox image; private --root/--runroot/--tmpdir under bench/work, --cgroup-manager cgroupfs --events-backend file --runtime runc, --cgroup-parent below the bench's own cgroup, --ulimit nofile/nproc capped at the host's hard limits. Uses podman's default seccomp profile.",
  async prepare(ctx) {
    const p = await startPodman(ctx)
    const argv = w => [p.bin, ...p.global, 'run', '--rm', ...p.runFlags, p.image, ...w.container]
    const check = await run(p.bin, argv(ctx.workloads.true).slice(1), {env: p.env, timeout: 120_000})
    if (!check.ok) throw new Unavailable(`podman run failed (storage ${p.driver}): ${tail(check.all, 400)}`)
    return {argv, env: p.env, version: p.version, note: p.note}
  },
}
