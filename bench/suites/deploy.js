// Suite 8 (issue 14): requests during a deploy. A steady load (autocannon, 200 requests/s over 8 connections)
// on GET /up of the example Rails app while one of these happens to it:
//   restart   `contain restart web`                       | `docker restart`
//   deploy    `contain up -d` after contain.yml changed   | compose's recreate of a changed service
//   kill      SIGKILL of the app's process from the host  | the same, under `--restart always`
// Each request's outcome is recorded with its time: answered, refused, reset, 5xx or timed out, and the
// latency of every answer; the report gives them per second, the gap in service (the longest interval
// without a successful response) and a chart of latency over time, contain and docker side by side.
import {cpSync, existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {ContainProjects, appPrefix} from '../lib/contain.js'
import {FAILURE_KINDS, maxOfRounds, perSecondAround, serviceGap, steadyLoad, totals, worstRoundOf} from '../lib/load.js'
import {Unavailable} from '../lib/peers/common.js'
import {startDocker} from '../lib/peers/docker.js'
import {killPid, run as exec, tail} from '../lib/proc.js'
import {round} from '../lib/stats.js'
import {roundsFor, rotate} from '../lib/suite.js'
import {buildRubyImage, rubyImage} from './rails.js'

export const name = 'deploy'
export const title = 'Requests during a restart, a deploy and a crash'

const CONNECTIONS = 8
const RATE = 200 // requests/s in total: the issue asks for at least 100 over 8 connections
const LEAD_MS = 2000 // steady load before the action
const TAIL_MS = 2000 // and after the service is steady again
const STEADY_MS = 1000 // "steady again": this long with answers and no failure
const MAX_WAIT_MS = 60_000

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolve(port))
    })
  })
}

function status(port) {
  return new Promise(resolve => {
    const req = http.get({host: '127.0.0.1', port, path: '/up', timeout: 2000}, res => {
      res.resume()
      resolve(res.statusCode)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(0))
  })
}

async function waitOk(ctx, port, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    ctx.cleanup.assertNotStopping()
    if ((await status(port)) === 200) return
    await sleep(50)
  }
  throw new Error(`no 200 on 127.0.0.1:${port}/up within ${timeoutMs / 1000} s`)
}

/** The app's files without what a run leaves (tmp/, log/) or the example's own contain.yml. */
function copyApp(source, dir) {
  cpSync(source, dir, {recursive: true, filter: src => !/\/(tmp|log)(\/|$)|\/contain\.ya?ml$/.test(src.slice(source.length))})
}

/**
 * One measurement: load for LEAD_MS, then `action()`, then load until the service has been steady for
 * STEADY_MS (or MAX_WAIT_MS passed), then TAIL_MS more. Times are ms from the action's start.
 */
async function measure(ctx, port, action) {
  const load = await steadyLoad({url: `http://127.0.0.1:${port}/up`, connections: CONNECTIONS, rate: RATE})
  let events
  let actionMs
  let note
  try {
    await sleep(LEAD_MS)
    const t0 = load.now()
    note = await action()
    actionMs = load.now() - t0
    // Steady again: the action has returned, and the last STEADY_MS had answers and no failure.
    const deadline = Date.now() + MAX_WAIT_MS
    while (Date.now() < deadline) {
      ctx.cleanup.assertNotStopping()
      await sleep(200)
      const now = load.now()
      if (now - t0 < actionMs + STEADY_MS) continue
      const recent = load.events.filter(e => e.t >= now - STEADY_MS)
      if (recent.some(e => e.kind === 'ok') && recent.every(e => e.kind === 'ok')) break
    }
    await sleep(TAIL_MS)
    const stopped = await load.stop()
    // Shift every event so that 0 is the action's start: the per-second rows and the chart line up.
    events = stopped.events.map(e => ({...e, t: e.t - t0}))
    const from = -t0
    const to = stopped.durationMs - t0
    const all = totals(events)
    return {
      actionMs: round(actionMs, 1),
      note,
      windowMs: [round(from, 0), round(to, 0)],
      requests: all.ok + all.failed,
      ...all,
      gap: serviceGap(events, from, to),
      // Seconds from the action (second 0 = its first), the lead before it negative.
      seconds: perSecondAround(events, from, to),
      errorCodes: countBy(events.filter(e => e.kind !== 'ok').map(e => e.error ?? `HTTP ${e.status}`)),
    }
  } finally {
    if (!events) await load.stop().catch(() => undefined)
  }
}

