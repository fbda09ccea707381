// Host hygiene: mounts below bench/work, state directories that tools create outside it, kernel settings
// dockerd is known to raise, and a fingerprint of the network/firewall state (which must never change).
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {processes, run, stopPid, which} from './proc.js'

const unescape = p => p.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(Number.parseInt(o, 8)))

/** Mount points at or below dir, as seen from this mount namespace, deepest first. */
export function mountsUnder(dir) {
  const points = []
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ')
    if (fields.length < 5) continue
    const point = unescape(fields[4])
    if (point === dir || point.startsWith(`${dir}/`)) points.push(point)
  }
  return points.sort((a, b) => b.length - a.length)
}

/** Unmount everything below dir (repeat: one path can carry stacked mounts). Lazy unmount as a last resort. */
export async function unmountUnder(dir) {
  const done = []
  for (let pass = 0; pass < 5; pass++) {
    const points = mountsUnder(dir)
    if (points.length === 0) break
    for (const point of points) {
      const r = await run('umount', [point])
      if (r.ok) done.push(point)
      else if (pass >= 2) {
        const lazy = await run('umount', ['-l', point])
        if (lazy.ok) done.push(`${point} (lazy)`)
      }
    }
    await sleep(100)
  }
  return {unmounted: done, remaining: mountsUnder(dir)}
}

/**
 * State locations outside bench/work that the peers write by default. The peers are pointed elsewhere with
 * flags, but if one of these appears during the bench anyway it was caused by the bench and is removed.
 */
export const foreignStatePaths = [
  '/etc/docker/key.json',
  '/etc/docker',
  '/var/lib/docker',
  '/var/run/docker',
  '/run/docker',
  '/run/docker.sock',
  '/var/lib/containerd',
  '/run/containerd',
  '/var/lib/containers',
  '/run/containers',
  '/run/libpod',
  '/etc/containers/networks',
  '/etc/cni/net.d/87-podman-bridge.conflist',
  '/run/runc',
  '/run/crun',
  '/run/user/0/crun',
]

export function snapshotPaths(paths = foreignStatePaths) {
  return Object.fromEntries(paths.map(p => [p, existsSync(p)]))
}

/** Remove the paths that did not exist in `before` but exist now. */
export function removeNewPaths(before) {
  const removed = []
  for (const [path, existed] of Object.entries(before)) {
    if (!existed && existsSync(path)) {
      rmSync(path, {recursive: true, force: true})
      removed.push(path)
    }
  }
  return removed
}

/** Kernel settings dockerd raises on start (daemon/keys.go: root_maxkeys/root_maxbytes). Restored at the end. */
const sysctls = ['/proc/sys/kernel/keys/root_maxkeys', '/proc/sys/kernel/keys/root_maxbytes']

export function snapshotSysctls() {
  return Object.fromEntries(sysctls.filter(p => existsSync(p)).map(p => [p, readFileSync(p, 'utf8').trim()]))
}

export function restoreSysctls(before) {
  const restored = []
  for (const [path, value] of Object.entries(before)) {
    const now = readFileSync(path, 'utf8').trim()
    if (now !== value) {
      writeFileSync(path, value)
      restored.push(`${path}: ${now} -> ${value}`)
    }
  }
  return restored
}

/** Digest of links, addresses, routes, ip_forward and (if present) the iptables rules: must be equal before/after. */
export async function networkFingerprint() {
  const parts = {}
  const ip = which('ip')
  if (ip) {
    for (const args of [
      ['-o', 'link'],
      ['-o', 'addr'],
      ['route', 'show', 'table', 'all'],
      ['-6', 'route', 'show', 'table', 'all'],
    ]) {
      // Counters and link state flicker; keep names, flags, addresses and routes.
      parts[`ip ${args.join(' ')}`] = (await run(ip, args)).stdout.replace(/\s+(qlen|txqlen|valid_lft|preferred_lft)\s+\S+/g, '')
    }
  }
  for (const f of ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding']) {
    if (existsSync(f)) parts[f] = readFileSync(f, 'utf8').trim()
  }
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    const bin = which(tool)
    if (bin)
      parts[tool] = (await run(bin, [])).stdout
        .split('\n')
        .filter(l => !l.startsWith('#') && !/^:.*\[\d+:\d+\]$/.test(l))
        .join('\n')
  }
  const digest = createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16)
  return {digest, parts}
}

/**
 * Safety net: processes whose command line mentions the bench's private work dir were started by the bench
 * (dockerd, containerd, shims, conmon, runtimes). End them by PID.
 */
const peerProgram = /^(dockerd|containerd|containerd-shim.*|docker-proxy|docker|podman|conmon|runc|crun|unshare|bwrap|contain-init|sh|dash|busybox|true|sleep)$/

export async function stopProcessesReferencing(workDir, exceptPid = process.pid) {
  const stopped = []
  for (const p of processes()) {
    if (p.pid === exceptPid || !p.cmdline.includes(workDir) || !peerProgram.test(p.comm)) continue
    stopped.push(`${p.pid} ${p.comm}: ${await stopPid(p.pid, 5_000)}`)
  }
  return stopped
}
