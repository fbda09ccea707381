// Suite 3: resident cost of supervising 1 and 10 long-running apps (`sleep 3600`), the apps themselves
// not counted. What stays resident per tool:
//   contain   the project's supervisor (one Node process) + the contain-init helpers each app keeps
//             (the monitor outside its pid namespace and PID 1 inside)
//   podman    one conmon per container (podman itself exits after `run -d`)
//   docker    dockerd + containerd + one containerd-shim per container (every process in dockerd's
//             accounting cgroup: the containers themselves are moved to cgroups of their own)
// RSS and PSS from /proc/PID/smaps_rollup, summed over the processes; PSS shares pages between the
// processes that map them, so it is the fair sum. Per extra app = (10 apps − 1 app) / 9, per round.
import {readFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {readProcs} from '../lib/cgroup.js'
import {ContainProjects, appPrefix} from '../lib/contain.js'
import {Unavailable} from '../lib/peers/common.js'
import {startDocker} from '../lib/peers/docker.js'
import {startPodman} from '../lib/peers/podman.js'
import {descendants, processes, tail} from '../lib/proc.js'
import {RATIO_STATISTIC, pairedRatio, round, roundsText, summarize} from '../lib/stats.js'
import {roundsFor, rotate, statCells} from '../lib/suite.js'

export const name = 'resident'
export const title = 'Resident cost of supervision'

const MiB = 2 ** 20

function memoryOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
    const field = f => Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024
    return {rss: field('Rss'), pss: field('Pss')}
  } catch {
    return {rss: NaN, pss: NaN}
  }
}

/** Sum of RSS and PSS over pids, median of 5 samples 200 ms apart (after the apps settled). */
async function sample(pidsOf) {
  const rss = []
  const pss = []
  let count = 0
  for (let i = 0; i < 5; i++) {
    const pids = pidsOf()
    count = pids.length
    const m = pids.map(memoryOf).filter(x => Number.isFinite(x.rss))
    rss.push(m.reduce((a, x) => a + x.rss, 0))
    pss.push(m.reduce((a, x) => a + x.pss, 0))
    await sleep(200)
  }
  return {rss: summarize(rss).median, pss: summarize(pss).median, processes: count}
}

const settleMs = 1500