const countBy = list => list.reduce((acc, x) => ({...acc, [x]: (acc[x] ?? 0) + 1}), {})

/** The contain side: the example's web app (its settings, no worker) as a project of its own on a free port. */
async function containTool(ctx, source) {
  const projects = new ContainProjects(ctx)
  const port = await freePort()
  const app = `${appPrefix()}-web`
  const dir = join(projects.base, 'deploy')
  copyApp(source, dir)
  const yml = mark =>
    [
      `name: ${appPrefix()}-deploy`,
      'apps:',
      `  ${app}:`,
      `    command: bundle exec rails s -b 127.0.0.1 -p ${port}`,
      `    listen: ["tcp://127.0.0.1:${port}"]`,
      // The deploy case changes this, as a release changes the app's settings.
      `    environment: {DEPLOY_MARK: "${mark}"}`,
      '    cpus: 1',
      '    mem_limit: 512m',
      '    pids_limit: 200',
      '    seccomp: default',
      '    read_only: true',
      '    tmpfs: [/tmp, tmp/pids]',
      '    writable: [tmp]',
      `    healthcheck: {test: {http: "http://127.0.0.1:${port}/up"}, interval: 1s, timeout: 2s, retries: 3, start_period: 30s}`,
      '    restart: on-failure',
      '    stop_grace_period: 10s',
      '',
    ].join('\n')
  let mark = 0
  const project = projects.project('deploy', yml(mark))
  const cli = async args => {
    const r = await projects.cli(project, args)
    if (!r.ok) throw new Error(`contain ${args.join(' ')}: exit ${r.exitCode}: ${tail(r.all, 400)}`)
    return r
  }
  return {
    id: 'contain',
    label: 'contain',
    port,
    command: [...projects.argv, 'up', '-d'],
    note: "examples/rails-app's web app (listen:, health check on /up, cpus 1, mem_limit 512m, seccomp default, read_only) on a free port, without the worker",
    start: async () => {
      await projects.up(project)
      await waitOk(ctx, port)
    },
    stop: () => projects.down(project),
    actions: {
      restart: {label: `contain restart`, run: async () => void (await cli(['restart', app]))},
      deploy: {
        label: 'contain up -d after a change',
        run: async () => {
          // A changed environment variable: the supervisor recreates the app.
          writeFileSync(join(project.dir, 'contain.yml'), yml(++mark))
          const r = await cli(['up', '-d'])
          return tail(r.stdout, 200)
        },
      },
      kill: {
        label: 'SIGKILL of the app',
        run: async () => {
          const ps = JSON.parse((await cli(['ps', '--json'])).stdout)
          const pid = ps.find(a => a.name === app)?.pid
          if (!pid) throw new Error(`contain ps --json: no pid for ${app}`)
          killPid(pid, 'SIGKILL')
          return `killed pid ${pid}`
        },
      },
    },
  }
}

