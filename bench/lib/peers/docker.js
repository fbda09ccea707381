// docker.io from Debian with a private dockerd: own data-root, exec-root, socket and pidfile under
// bench/work, no iptables/bridge/forwarding/masquerading (the host network is never touched), cgroupfs
// driver, cgroup-parent below the bench's own cgroup. The Debian CLI /usr/bin/docker is used, not a newer
// one earlier on PATH.
import {spawn} from 'node:child_process'
import {closeSync, mkdirSync, openSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {unmountUnder} from '../host.js'
import {descendants, pidAlive, run, stopPid, systemPath, tail, which} from '../proc.js'
import {accountingCgroup} from '../cpuacct.js'
import {Unavailable, firstLine, requirePackages} from './common.js'

const image = 'contain-bench-rootfs:latest'

const label = 'docker run --rm'
const what =
  "docker run --rm --network none --cpus 1 -m 256m with a `docker import`ed busybox image, against a private dockerd (--iptables=false --ip6tables=false --bridge=none --ip-forward=false --ip-masq=false, cgroupfs driver, overlay2 or vfs, data/exec root, socket and pidfile under bench/work, --cgroup-parent below the bench's own cgroup). Uses docker's default seccomp profile."

// One private dockerd per bench run, shared by every suite that needs it (a daemon start costs seconds).
let started

/**
 * Starts the bench's private dockerd (once per run) with the busybox image imported. dockerd starts inside
 * a cgroup of its own below the bench's (no limits; accounting only), so containerd and the shims it
 * starts are in it too: the suites read the CPU time of dockerd + containerd + shims from it.
 * Resolves {cli(args, options), argvPrefix, host, env, image, pid, driver, dataRoot, note, version, accounting}.
 */
export function startDocker(ctx) {
  started ??= startDaemon(ctx).catch(error => {
    started = undefined
    throw error
  })
  return started
}

async function startDaemon(ctx) {
  requirePackages(ctx, docker.packages)
  const dockerd = which('dockerd', ['/usr/sbin', '/usr/bin'])
  const cli = which('docker', ['/usr/bin', '/bin'])
  if (!dockerd || !cli) throw new Unavailable('dockerd or /usr/bin/docker not found after installing docker.io')
  if (!ctx.commonParent) throw new Unavailable("no single cgroup path lies below the bench's own cgroup in every hierarchy")
  const rootfs = await ctx.rootfs()
  const base = join(ctx.workDir, 'docker')
  const paths = {
    data: join(base, 'data'),
    exec: join(base, 'exec'),
    cli: join(base, 'cli'),
    sock: join(base, 'docker.sock'),
    pid: join(base, 'dockerd.pid'),
    log: join(base, 'dockerd.log'),
    config: join(base, 'daemon.json'),
  }
  for (const d of [paths.data, paths.exec, paths.cli]) mkdirSync(d, {recursive: true})
  writeFileSync(paths.config, '{}\n') // never read the host's /etc/docker/daemon.json
  const host = `unix://${paths.sock}`
  const env = {...process.env, PATH: systemPath, DOCKER_CONFIG: paths.cli}
  delete env.DOCKER_HOST
  delete env.DOCKER_CONTEXT
  const dockerCli = (args, options = {}) => run(cli, ['-H', host, ...args], {env, timeout: 300_000, ...options})
  const accounting = accountingCgroup(ctx, 'dockerd')

  let daemon
  let helpers = []
  const stopDaemon = async () => {
    if (!daemon) return 'not running'
    helpers = [...new Set([...helpers, ...descendants(daemon.pid).map(p => p.pid)])]
    const result = await stopPid(daemon.pid, 30_000)
    const leftover = []
    for (const pid of helpers) if (pidAlive(pid)) leftover.push(`${pid}: ${await stopPid(pid, 10_000)}`)
    daemon = undefined
    const mounts = await unmountUnder(base)
    return `dockerd ${result}${leftover.length ? `; helpers ${leftover.join(', ')}` : ''}; unmounted ${mounts.unmounted.length}, remaining ${mounts.remaining.length}`
  }
  ctx.cleanup.add('docker: remove containers and image, stop dockerd', async () => {
    started = undefined
    if (!daemon) return 'dockerd not running'
    const ids = (await dockerCli(['ps', '--all', '--quiet'], {timeout: 60_000})).stdout.split('\n').filter(Boolean)
    if (ids.length) await dockerCli(['rm', '--force', ...ids], {timeout: 120_000})
    const rmi = await dockerCli(['rmi', '--force', image], {timeout: 60_000})
    return `removed ${ids.length} container(s); rmi ${rmi.ok ? 'ok' : tail(rmi.all, 100)}; ${await stopDaemon()}`
  })

  const reasons = []
  let driver
  for (const candidate of ['overlay2', 'vfs']) {
    ctx.cleanup.assertNotStopping()
    const logFd = openSync(paths.log, 'a')
    const args = [
      '--data-root',
      paths.data,
      '--exec-root',
      paths.exec,
      '--pidfile',
      paths.pid,
      '-H',
      host,
      '--config-file',
      paths.config,
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--ip-forward=false',
      '--ip-masq=false',
      '--exec-opt',
      'native.cgroupdriver=cgroupfs',
      '--storage-driver',
      candidate,
      '--cgroup-parent',
      `${ctx.commonParent}/${ctx.runId}/docker`,
      '--log-level',
      'warn',
    ]
    // The shell joins the accounting cgroup and execs dockerd, so the PID is dockerd's from its first instruction.
    const argv = accounting ? ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', accounting.procsFile, dockerd, ...args] : [dockerd, ...args]
    // Own process group: a Ctrl-C in the terminal reaches the bench, which then shuts dockerd down in order.
    daemon = spawn(argv[0], argv.slice(1), {stdio: ['ignore', logFd, logFd], env: {...env, HOME: paths.cli}, detached: true})
    closeSync(logFd)
    daemon.unref()
    daemon.command = [dockerd, ...args].join(' ')
    const ready = await waitReady(
      () => dockerCli(['version', '--format', '{{.Server.Version}}'], {timeout: 10_000}),
      daemon,
      60_000,
      () => ctx.cleanup.started,
    )
    if (ready === true) {
      driver = candidate
      break
    }
    reasons.push(`dockerd --storage-driver ${candidate}: ${ready}; log: ${tail(readLog(paths.log), 300)}`)
    await stopDaemon()
  }
  if (!driver) throw new Unavailable(reasons.join(' | '))
  helpers = descendants(daemon.pid).map(p => p.pid)

  const imported = await dockerCli(['import', rootfs.tarball, image])
  if (!imported.ok) throw new Unavailable(`docker import failed: ${tail(imported.all, 300)}`)
  const server = (await dockerCli(['version', '--format', '{{.Server.Version}}'])).stdout
  return {
    cli: dockerCli,
    argvPrefix: [cli, '-H', host],
    host,
    env,
    image,
    pid: daemon.pid,
    command: daemon.command,
    driver,
    dataRoot: paths.data,
    accounting,
    rootfs,
    version: `client ${firstLine((await run(cli, ['--version'])).stdout)}; server ${server}`,
    note: `storage driver ${driver}; dockerd pid ${daemon.pid}${reasons.length ? `; ${reasons.join('; ')}` : ''}`,
  }
}

export const docker = {
  id: 'docker',
  label,
  packages: ['docker.io'],
  what,
  async prepare(ctx) {
    const d = await startDocker(ctx)
    const runFlags = ['run', '--rm', '--pull', 'never', '--network', 'none', '--cpus', String(ctx.limits.cpus), '--memory', `${ctx.limits.memoryBytes}b`]
    const argv = w => [...d.argvPrefix, ...runFlags, d.image, ...w.container]
    const check = await run(argv(ctx.workloads.true)[0], argv(ctx.workloads.true).slice(1), {env: d.env, timeout: 120_000})
    if (!check.ok) throw new Unavailable(`docker run failed (storage ${d.driver}): ${tail(check.all, 400)}`)
    return {argv, env: d.env, version: d.version, note: d.note, daemon: {pid: d.pid, command: d.command}}
  },
}

function readLog(file) {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

async function waitReady(check, daemon, timeoutMs, stopping) {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  while (Date.now() < deadline) {
    if (daemon.exitCode !== null || daemon.signalCode !== null || !pidAlive(daemon.pid)) return `dockerd exited (${daemon.exitCode ?? daemon.signalCode})`
    if (stopping()) return 'interrupted'
    const r = await check()
    if (r.ok && r.stdout) return true
    last = tail(r.all, 200)
    await sleep(250)
  }
  return `not ready after ${timeoutMs / 1000}s (${last})`
}
