// Suite 2: restart latency. An app that exits at once (`benchtool once F 1`: two nanosecond stamps, start
// and end, then exit 1) under a restart policy; the gap from one run's end stamp to the next run's start
// stamp is read from F, so nothing in contain or docker is instrumented and both are timed the same way.
//   floor            the same binary run back to back by a shell loop: exec/exit alone
//   contain (0 ms)   contain up -d, restart: always, backoff 0: contain's own restart cost
//   contain (docker's backoff)  backoff {initial: 100ms, factor: 2, jitter: 0}: the schedule docker uses
//   docker           docker run -d --restart always: dockerd's restart manager waits 100 ms, doubling
//                    (reset after 10 s of running); the gap minus that nominal delay is docker's own cost
import {mkdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {ContainProjects, appPrefix} from '../lib/contain.js'
import {Unavailable} from '../lib/peers/common.js'
import {startDocker} from '../lib/peers/docker.js'
import {run as exec, tail} from '../lib/proc.js'
import {RATIO_STATISTIC, pairedRatio, round, roundsText, summarize} from '../lib/stats.js'
import {roundsFor, runRounds, statCells} from '../lib/suite.js'

export const name = 'restart'
export const title = 'Restart latency'

const backoffMs = i => 100 * 2 ** i

function gapsIn(file) {
  let stamps = []
  try {
    stamps = readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(l => BigInt(l))
  } catch {}
  const gaps = []
  for (let i = 1; i + 1 < stamps.length; i += 2) gaps.push(Number(stamps[i + 1] - stamps[i]) / 1e6)
  return gaps
}

const lines = file => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length
  } catch {
    return 0
  }
}

async function waitLines(file, n, timeoutMs, ctx) {
  const deadline = Date.now() + timeoutMs
  while (lines(file) < n && Date.now() < deadline) {
    ctx.cleanup.assertNotStopping()
    await sleep(20)
  }
  if (lines(file) < n) throw new Error(`${lines(file) >> 1} runs of ${n >> 1} within ${timeoutMs / 1000} s`)
}