/** The docker side: the same app in the rails suite's offline Ruby image, --network host, --restart always. */
async function dockerTool(ctx, dir) {
  const d = await startDocker(ctx)
  await buildRubyImage(ctx, d)
  const port = await freePort()
  let n = 0
  let id
  const runArgs = mark => [
    'run',
    '-d',
    '--name',
    `${appPrefix()}-deploy-${n++}`,
    '--pull',
    'never',
    '--network',
    'host',
    '--restart',
    'always',
    '--cpus',
    '1',
    '--memory',
    '512m',
    '-v',
    `${dir}:/app`,
    '-w',
    '/app',
    '-e',
    'HOME=/tmp',
    '-e',
    `DEPLOY_MARK=${mark}`,
    rubyImage,
    'bundle',
    'exec',
    'rails',
    's',
    '-b',
    '127.0.0.1',
    '-p',
    String(port),
  ]
  const cli = async args => {
    const r = await d.cli(args)
    if (!r.ok) throw new Error(`docker ${args[0]}: exit ${r.exitCode}: ${tail(r.all, 400)}`)
    return r.stdout.trim()
  }
  let mark = 0
  const remove = async () => {
    if (id) await d.cli(['rm', '--force', id])
    id = undefined
  }
  ctx.cleanup.add('deploy: remove the docker container', async () => (await remove(), 'removed'))
  return {
    id: 'docker',
    label: 'docker',
    port,
    version: d.version,
    command: [...d.argvPrefix, ...runArgs('N')],
    // Always by hand, so that every host measures the same steps (Debian packages no compose v2 plugin).
    note: "the app bind-mounted in the rails suite's Ruby image (Debian's packages, docker import), --network host, --restart always; the deploy case does by hand what docker compose up -d does to a changed service (docker stop, rm, run with the new environment)",
    start: async () => {
      id = await cli(runArgs(mark))
      await waitOk(ctx, port)
    },
    stop: remove,
    actions: {
      restart: {label: 'docker restart', run: async () => void (await cli(['restart', id]))},
      deploy: {
        label: "compose's recreate by hand: docker stop, rm, run",
        run: async () => {
          // What `docker compose up -d` does to a changed service: stop with its grace, remove, create and start.
          await cli(['stop', id])
          await cli(['rm', id])
          id = await cli(runArgs(++mark))
        },
      },
      kill: {
        label: 'SIGKILL of the app (--restart always)',
        run: async () => {
          const pid = Number(await cli(['inspect', '-f', '{{.State.Pid}}', id]))
          if (!pid) throw new Error('docker inspect: no pid')
          killPid(pid, 'SIGKILL')
          return `killed pid ${pid}`
        },
      },
    },
  }
}

const CASES = [
  ['restart', '(a) restart'],
  ['deploy', '(b) up -d after a change'],
  ['kill', '(c) SIGKILL of the app'],
]