export async function run(ctx) {
  const rounds = roundsFor(ctx, {quick: 1, full: 3})
  const peers = []
  const tools = []

  try {
    const projects = new ContainProjects(ctx)
    const sleepBin = '/bin/sleep'
    // The same limits and network as podman's and docker's containers (1 CPU, 256 MiB, none).
    const settings = `    cpus: ${ctx.limits.cpus}\n    mem_limit: ${ctx.limits.memoryBytes}b\n    network_mode: none\n`
    const yml = (n, tag) =>
      `apps:\n${Array.from({length: n}, (_, i) => `  ${appPrefix()}-${tag}${i + 1}:\n    command: [${JSON.stringify(sleepBin)}, "3600"]\n${settings}`).join('')}`
    tools.push({
      id: 'contain',
      label: 'contain supervisor + contain-init',
      measure: async r => {
        const out = {}
        const one = projects.project(`resident1-${r}`, yml(1, 'a'))
        const ten = projects.project(`resident10-${r}`, yml(10, 'b'))
        try {
          const pid1 = await projects.up(one)
          const pid10 = await projects.up(ten)
          await sleep(settleMs)
          const helpers = pid =>
            descendants(pid)
              .filter(p => p.comm !== 'sleep')
              .map(p => p.pid)
          for (const [n, pid] of [
            [1, pid1],
            [10, pid10],
          ]) {
            out[n] = await sample(() => [pid, ...helpers(pid)])
            out[n].supervisor = await sample(() => [pid])
          }
        } finally {
          await projects.down(one).catch(() => undefined)
          await projects.down(ten)
        }
        return out
      },
    })
    peers.push({
      id: 'contain',
      label: 'contain up -d',
      available: true,
      note: `one project of 1 app and one of 10 apps, each \`${sleepBin} 3600\` with cpus: ${ctx.limits.cpus}, mem_limit: ${ctx.limits.memoryBytes}b, network_mode: none (as podman's and docker's containers)`,
    })
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error
    peers.push({id: 'contain', label: 'contain up -d', available: false, reason: error.message})
  }

  try {
    const p = await startPodman(ctx)
    const conmons = () =>
      processes()
        .filter(x => x.comm === 'conmon' && x.cmdline.includes(p.base))
        .map(x => x.pid)
    tools.push({
      id: 'podman',
      label: 'podman: conmon per container',
      measure: r =>
        containers(ctx, r, {
          start: i => p.cli(['run', '-d', '--name', `${appPrefix()}-r${r}-${i}`, ...p.runFlags, p.image, '/bin/sleep', '3600']),
          remove: () => p.cli(['rm', '--force', '--time', '0', '--all'], {timeout: 180_000}),
          pids: conmons,
        }),
    })
    peers.push({id: 'podman', label: 'podman run -d', available: true, version: p.version, note: p.note})
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error
    peers.push({id: 'podman', label: 'podman run -d', available: false, reason: error.message})
  }

  try {
    const d = await startDocker(ctx)
    if (!d.accounting) throw new Unavailable('dockerd has no cgroup of its own here (no cpuacct hierarchy below the bench)')
    tools.push({
      id: 'docker',
      label: 'dockerd + containerd + shims',
      measure: r =>
        containers(ctx, r, {
          start: i =>
            d.cli([
              'run',
              '-d',
              '--name',
              `${appPrefix()}-r${r}-${i}`,
              '--pull',
              'never',
              '--network',
              'none',
              '--cpus',
              '1',
              '--memory',
              `${ctx.limits.memoryBytes}b`,
              d.image,
              '/bin/sleep',
              '3600',
            ]),
          remove: async () => {
            const ids = (await d.cli(['ps', '--all', '--quiet'])).stdout.split('\n').filter(Boolean)
            return ids.length ? d.cli(['rm', '--force', ...ids], {timeout: 180_000}) : {ok: true}
          },
          pids: () => readProcs(d.accounting.dir),
        }),
    })
    peers.push({id: 'docker', label: 'docker run -d', available: true, version: d.version, note: d.note})
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error
    peers.push({id: 'docker', label: 'docker run -d', available: false, reason: error.message})
  }

  const samples = Object.fromEntries(tools.map(t => [t.id, []]))
  const failures = []
  const load = []
  for (let r = 0; r < rounds; r++) {
    load.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]))
    for (const t of rotate(tools, r)) {
      // samples[id][r] stays round r (null when it failed), so ratios pair by round.
      try {
        samples[t.id][r] = await t.measure(r)
      } catch (error) {
        if (ctx.cleanup.started) throw error
        samples[t.id][r] = null
        failures.push({round: r + 1, case: t.id, error: String(error?.message ?? error)})
      }
    }
    ctx.log.info(
      `round ${r + 1}/${rounds}: ${tools
        .map(t => {
          const s = samples[t.id][r]
          return s ? `${t.id} PSS 1 app ${(s[1].pss / MiB).toFixed(1)} MiB, 10 apps ${(s[10].pss / MiB).toFixed(1)} MiB` : `${t.id} failed`
        })
        .join('; ')}`,
    )
  }

  const mib = x => round(x / MiB, 2)
  const rows = []
  const perApp = {}
  for (const t of tools) {
    const list = samples[t.id].filter(Boolean)
    if (!list.length) continue
    const med = f => summarize(list.map(f)).median
    perApp[t.id] = {pss: summarize(list.map(s => (s[10].pss - s[1].pss) / 9 / MiB)), rss: summarize(list.map(s => (s[10].rss - s[1].rss) / 9 / MiB))}
    rows.push([
      t.label,
      mib(med(s => s[1].rss)),
      mib(med(s => s[1].pss)),
      mib(med(s => s[10].rss)),
      mib(med(s => s[10].pss)),
      round(perApp[t.id].rss.median, 2),
      round(perApp[t.id].pss.median, 2),
      `${list[0][1].processes} / ${list[0][10].processes}`,
    ])
    if (t.id === 'contain') {
      perApp.supervisor = {
        pss: summarize(list.map(s => (s[10].supervisor.pss - s[1].supervisor.pss) / 9 / MiB)),
        rss: summarize(list.map(s => (s[10].supervisor.rss - s[1].supervisor.rss) / 9 / MiB)),
      }
      rows.push([
        '↳ contain supervisor alone',
        mib(med(s => s[1].supervisor.rss)),
        mib(med(s => s[1].supervisor.pss)),
        mib(med(s => s[10].supervisor.rss)),
        mib(med(s => s[10].supervisor.pss)),
        round(perApp.supervisor.rss.median, 2),
        round(perApp.supervisor.pss.median, 2),
        '1 / 1',
      ])
    }
  }
  const perAppRows = Object.entries(perApp).map(([id, s]) => [
    id === 'supervisor' ? 'contain supervisor alone' : tools.find(t => t.id === id).label,
    ...statCells(s.pss, 2),
  ])

  const targets = []
  if (perApp.contain)
    targets.push({
      text: 'each extra supervised app ≤ 2 MB (PSS, supervisor + contain-init)',
      value: perApp.contain.pss.median,
      unit: 'MiB',
      status: perApp.contain.pss.median <= 2 ? 'met' : 'missed',
      detail: '(10 apps − 1 app) / 9, median of rounds',
    })
  if (perApp.supervisor)
    targets.push({
      text: 'each extra supervised app ≤ 2 MB (PSS, supervisor alone)',
      value: perApp.supervisor.pss.median,
      unit: 'MiB',
      status: perApp.supervisor.pss.median <= 2 ? 'met' : 'missed',
      detail: 'the Node supervisor only',
    })
  const perAppPss = id => (samples[id] ?? []).map(s => (s ? (s[10].pss - s[1].pss) / 9 : null))
  for (const id of ['podman', 'docker']) {
    const paired = perApp[id] && perApp.contain ? pairedRatio(perAppPss(id), perAppPss('contain')) : undefined
    if (paired)
      targets.push({
        text: `per extra app: ${id} / contain (PSS)`,
        value: paired.median,
        unit: '×',
        status: 'info',
        detail: `${tools.find(t => t.id === id).label}; ${RATIO_STATISTIC} (${roundsText(paired.n)})`,
      })
  }

  const profile = []
  if (perApp.contain && perApp.supervisor)
    profile.push(
      `per extra app, PSS: ${round(perApp.supervisor.pss.median, 2)} MiB in the supervisor (its per-app state, pipes, log buffers, timers), ${round(perApp.contain.pss.median - perApp.supervisor.pss.median, 2)} MiB in the two contain-init processes each app keeps.`,
    )
  if (perApp.contain && perApp.contain.pss.median > 2)
    profile.push(
      'the supervisor suite (npm run bench -- --suite supervisor) measures the supervisor alone with 5 samples per round; its resident table separates the helpers too.',
    )

  return {
    suite: name,
    title,
    ratioStatistic: RATIO_STATISTIC,
    config: {rounds, quick: ctx.opts.quick, app: 'sleep 3600', settleMs},
    peers,
    intro: [
      'Memory that stays resident while a tool supervises 1 and 10 idle apps (`sleep 3600`; the apps themselves are not counted). Each round starts 1 app, then 10, per tool in a rotating order, waits 1.5 s, and takes the median of 5 samples 200 ms apart of the summed `Rss`/`Pss` from `/proc/PID/smaps_rollup`. PSS divides shared pages among the processes that map them, so it is the figure to add up; RSS counts shared libraries once per process.',
    ],
    sections: [
      {
        title: 'Resident memory (MiB, medians of rounds)',
        columns: [
          'what stays resident',
          'RSS, 1 app',
          'PSS, 1 app',
          'RSS, 10 apps',
          'PSS, 10 apps',
          'RSS per extra app',
          'PSS per extra app',
          'processes (1 / 10 apps)',
        ],
        rows,
      },
      {title: 'PSS per extra app (MiB), over rounds', columns: ['what', 'median', 'min', 'max', 'p90', 'n'], rows: perAppRows},
    ],
    targets,
    profile,
    chart: {
      title: 'resident memory per extra supervised app',
      unit: 'MiB',
      axisLabel: 'MiB of PSS per extra app, (10 apps − 1 app) / 9 (bar = median)',
      groups: [{name: 'pss', label: 'PSS per extra app'}],
      reference: {ms: 2, label: 'target: 2 MB'},
      rows: Object.entries(perApp).map(([id, s]) => ({
        id,
        label: id === 'supervisor' ? 'contain supervisor alone' : tools.find(t => t.id === id).label,
        stats: {pss: {median: s.pss.median, min: s.pss.min, max: s.pss.max}},
      })),
    },
    samples,
    failures,
    loadAverage1mPerRound: load,
  }
}

/** Start 1 container, sample; 9 more, sample; remove them all. */
async function containers(ctx, r, {start, remove, pids}) {
  const out = {}
  try {
    for (let i = 0; i < 10; i++) {
      ctx.cleanup.assertNotStopping()
      const s = await start(i)
      if (!s.ok) throw new Error(`start ${i}: ${tail(s.all, 300)}`)
      if (i === 0 || i === 9) {
        await sleep(settleMs)
        out[i + 1] = await sample(pids)
      }
    }
  } finally {
    const rm = await remove()
    if (!rm.ok) ctx.log.warn(`removing containers: ${tail(rm.all, 200)}`)
  }
  return out
}