export async function run(ctx) {
  const rounds = roundsFor(ctx, {quick: 2, full: 5})
  const fastRestarts = ctx.opts.quick ? 8 : 20
  const backoffRestarts = ctx.opts.quick ? 4 : 5
  const rootfs = await ctx.rootfs()
  if (!rootfs.benchtool) throw new Error(rootfs.benchtoolError)
  const dir = join(ctx.workDir, 'restart')
  mkdirSync(dir, {recursive: true})
  const peers = []
  const cases = []

  cases.push({
    id: 'floor',
    label: 'floor: shell loop, back to back',
    run: async file => {
      const loop = `i=0; while [ $i -lt ${fastRestarts + 2} ]; do '${rootfs.benchtool}' once '${file}' 1; i=$((i+1)); done; exit 0`
      const r = await exec('/bin/sh', ['-c', loop])
      if (!r.ok) throw new Error(`floor loop: ${tail(r.all, 200)}`)
      return gapsIn(file).slice(1)
    },
  })
  peers.push({id: 'floor', label: 'floor', available: true, command: ['sh', '-c', `while …; do benchtool once F 1; done`]})

  // The same work for contain and docker: 1 CPU, the same memory limit, no network (docker's container gets
  // --network none because the bench's dockerd has no bridge; contain's app gets network_mode: none).
  const memory = `${ctx.limits.memoryBytes}b`
  let projects
  try {
    projects = new ContainProjects(ctx)
    // The stamps go in the project's own directory: the app's view shows it (writable) and little else.
    const contain = (id, label, backoff, restarts) => ({
      id,
      label,
      restarts,
      run: async (_, r) => {
        const file = join(projects.base, `${id}-${r}`, 'app.stamps')
        const project = projects.project(
          `${id}-${r}`,
          [
            'apps:',
            `  ${appPrefix()}-${id}:`,
            `    command: [${JSON.stringify(rootfs.benchtool)}, "once", ${JSON.stringify(file)}, "1"]`,
            '    restart: always',
            `    backoff: ${backoff}`,
            `    cpus: ${ctx.limits.cpus}`,
            `    mem_limit: ${memory}`,
            '    network_mode: none',
            '',
          ].join('\n'),
        )
        await projects.up(project)
        try {
          await waitLines(file, 2 * (restarts + 2), 60_000, ctx)
        } finally {
          await projects.down(project)
        }
        return gapsIn(file).slice(0, restarts + 1)
      },
    })
    cases.push(contain('contain-0', 'contain up, backoff 0', '{initial: 0ms, max: 0ms, factor: 1, jitter: 0}', fastRestarts))
    cases.push(contain('contain-backoff', "contain up, docker's backoff (100 ms ×2)", '{initial: 100ms, max: 60s, factor: 2, jitter: 0}', backoffRestarts))
    peers.push({
      id: 'contain',
      label: 'contain up -d (restart: always)',
      available: true,
      command: [...projects.argv, 'up', '-d'],
      note: `contain.yml: restart: always, backoff as in the case, cpus: ${ctx.limits.cpus}, mem_limit: ${memory}, network_mode: none`,
    })
  } catch (error) {
    peers.push({id: 'contain', label: 'contain up -d', available: false, reason: error.message})
  }

  try {
    const d = await startDocker(ctx)
    let seq = 0
    cases.push({
      id: 'docker',
      label: 'docker run --restart always',
      restarts: backoffRestarts,
      run: async file => {
        const stamps = join(dir, `docker-${seq++}`)
        mkdirSync(stamps)
        const inside = `/stamps/${file.split('/').pop()}`
        const started = await d.cli([
          'run',
          '-d',
          '--restart',
          'always',
          '--pull',
          'never',
          '--network',
          'none',
          '--cpus',
          String(ctx.limits.cpus),
          '--memory',
          memory,
          '-v',
          `${stamps}:/stamps`,
          d.image,
          '/bin/benchtool',
          'once',
          inside,
          '1',
        ])
        if (!started.ok) throw new Error(`docker run: ${tail(started.all, 300)}`)
        const host = join(stamps, file.split('/').pop())
        try {
          await waitLines(host, 2 * (backoffRestarts + 2), 60_000, ctx)
        } finally {
          await d.cli(['rm', '--force', started.stdout.trim()])
        }
        return gapsIn(host).slice(0, backoffRestarts + 1)
      },
    })
    peers.push({
      id: 'docker',
      label: 'docker run -d --restart always',
      available: true,
      version: d.version,
      note: d.note,
      command: [
        ...d.argvPrefix,
        'run',
        '-d',
        '--restart',
        'always',
        '--network',
        'none',
        '--cpus',
        String(ctx.limits.cpus),
        '--memory',
        memory,
        '-v',
        'DIR:/stamps',
        d.image,
        '/bin/benchtool',
        'once',
        '/stamps/F',
        '1',
      ],
    })
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error
    peers.push({id: 'docker', label: 'docker run --restart always', available: false, reason: error.message})
  }

  // Samples: per case, per round, the list of gaps (ms) in restart order (null for a round that failed).
  // One warm-up round first, for every case alike (the first container of dockerd, Node's first start).
  const warmup = 1
  const {samples, failures, load} = await runRounds(ctx, cases, rounds, {
    warmup,
    args: async (c, r) => [join(dir, `${c.id}-${r}.stamps`), r],
    describe: got => cases.map(c => `${c.id} ${fmtMed(got[c.id])}`).join(', '),
  })
  const done = id => (samples[id] ?? []).filter(Boolean)

  // Gap beyond the nominal backoff, per restart (the i-th restart of a run waits 100 ms × 2^i).
  const beyond = id => done(id).flatMap(gaps => gaps.map((g, i) => g - backoffMs(i)))
  const flat = id => done(id).flat()
  const rows = []
  const stat = {}
  const add = (key, label, values, what) => {
    if (!values.length) return
    stat[key] = summarize(values)
    rows.push([label, ...statCells(stat[key]), what])
  }
  add('floor', 'floor (exec + exit, shell loop)', flat('floor'), 'raw gap')
  if (samples['contain-0']) add('contain0', 'contain up, backoff 0', flat('contain-0'), 'raw gap')
  if (samples['contain-backoff']) add('containBackoff', "contain up, docker's backoff", beyond('contain-backoff'), 'gap − nominal backoff')
  if (samples.docker) add('docker', 'docker --restart always', beyond('docker'), 'gap − nominal backoff')

  const perRestart = []
  for (let i = 0; i < backoffRestarts + 1; i++) {
    const at = id =>
      done(id)
        .map(g => g[i])
        .filter(x => x !== undefined)
    const c = summarize(at('contain-backoff'))
    const d = summarize(at('docker'))
    perRestart.push([`${i + 1}`, backoffMs(i), c.median, c.n ? c.median - backoffMs(i) : undefined, d.median, d.n ? d.median - backoffMs(i) : undefined])
  }

  const targets = []
  if (stat.contain0)
    targets.push({
      text: 'restart ≤ 10 ms + backoff (backoff 0: the raw gap)',
      value: stat.contain0.median,
      unit: 'ms',
      status: stat.contain0.median <= 10 ? 'met' : 'missed',
      detail: 'median exit → next start, in-app stamps',
    })
  if (stat.containBackoff)
    targets.push({
      text: "restart ≤ 10 ms + backoff (docker's schedule: gap − backoff)",
      value: stat.containBackoff.median,
      unit: 'ms',
      status: stat.containBackoff.median <= 10 ? 'met' : 'missed',
      detail: 'median over every restart of every round',
    })
  // Paired by round: the median gap beyond the backoff of each round, docker's over contain's.
  const roundBeyond = id => (samples[id] ?? []).map(gaps => (gaps?.length ? summarize(gaps.map((g, i) => g - backoffMs(i))).median : null))
  const dockerOverContain = stat.containBackoff && stat.docker ? pairedRatio(roundBeyond('docker'), roundBeyond('contain-backoff')) : undefined
  if (dockerOverContain)
    targets.push({
      text: 'contain vs docker, time beyond the backoff (docker / contain)',
      value: dockerOverContain.median,
      unit: '×',
      status: 'info',
      detail: `same backoff schedule, same app, same limits; ${RATIO_STATISTIC} of each round's median (${roundsText(dockerOverContain.n)})`,
    })

  const profile = []
  if (stat.contain0 && stat.floor) {
    profile.push(
      `exec + exit of the app itself (floor): ${fmt(stat.floor.median)} ms; contain's restart beyond it: ${fmt(stat.contain0.median - stat.floor.median)} ms (the supervisor noticing the exit, the new cgroup, unshare, contain-init and the seccomp filter).`,
    )
    if (stat.containBackoff)
      profile.push(
        `with a backoff, contain's gap beyond the nominal delay is ${fmt(stat.containBackoff.median)} ms against ${fmt(stat.contain0.median)} ms with none: ${fmt(stat.containBackoff.median - stat.contain0.median)} ms go to the delayed-restart path itself (the timer firing late or work done after it), which the backoff-0 figure does not show.`,
      )
    if (stat.contain0.median > 10)
      profile.push(
        'the supervisor suite (npm run bench -- --suite supervisor) splits that further (the launcher argv alone, run back to back by a shell, against the supervisor): run it when this target is missed.',
      )
  }

  return {
    suite: name,
    title,
    ratioStatistic: RATIO_STATISTIC,
    config: {
      rounds,
      warmup,
      quick: ctx.opts.quick,
      limits: {cpus: ctx.limits.cpus, memory, network: 'none'},
      fastRestarts,
      backoffRestarts,
      app: 'benchtool once FILE 1 (stamp, stamp, exit 1)',
    },
    peers,
    intro: [
      "Gap from one run's end stamp to the next run's start stamp, both written by the app itself (`bench/native/benchtool.c`, CLOCK_REALTIME, one `write` each), so neither tool is instrumented. Each round runs every case once, in a rotating order. docker's restart manager cannot be told not to back off: its n-th restart in a row waits 100 ms × 2^(n−1) (reset after 10 s of running), so the docker figure is the gap minus that nominal delay; contain runs the same schedule (`backoff: {initial: 100ms, factor: 2, jitter: 0}`) for the comparison, and with no backoff for its own cost.",
      `Equal work: contain's apps and docker's container get the same limits (${ctx.limits.cpus} CPU, ${memory}, no network: \`cpus\`, \`mem_limit\`, \`network_mode: none\` against \`--cpus --memory --network none\`) and one warm-up round each; the floor runs the bare binary with no limit.`,
    ],
    sections: [
      {title: 'Restart gap (ms)', columns: ['case', 'median', 'min', 'max', 'p90', 'n', 'measured as'], rows},
      {
        title: 'Per restart in a row (medians, ms)',
        text: 'The raw gap against the nominal backoff, restart by restart.',
        columns: ['restart #', 'nominal backoff', 'contain gap', 'contain − backoff', 'docker gap', 'docker − backoff'],
        rows: perRestart,
      },
    ],
    targets,
    profile,
    chart: {
      title: 'restart latency beyond the backoff',
      reference: {ms: 10, label: 'target: 10 ms'},
      unit: 'ms',
      axisLabel: 'ms from exit to the next start, beyond the nominal backoff (bar = median)',
      scale: 'log',
      groups: [{name: 'gap', label: 'exit → next start'}],
      rows: [
        ['floor', 'floor (exec + exit)'],
        ['contain0', 'contain, backoff 0'],
        ['containBackoff', "contain, docker's backoff"],
        ['docker', 'docker --restart always'],
      ]
        .filter(([k]) => stat[k])
        .map(([k, label]) => ({id: k, label, stats: {gap: {...stat[k], min: Math.max(stat[k].min, 0.01)}}})),
    },
    samplesMs: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map(g => g?.map(x => round(x, 3)) ?? null)])),
    failures,
    loadAverage1mPerRound: load,
  }
}

const fmt = x => (x === undefined ? '–' : x.toFixed(2))
const fmtMed = gaps => (gaps?.length ? `${fmt(summarize(gaps).median)} ms` : 'failed')
