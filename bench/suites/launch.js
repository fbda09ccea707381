// Suite 1 of the benchmark issue: launch latency. How long from spawn to exit for a trivial command under
// contain and under its peers, measured interleaved in one process.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {log} from '../lib/log.js'
import {measureInterleaved} from '../lib/measure.js'
import {Unavailable} from '../lib/peers/common.js'
import {peers} from '../lib/peers/index.js'
import {run as exec, tail, which} from '../lib/proc.js'
import {RATIO_STATISTIC, pairedRatio, round, summarize} from '../lib/stats.js'

export const name = 'launch'
export const title = 'Launch latency'

export const workloads = {
  true: {name: 'true', label: '/bin/true', host: ['/bin/true'], container: ['/bin/true']},
  echo: {name: 'echo', label: "sh -c 'echo hi'", host: ['/bin/sh', '-c', 'echo hi'], container: ['/bin/sh', '-c', 'echo hi']},
}

/**
 * Targets from the benchmark issue, per workload: the ratio `of` / the first measured of `to`, judged on the
 * median of per-round ratios. podman and docker run with --network none here, so they are compared with
 * contain under --network none (the same work); contain's default run is the fallback, said beside it.
 */
export const targets = [
  {id: 'contain', text: 'contain run ≤ 1.3× node -e 0', of: 'contain', to: ['node'], ok: r => r <= 1.3},
  {id: 'podman', text: 'contain ≥ 3× faster than podman run', of: 'podman', to: ['contain-nonet', 'contain'], ok: r => r >= 3},
  {id: 'docker', text: 'contain ≥ 4× faster than docker run', of: 'docker', to: ['contain-nonet', 'contain'], ok: r => r >= 4},
]
const unequalNetwork = "not the same work: contain ran with the host's network, the container with --network none (contain-nonet was not measured)"

export async function run(ctx) {
  const warmup = 2
  const selected = ctx.opts.only ? peers.filter(p => ctx.opts.only.includes(p.id)) : peers
  if (ctx.opts.only) {
    const unknown = ctx.opts.only.filter(id => !peers.some(p => p.id === id))
    if (unknown.length) throw new Error(`unknown tool(s) for --only: ${unknown.join(', ')} (known: ${peers.map(p => p.id).join(', ')})`)
  }
  ctx.workloads = workloads

  log.step('preparing peers')
  const peerResults = []
  const cases = []
  for (const peer of selected) {
    ctx.cleanup.assertNotStopping()
    const started = Date.now()
    const entry = {id: peer.id, label: peer.label, what: peer.what, packages: peer.packages, available: false}
    try {
      const prep = await peer.prepare(ctx)
      entry.available = true
      entry.version = prep.version
      entry.note = prep.note
      entry.commands = Object.fromEntries(Object.values(workloads).map(w => [w.name, prep.argv(w)]))
      if (prep.daemon) entry.daemon = prep.daemon
      for (const w of Object.values(workloads))
        cases.push({key: `${peer.id}/${w.name}`, peer: peer.id, workload: w.name, argv: prep.argv(w), env: prep.env, cwd: prep.cwd})
      log.info(`${peer.id}: ready (${((Date.now() - started) / 1000).toFixed(1)}s)${prep.note ? ` — ${prep.note}` : ''}`)
    } catch (error) {
      entry.reason = error instanceof Unavailable ? error.message : `setup error: ${error?.stack ?? error}`
      log.warn(`${peer.id}: unavailable — ${entry.reason}`)
    }
    peerResults.push(entry)
  }

  log.step(`measuring ${cases.length} cases, ${ctx.opts.rounds} interleaved rounds after ${warmup} warm-up rounds`)
  const measured = await measureInterleaved(cases, {rounds: ctx.opts.rounds, warmup})
  for (const [key, reason] of Object.entries(measured.dropped)) {
    const entry = peerResults.find(p => p.id === key.split('/')[0])
    entry.dropped = {...entry.dropped, [key.split('/')[1]]: reason}
  }

  const summary = {}
  const targetResults = []
  for (const w of Object.values(workloads)) {
    const rows = []
    const byRound = id => measured.samples[`${id}/${w.name}`]
    for (const p of peerResults) {
      const values = (byRound(p.id) ?? []).filter(x => x !== null && x !== undefined)
      if (!p.available || !values.length) continue
      const s = summarize(values)
      rows.push({id: p.id, label: p.label, failures: measured.failures[`${p.id}/${w.name}`].length, ...s})
    }
    const measuredIds = new Set(rows.map(r => r.id))
    const ratio = (of, to) => (measuredIds.has(of) && measuredIds.has(to) ? pairedRatio(byRound(of), byRound(to))?.median : undefined)
    for (const r of rows) {
      r.xNode = ratio(r.id, 'node')
      r.xContain = ratio(r.id, 'contain')
    }
    targetResults.push(...judgeTargets(w.name, rows, byRound))
    summary[w.name] = rows.map(r => ({
      ...r,
      median: round(r.median, 3),
      min: round(r.min, 3),
      max: round(r.max, 3),
      p90: round(r.p90, 3),
      mean: round(r.mean, 3),
      stdev: round(r.stdev, 3),
      xNode: round(r.xNode, 3),
      xContain: round(r.xContain, 3),
    }))
  }

  const crosscheck = await hyperfineCrosscheck(ctx, peerResults)
  const profile = launchProfile(summary)

  return {
    suite: name,
    title,
    ratioStatistic: RATIO_STATISTIC,
    config: {
      rounds: ctx.opts.rounds,
      warmup,
      quick: ctx.opts.quick,
      only: ctx.opts.only,
      limits: ctx.limits,
      workloads: Object.fromEntries(Object.values(workloads).map(w => [w.name, w.label])),
      order: measured.order,
    },
    peers: peerResults,
    // In round order; null where that round's run failed (its reason is in failures).
    samplesMs: Object.fromEntries(
      Object.entries(measured.samples)
        .filter(([, v]) => v.length)
        .map(([k, v]) => [k, v.map(x => (x === null ? null : round(x, 3)))]),
    ),
    failures: Object.fromEntries(Object.entries(measured.failures).filter(([, v]) => v.length)),
    loadAverage1mPerRound: measured.roundLoad,
    summary,
    targets: targetResults,
    crosscheck,
    profile,
  }
}

