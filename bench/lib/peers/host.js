// Peers that run the workload on the host filesystem: the baselines, contain itself, unshare, bwrap.
import {chmodSync, existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {hierarchyFor} from '../cgroup.js'
import {run, tail, which} from '../proc.js'
import {Unavailable, firstLine, requirePackages} from './common.js'

export const direct = {
  id: 'direct',
  label: 'direct exec (no isolation)',
  packages: [],
  what: 'Spawns the workload itself from the bench process: the floor every other tool adds to.',
  async prepare() {
    return {argv: w => w.host}
  },
}

export const node = {
  id: 'node',
  label: 'node -e 0',
  packages: [],
  what: 'Starts Node.js and exits without running the workload: the cost of any Node CLI, the baseline for targets.',
  async prepare() {
    return {argv: () => [process.execPath, '-e', '0'], version: process.version, note: 'same command for both workloads'}
  },
}

/**
 * The least any Node launcher does: start, load child_process (not in Node's startup snapshot: it
 * brings net and stream), run the workload and wait for it. contain − node-spawn is what contain's
 * isolation and supervision add above that.
 */
export const nodeSpawn = {
  id: 'node-spawn',
  label: 'node: spawnSync(CMD)',
  packages: [],
  what: "node -e \"require('node:child_process').spawnSync(CMD, {stdio: 'inherit'})\": Node's start, the child_process module and one spawn of the workload, no isolation. The floor of a launcher written in Node.",
  async prepare() {
    const script =
      "const [file, ...args] = process.argv.slice(1); process.exitCode = require('node:child_process').spawnSync(file, args, {stdio: 'inherit'}).status"
    return {argv: w => [process.execPath, '-e', script, ...w.host], version: process.version}
  },
}

function containFiles(ctx) {
  const cli = join(ctx.repoRoot, 'bin/run.js')
  const dist = join(ctx.repoRoot, 'dist/cli.js')
  const init = join(ctx.repoRoot, 'native/build/contain-init')
  for (const f of [cli, dist, init]) if (!existsSync(f)) throw new Unavailable(`${f} is missing: run npm run build first`)
  return cli
}

async function containVersion(ctx) {
  const pkg = JSON.parse(readFileSync(join(ctx.repoRoot, 'package.json'), 'utf8'))
  // Read-only git: --no-optional-locks keeps `git status` from refreshing (writing) the index.
  const rev = await run('git', ['--no-optional-locks', '-C', ctx.repoRoot, 'rev-parse', '--short', 'HEAD'])
  const dirty = await run('git', ['--no-optional-locks', '-C', ctx.repoRoot, 'status', '--porcelain', '--untracked-files=no'])
  return `${pkg.version}${rev.ok ? ` (${rev.stdout}${dirty.ok && dirty.stdout ? ', with uncommitted changes' : ''})` : ''}`
}

const containLimits = ['--cpus', '1', '-m', '256m']

/** `node bin/run.js run FLAGS --cpus 1 -m 256m -- CMD`, the built tree's contain, from the repository's root. */
function containPeer({id, label, what, flags}) {
  return {
    id,
    label,
    packages: [],
    what,
    async prepare(ctx) {
      const cli = containFiles(ctx)
      return {argv: w => [process.execPath, cli, 'run', ...flags, ...containLimits, '--', ...w.host], cwd: ctx.repoRoot, version: await containVersion(ctx)}
    },
  }
}

export const containDry = containPeer({
  id: 'contain-dry',
  label: 'contain run --dry-run',
  what: "contain run with --dry-run: Node start, CLI parsing and planning, printing the plan; no cgroup, no namespace, no workload. Shows where contain's time goes.",
  flags: ['--dry-run'],
})

export const contain = containPeer({
  id: 'contain',
  label: 'contain run --cpus 1 -m 256m',
  what: 'node bin/run.js run --cpus 1 -m 256m -- CMD: cgroup with the limits, pid/mount/uts/ipc/cgroup namespaces via unshare and the native PID 1 (contain-init).',
  flags: [],
})

/** contain as before issue 11's view: the host's filesystem, so the built view's cost shows as the difference. */
export const containHostView = containPeer({
  id: 'contain-hostview',
  label: 'contain run --view host --cpus 1 -m 256m',
  what: "node bin/run.js run --view host --cpus 1 -m 256m -- CMD: as contain, but the app sees the host's filesystem instead of the view contain builds (fresh /dev, private /tmp and /run, system directories read-only). Shows what the view costs.",
  flags: ['--view', 'host'],
})

/**
 * contain with the network docker and podman get here (--network none: their private daemons have no
 * bridge), so the "faster than docker/podman" targets compare the same work; `contain` above is the
 * default (the host's network), the one the node -e 0 target is about.
 */
export const containNoNet = containPeer({
  id: 'contain-nonet',
  label: 'contain run --network none --cpus 1 -m 256m',
  what: 'node bin/run.js run --network none --cpus 1 -m 256m -- CMD: as contain, plus a network namespace with only loopback, the network docker and podman get in this bench.',
  flags: ['--network', 'none'],
})

const unshareFlags = ['--pid', '--fork', '--mount-proc', '--mount', '--uts', '--ipc', '--cgroup']

function unshareBin() {
  const bin = which('unshare', ['/usr/bin', '/bin'])
  if (!bin) throw new Unavailable('util-linux unshare not found')
  return bin
}

export const unshare = {
  id: 'unshare',
  label: 'unshare (pid/mount/uts/ipc/cgroup)',
  packages: [],
  what: 'util-linux unshare --pid --fork --mount-proc --mount --uts --ipc --cgroup CMD: the namespaces contain uses, no cgroup limits.',
  async prepare() {
    const bin = unshareBin()
    return {argv: w => [bin, ...unshareFlags, ...w.host], version: firstLine((await run(bin, ['--version'])).stdout)}
  },
}

export const unshareCgroup = {
  id: 'unshare-cgroup',
  label: 'unshare + cgroup (shell script)',
  packages: [],
  what: "A /bin/sh script: mkdir a memory and a cpu cgroup below the bench's own, write 256 MiB / 1 CPU, echo $$ into cgroup.procs, exec unshare (as above), rmdir both afterwards. The hand-rolled equivalent of contain.",
  async prepare(ctx) {
    const bin = unshareBin()
    const sh = which('sh', ['/bin', '/usr/bin'])
    let script
    let parents
    if (ctx.layout.mode === 'v2') {
      const h = hierarchyFor(ctx.layout, 'memory')
      const parent = ctx.janitor.make(join(h.ownDir, ctx.runId, 'sh'), h.ownDir)
      const enabled = await run('sh', [
        '-c',
        `echo "+memory +cpu" > ${join(parent, '..', 'cgroup.subtree_control')} && echo "+memory +cpu" > ${join(parent, 'cgroup.subtree_control')}`,
      ])
      if (!enabled.ok) throw new Unavailable(`cannot delegate memory+cpu below ${h.ownDir} on cgroup v2: ${tail(enabled.all, 200)}`)
      parents = [parent]
      script = `#!/bin/sh
# usage: unshare-cgroup.sh PARENT -- CMD...   (cgroup v2)
cg="$1/sh-$$"; shift 2
mkdir "$cg" || exit 125
echo ${ctx.limits.memoryBytes} > "$cg/memory.max" && echo "${ctx.limits.cpuQuota} ${ctx.limits.cpuPeriod}" > "$cg/cpu.max" || { rmdir "$cg"; exit 125; }
${sh} -c 'echo $$ > "$1/cgroup.procs" || exit 125; shift; exec ${bin} ${unshareFlags.join(' ')} "$@"' sh "$cg" "$@"
rc=$?
rmdir "$cg" 2>/dev/null || { sleep 0.01; rmdir "$cg"; }
exit $rc
`
    } else {
      const mem = hierarchyFor(ctx.layout, 'memory')
      const cpu = hierarchyFor(ctx.layout, 'cpu')
      if (!mem || !cpu) throw new Unavailable('no cgroup v1 memory or cpu hierarchy mounted')
      parents = [ctx.janitor.make(join(mem.ownDir, ctx.runId, 'sh'), mem.ownDir), ctx.janitor.make(join(cpu.ownDir, ctx.runId, 'sh'), cpu.ownDir)]
      script = `#!/bin/sh
# usage: unshare-cgroup.sh MEMORY_PARENT CPU_PARENT -- CMD...   (cgroup v1)
mem="$1/sh-$$"; cpu="$2/sh-$$"; shift 3
mkdir "$mem" "$cpu" || exit 125
echo ${ctx.limits.memoryBytes} > "$mem/memory.limit_in_bytes" &&
echo ${ctx.limits.cpuPeriod} > "$cpu/cpu.cfs_period_us" &&
echo ${ctx.limits.cpuQuota} > "$cpu/cpu.cfs_quota_us" || { rmdir "$mem" "$cpu"; exit 125; }
${sh} -c 'echo $$ > "$1/cgroup.procs" && echo $$ > "$2/cgroup.procs" || exit 125; shift 2; exec ${bin} ${unshareFlags.join(' ')} "$@"' sh "$mem" "$cpu" "$@"
rc=$?
rmdir "$mem" "$cpu" 2>/dev/null || { sleep 0.01; rmdir "$mem" "$cpu" 2>/dev/null; }
exit $rc
`
    }
    const file = join(ctx.workDir, 'unshare-cgroup.sh')
    writeFileSync(file, script)
    chmodSync(file, 0o755)
    return {argv: w => [sh, file, ...parents, '--', ...w.host], files: {script: file}, cgroupParents: parents}
  },
}

export const bwrap = {
  id: 'bwrap',
  label: 'bwrap',
  packages: ['bubblewrap'],
  what: 'bubblewrap --unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup --ro-bind / / --proc /proc --dev /dev CMD (always a new mount namespace; no cgroup limits).',
  async prepare(ctx) {
    requirePackages(ctx, this.packages)
    const bin = which('bwrap', ['/usr/bin', '/bin'])
    if (!bin) throw new Unavailable('bwrap not found after installing bubblewrap')
    const flags = ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev']
    return {argv: w => [bin, ...flags, '--', ...w.host], version: firstLine((await run(bin, ['--version'])).stdout)}
  },
}