export async function run(ctx) {
  // A failure of a restart is a race of a few ms (the reset of 2026-12-07): one round can miss it.
  const rounds = roundsFor(ctx, {quick: 1, full: 3})
  const source = ctx.opts.railsApp ?? join(ctx.repoRoot, 'examples/rails-app')
  if (!existsSync(join(source, 'Gemfile.lock'))) {
    if (ctx.opts.railsApp) throw new Error(`${source} is not set up (no Gemfile.lock): run its setup.sh, or leave --rails-app out`)
    ctx.log.info('examples/rails-app/setup.sh (its Gemfile is not resolved yet)')
    const setup = await exec('/bin/bash', [join(source, 'setup.sh')], {cwd: source, timeout: 900_000})
    if (!setup.ok) throw new Error(`examples/rails-app/setup.sh failed: ${tail(setup.all, 600)}`)
  }
  const peers = []
  const tools = []
  const contain = await containTool(ctx, source)
  tools.push(contain)
  peers.push({id: 'contain', label: 'contain up -d', available: true, command: contain.command, note: contain.note})
  try {
    const docker = await dockerTool(ctx, join(ctx.workDir, 'contain', 'deploy'))
    tools.push(docker)
    peers.push({id: 'docker', label: 'docker run -d --restart always', available: true, version: docker.version, command: docker.command, note: docker.note})
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error
    peers.push({id: 'docker', label: 'docker', available: false, reason: `not available: ${error.message}`})
  }

  // One tool at a time (the two servers would share the CPU), every case per round in a rotating order.
  const samples = Object.fromEntries(tools.flatMap(tool => CASES.map(([c]) => [`${tool.id}-${c}`, []])))
  const failures = []
  const load = []
  for (const tool of tools) {
    ctx.log.info(`${tool.id}: starting the app`)
    await tool.start()
    try {
      for (let r = 0; r < rounds; r++) {
        load.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]))
        for (const [c] of rotate(CASES, r)) {
          const key = `${tool.id}-${c}`
          try {
            const m = await measure(ctx, tool.port, tool.actions[c].run)
            samples[key].push(m)
            ctx.log.info(
              `${tool.id} ${c} round ${r + 1}/${rounds}: ${m.ok} ok, ${FAILURE_KINDS.map(k => `${m[k]} ${k}`).join(', ')}; gap ${Math.round(m.gap.ms)} ms; p99 ${fmt(m.p99)} ms, max ${fmt(m.max)} ms`,
            )
          } catch (error) {
            if (ctx.cleanup.started) throw error
            samples[key].push(null)
            failures.push({round: r + 1, case: key, error: String(error?.message ?? error)})
            // Whatever the action left, the next case starts from a serving app.
            await waitOk(ctx, tool.port).catch(() => undefined)
          }
        }
      }
    } finally {
      await tool.stop()
    }
  }
  rmSync(join(ctx.workDir, 'contain', 'deploy', 'tmp'), {recursive: true, force: true})

  const rowsFor = (tool, c) => (samples[`${tool.id}-${c}`] ?? []).filter(Boolean)
  const summaryRows = []
  const cells = m => [
    ...[m.requests, m.ok, m.refused, m.reset, m.http5xx, m.timeout, m.other].map(String),
    round(m.gap.ms, 0),
    round(m.p50, 1),
    round(m.p99, 1),
    round(m.max, 1),
    round(m.actionMs, 0),
  ]
  for (const tool of tools) {
    for (const [c, caseLabel] of CASES) {
      const measured = rowsFor(tool, c)
      for (const [i, m] of measured.entries()) summaryRows.push([`${tool.actions[c].label}${rounds > 1 ? ` #${i + 1}` : ''}`, caseLabel, ...cells(m)])
      // The worst round of each column: what the targets are judged on.
      if (measured.length > 1) summaryRows.push([`${tool.actions[c].label}, max of ${measured.length}`, caseLabel, ...cells(maxOfRounds(measured))])
    }
  }
  const perSecondSections = tools.flatMap(tool =>
    CASES.filter(([c]) => rowsFor(tool, c).length).map(([c, caseLabel]) => {
      const worstRound = worstRoundOf(rowsFor(tool, c))
      return {
        title: `Per second: ${tool.actions[c].label} (${caseLabel}, round ${worstRound.round}${rowsFor(tool, c).length > 1 ? ', the one with the most failed requests' : ''})`,
        summary: false,
        columns: ['second from the action', 'ok', ...FAILURE_KINDS, 'p50 ms', 'p99 ms', 'max ms'],
        rows: worstRound.m.seconds.map(s => [
          String(s.second),
          String(s.ok),
          ...FAILURE_KINDS.map(k => String(s[k])),
          round(s.p50, 1),
          round(s.p99, 1),
          round(s.max, 1),
        ]),
      }
    }),
  )

  const worst = (tool, c, pick) => {
    const ms = rowsFor(tool, c)
    return ms.length ? Math.max(...ms.map(pick)) : undefined
  }
  const targets = []
  const containTarget = (c, text, pick, detail) => {
    const v = worst(contain, c, pick)
    if (v === undefined) targets.push({text, status: 'n/a', detail: 'no successful measurement'})
    else
      targets.push({
        text,
        value: v,
        unit: 'requests',
        status: v === 0 ? 'met' : 'missed',
        detail: `${detail}; worst of ${rowsFor(contain, c).length} round(s); gap in service ${Math.round(worst(contain, c, m => m.gap.ms))} ms`,
      })
  }
  containTarget('restart', '(a) contain restart: 0 failed requests', m => m.failed, 'refused + reset + 5xx + timeouts + other')
  containTarget('deploy', '(b) contain up -d after a change: 0 failed requests', m => m.failed, 'refused + reset + 5xx + timeouts + other')
  containTarget('kill', '(c) SIGKILL of the app: 0 refused (latency only)', m => m.refused, `failed in all: ${worst(contain, 'kill', m => m.failed) ?? '–'}`)
  const docker = tools.find(t => t.id === 'docker')
  if (!docker) targets.push({text: '(d) the same under docker', status: 'n/a', detail: peers.find(p => p.id === 'docker').reason})
  else
    for (const [c, caseLabel] of CASES) {
      const v = worst(docker, c, m => m.failed)
      if (v !== undefined)
        targets.push({
          text: `(d) docker, ${caseLabel}: failed requests`,
          value: v,
          unit: 'requests',
          status: 'info',
          detail: `${docker.actions[c].label}; gap in service ${Math.round(worst(docker, c, m => m.gap.ms))} ms`,
        })
    }

  return {
    suite: name,
    title,
    config: {
      rounds,
      quick: ctx.opts.quick,
      app: 'examples/rails-app (web only)',
      source,
      url: 'GET /up',
      connections: CONNECTIONS,
      rate: RATE,
      leadMs: LEAD_MS,
      tailMs: TAIL_MS,
      steadyMs: STEADY_MS,
      loadGenerator: 'autocannon (npm), in the bench process',
    },
    peers,
    intro: [
      `autocannon sends ${RATE} requests/s over ${CONNECTIONS} connections to \`GET /up\`, evenly paced (each connection one request every ${(1000 * CONNECTIONS) / RATE} ms, one at a time; autocannon's own rate limit would send each second's requests in one burst, and the service would look idle for most of each second), from ${LEAD_MS / 1000} s before the action until the service has answered for ${STEADY_MS / 1000} s without a failure, then ${TAIL_MS / 1000} s more. Each request's outcome is timed: answered (2xx-4xx), refused (ECONNREFUSED: nothing listening), reset (the connection cut under a request), 5xx, timed out (no answer in 10 s), other. A connection whose attempt was refused tries again one request interval later (autocannon would at once), so a refused attempt stands for one request at the offered rate; a request still waiting when the server ends its connection counts as reset, unless a response had announced the end (\`Connection: close\`: puma's when its threads are busy, and the example's during its drain after SIGTERM); after such a response the next request goes on a new connection, as a browser's would (autocannon alone would send it on the closing one). The app answers fewer than the offered rate when it cannot keep up (1 CPU): the counts are what it answered.`,
      "The gap in service is the longest interval, in the whole window, between two successful responses (or the window's ends). Latency is that of successful responses, by the second they completed in; seconds are counted from the action's start (negative: before it).",
      "The actions: (a) `contain restart APP` / `docker restart`; (b) an environment variable changed in contain.yml, then `contain up -d` / compose's recreate of a changed service; (c) SIGKILL of the app's process from the host, the restart policy (`on-failure` / `--restart always`) bringing it back.",
    ],
    sections: [
      {
        title: 'Requests during each action',
        columns: [
          'action',
          'case',
          'requests',
          'ok',
          'refused',
          'reset',
          '5xx',
          'timeouts',
          'other',
          'gap in service ms',
          'p50 ms',
          'p99 ms',
          'max ms',
          'action took ms',
        ],
        rows: summaryRows,
      },
      ...perSecondSections,
    ],
    targets,
    profile: [],
    chart: {
      kind: 'timeseries',
      title: 'latency over time during each action',
      unit: 'ms',
      panels: CASES.map(([c, caseLabel]) => ({
        label: caseLabel,
        series: tools
          .filter(tool => rowsFor(tool, c).length)
          .map(tool => ({
            id: tool.id,
            label: tool.actions[c].label,
            points: rowsFor(tool, c)[0].seconds.map(s => ({
              x: s.second,
              p50: s.p50,
              p99: s.p99,
              max: s.max,
              failed: FAILURE_KINDS.reduce((sum, k) => sum + s[k], 0),
            })),
          })),
      })),
    },
    samples: Object.fromEntries(
      Object.entries(samples).map(([k, v]) => [
        k,
        v.map(m => (m ? {...m, seconds: m.seconds.map(s => ({...s, p50: round(s.p50, 2), p99: round(s.p99, 2), max: round(s.max, 2)}))} : null)),
      ]),
    ),
    failures,
    loadAverage1mPerRound: load,
  }
}

const fmt = x => (x === undefined || x === null ? '–' : x.toFixed(1))