/**
 * The targets of one workload from its summary rows ({id, min}) and its samples by round (null when that
 * run failed): each the median of per-round ratios, with the ratio of minimums beside it.
 */
export function judgeTargets(workload, rows, byRound) {
  const measuredIds = new Set(rows.map(r => r.id))
  const best = Object.fromEntries(rows.map(r => [r.id, r.min]))
  const targetResults = []
  for (const t of targets) {
    const to = t.to.find(id => measuredIds.has(id))
    const missing = [t.of, to ?? t.to.join(' or ')].filter(id => !measuredIds.has(id))
    if (missing.length) {
      targetResults.push({workload, id: t.id, text: t.text, status: 'n/a', detail: `not measured: ${missing.join(', ')}`})
      continue
    }
    const paired = pairedRatio(byRound(t.of), byRound(to))
    if (!paired) {
      targetResults.push({workload, id: t.id, text: t.text, status: 'n/a', detail: `no round where both ${t.of} and ${to} succeeded`})
      continue
    }
    // The ratio of minimums (each tool's fastest run) is kept as a second opinion when the machine was busy.
    targetResults.push({
      workload,
      id: t.id,
      text: t.text,
      of: t.of,
      to,
      ratio: round(paired.median, 3),
      statistic: RATIO_STATISTIC,
      pairs: paired.n,
      ratioOfMinimums: round(best[t.of] / best[to], 3),
      status: t.ok(paired.median) ? 'met' : 'missed',
      ...(to !== t.to[0] ? {detail: unequalNetwork} : {}),
    })
  }
  return targetResults
}

/**
 * Where contain's launch time goes, from medians of the same run: Node's own start (node -e 0), contain's
 * JavaScript (--dry-run − node: CLI, planning, printing), and the kernel side (contain − --dry-run: cgroup,
 * unshare, contain-init, seccomp, the workload), of which the built view (contain − --view host), next
 * to what the same kernel work costs in shell.
 */
function launchProfile(summary) {
  const lines = []
  for (const [workload, rows] of Object.entries(summary)) {
    const m = Object.fromEntries(rows.map(r => [r.id, r.median]))
    if (m.contain === undefined || m.node === undefined) continue
    const parts = [`node -e 0 ${m.node.toFixed(1)} ms`]
    if (m['contain-dry'] !== undefined)
      parts.push(
        `contain's JavaScript (--dry-run − node) ${(m['contain-dry'] - m.node).toFixed(1)} ms`,
        `kernel side and the workload (contain − --dry-run) ${(m.contain - m['contain-dry']).toFixed(1)} ms`,
      )
    if (m['contain-hostview'] !== undefined) parts.push(`of which the built view (contain − --view host) ${(m.contain - m['contain-hostview']).toFixed(1)} ms`)
    const peers = []
    if (m['node-spawn'] !== undefined)
      peers.push(`a bare Node launcher (node-spawn: start, child_process, spawnSync of the workload) ${m['node-spawn'].toFixed(1)} ms`)
    if (m['unshare-cgroup'] !== undefined) peers.push(`the same cgroup + namespaces in shell (unshare-cgroup) ${m['unshare-cgroup'].toFixed(1)} ms`)
    if (peers.length > 0) parts.push(`for comparison, ${peers.join('; ')}`)
    lines.push(`${workload}: contain ${m.contain.toFixed(1)} ms = ${parts.join('; ')}.`)
  }
  return lines
}

/** Independent check of the two numbers the targets hinge on, with hyperfine (no shell, -N). */
async function hyperfineCrosscheck(ctx, peerResults) {
  const hyperfine = which('hyperfine', ['/usr/bin', '/bin'])
  const want = ['node', 'contain'].map(id => peerResults.find(p => p.id === id && p.available)).filter(Boolean)
  if (!hyperfine) return {skipped: 'hyperfine not installed'}
  if (want.length === 0) return {skipped: 'node and contain not measured'}
  if (want.flatMap(p => p.commands.true).some(a => /\s/.test(a))) return {skipped: 'a path contains whitespace (hyperfine -N splits on it)'}
  log.step('hyperfine cross-check (node -e 0 and contain, /bin/true)')
  const file = join(ctx.workDir, 'hyperfine.json')
  const runs = Math.max(ctx.opts.rounds, 5)
  const args = ['-N', '--style', 'none', '--warmup', '2', '--runs', String(runs), '--export-json', file, ...want.map(p => p.commands.true.join(' '))]
  const r = await exec(hyperfine, args, {cwd: ctx.repoRoot, timeout: 600_000})
  if (!r.ok) return {skipped: `hyperfine failed: ${tail(r.all, 300)}`}
  const data = JSON.parse(readFileSync(file, 'utf8'))
  return {
    tool: (await exec(hyperfine, ['--version'])).stdout,
    runs,
    results: data.results.map((x, i) => ({
      id: want[i].id,
      command: x.command,
      medianMs: round(x.median * 1000, 3),
      minMs: round(x.min * 1000, 3),
      maxMs: round(x.max * 1000, 3),
      meanMs: round(x.mean * 1000, 3),
    })),
  }
}
