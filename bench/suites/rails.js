// Suite 6: a real app. Time from spawning the command to the first 200 on /up of the example Rails app
// (examples/rails-app: Rails 6.1 + puma from Debian's packages), for the bare `bundle exec rails s`,
// `contain run` of the same command, and `contain up` of a project with that command as its one app.
// Each round runs every case once, in a rotating order, each on a port of its own; /up is polled every
// 10 ms (an HTTP answer is the only readiness signal a plain Rails app gives).
import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {ContainProjects, appPrefix, containArgv} from '../lib/contain.js'
import {Unavailable} from '../lib/peers/common.js'
import {killPid, pidAlive, run as exec, tail, waitPidGone} from '../lib/proc.js'
import {round, summarize} from '../lib/stats.js'
import {rotate, roundsFor, statCells} from '../lib/suite.js'

export const name = 'rails'
export const title = 'Rails: time to first 200 on /up'

const dockerReason = 'not measured: there is no Ruby image without a registry, and building a Ruby root filesystem offline (the host\'s ruby, Debian\'s gems and their ldd libraries, `docker import`ed) is not implemented in the bench yet'

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

function get(port) {
  return new Promise((resolve) => {
    const req = http.get({host: '127.0.0.1', port, path: '/up', timeout: 2000}, (res) => {
      res.resume()
      resolve(res.statusCode)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(0))
  })
}

/** ms from start until /up answers 200; throws when `alive()` turns false first or after timeoutMs. */
async function firstOk(port, start, alive, timeoutMs = 60_000) {
  for (;;) {
    if ((await get(port)) === 200) return Number(process.hrtime.bigint() - start) / 1e6
    if (!alive()) throw new Error('the server exited before answering /up')
    if (Number(process.hrtime.bigint() - start) / 1e6 > timeoutMs) throw new Error(`no 200 on /up within ${timeoutMs / 1000} s`)
    await sleep(10)
  }
}

function spawnServer(argv, cwd, env) {
  const child = spawn(argv[0], argv.slice(1), {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  child.stdout.on('data', (c) => (out = (out + c).slice(-2000)))
  child.stderr.on('data', (c) => (out = (out + c).slice(-2000)))
  child.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({code, signal})))
  child.output = () => out
  return child
}

async function stop(child) {
  if (!child.pid || !pidAlive(child.pid)) return
  killPid(child.pid, 'SIGTERM')
  if (!(await waitPidGone(child.pid, 15_000))) killPid(child.pid, 'SIGKILL')
  await child.exited
}

export async function run(ctx) {
  const rounds = roundsFor(ctx, {quick: 1, full: 3})
  const app = join(ctx.repoRoot, 'examples/rails-app')
  const peers = []
  if (!existsSync(join(app, 'setup.sh'))) throw new Error(`${app}/setup.sh is missing`)
  ctx.log.info('examples/rails-app/setup.sh (idempotent; resolves the Gemfile offline)')
  const setup = await exec('/bin/bash', [join(app, 'setup.sh')], {cwd: app, timeout: 900_000})
  if (!setup.ok) throw new Error(`examples/rails-app/setup.sh failed: ${tail(setup.all, 600)}`)
  const ready = setup.stdout.split('\n').find((l) => l.includes('ready:')) ?? ''
  const serverArgv = (port) => ['bundle', 'exec', 'rails', 's', '-b', '127.0.0.1', '-p', String(port)]
  const cases = []
  const live = new Set()
  // When `contain up -d` itself returned (its supervisor started and the app spawned), per containUp sample.
  const upReturned = []
  ctx.cleanup.add('rails: stop servers still running', async () => {
    for (const child of live) await stop(child)
    return `${live.size} stopped`
  })

  cases.push({id: 'bare', label: 'bundle exec rails s', run: async (port) => {
    const start = process.hrtime.bigint()
    const child = spawnServer(serverArgv(port), app)
    live.add(child)
    try {
      return await firstOk(port, start, () => child.exitCode === null).catch((e) => Promise.reject(new Error(`${e.message}: ${tail(child.output(), 300)}`)))
    } finally {
      await stop(child)
      live.delete(child)
    }
  }})
  peers.push({id: 'bare', label: 'bundle exec rails s', available: true, version: ready.replace(/^setup: ready: /, ''), command: serverArgv('PORT')})

  try {
    const argv = containArgv(ctx)
    const limits = ['--cpus', '1', '-m', '512m']
    cases.push({id: 'containRun', label: 'contain run --cpus 1 -m 512m', run: async (port) => {
      const start = process.hrtime.bigint()
      const child = spawnServer([...argv, 'run', '--name', `${appPrefix()}-rails`, ...limits, '--', ...serverArgv(port)], app)
      live.add(child)
      try {
        return await firstOk(port, start, () => child.exitCode === null).catch((e) => Promise.reject(new Error(`${e.message}: ${tail(child.output(), 300)}`)))
      } finally {
        await stop(child)
        live.delete(child)
      }
    }})
    const projects = new ContainProjects(ctx)
    let n = 0
    cases.push({id: 'containUp', label: 'contain up -d (cpus 1, mem_limit 512m)', run: async (port) => {
      const project = projects.project(`rails-${n++}`, [
        'apps:',
        `  ${appPrefix()}-web:`,
        `    command: ${JSON.stringify(serverArgv(port))}`,
        `    working_dir: ${JSON.stringify(app)}`,
        '    cpus: 1',
        '    mem_limit: 512m',
        '',
      ].join('\n'))
      const start = process.hrtime.bigint()
      const up = projects.up(project)
      try {
        await up
        upReturned.push(Number(process.hrtime.bigint() - start) / 1e6)
        return await firstOk(port, start, () => projects.supervisor(project) !== undefined)
      } finally {
        await up.catch(() => undefined)
        await projects.down(project)
      }
    }})
    peers.push({id: 'contain', label: 'contain run / contain up -d', available: true, command: [...argv, 'run', ...limits, '--', ...serverArgv('PORT')]})
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error
    peers.push({id: 'contain', label: 'contain', available: false, reason: error.message})
  }
  peers.push({id: 'docker', label: 'docker run (Ruby image)', available: false, reason: dockerReason})

  const samples = Object.fromEntries(cases.map((c) => [c.id, []]))
  const failures = []
  const load = []
  for (let r = 0; r < rounds; r++) {
    load.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]))
    const got = {}
    for (const c of rotate(cases, r)) {
      ctx.cleanup.assertNotStopping()
      try {
        got[c.id] = await c.run(await freePort())
      } catch (error) {
        if (ctx.cleanup.started) throw error
        failures.push({round: r + 1, case: c.id, error: String(error?.message ?? error)})
      }
    }
    for (const c of cases) samples[c.id].push(got[c.id] ?? null)
    ctx.log.info(`round ${r + 1}/${rounds}: ${cases.map((c) => `${c.id} ${got[c.id] === undefined ? 'failed' : `${Math.round(got[c.id])} ms`}`).join(', ')}`)
  }

  const stat = {}
  const rows = []
  for (const c of cases) {
    const v = samples[c.id].filter((x) => x !== null)
    if (!v.length) continue
    stat[c.id] = summarize(v)
    const ratios = samples[c.id].map((x, i) => (x !== null && samples.bare[i] ? x / samples.bare[i] : undefined)).filter((x) => x !== undefined)
    stat[c.id].ratio = ratios.length ? summarize(ratios).median : undefined
    rows.push([c.label, ...statCells(stat[c.id], 1), stat[c.id].ratio === undefined ? undefined : round(stat[c.id].ratio, 3)])
  }
  rows.push(['docker run (Ruby image)', undefined, undefined, undefined, undefined, '0', dockerReason])
  const targets = []
  for (const id of ['containRun', 'containUp']) {
    if (stat[id]?.ratio !== undefined) targets.push({text: `${cases.find((c) => c.id === id).label} against bare rails s`, value: stat[id].ratio, unit: '×', status: 'info', detail: `+${round(stat[id].median - stat.bare.median, 0)} ms (medians); no target in the issue`})
  }
  targets.push({text: 'docker, same app', status: 'n/a', detail: dockerReason})

  return {
    suite: name,
    title,
    config: {rounds, quick: ctx.opts.quick, app: 'examples/rails-app', command: serverArgv('PORT').join(' ')},
    peers,
    intro: ['Wall time from spawning the command (for `contain up -d`: spawning `contain up -d`) to the first `200` from `GET /up`, polled every 10 ms; then the server is stopped (SIGTERM; `contain down`) before the next case. "× bare" is the median of per-round ratios.'],
    sections: [{title: 'Time to first 200 on /up (ms)', columns: ['how', 'median', 'min', 'max', 'p90', 'n', '× bare'], rows}],
    targets,
    profile: [
      ...(stat.containRun && stat.bare ? [`contain run adds ${round(stat.containRun.median - stat.bare.median, 0)} ms to a ${round(stat.bare.median, 0)} ms boot: its own start (see the launch suite) plus the app under 1 CPU of quota and the default seccomp filter.`] : []),
      ...(stat.containUp && upReturned.length ? [`contain up -d returns after ${round(summarize(upReturned).median, 0)} ms (median: the CLI, then the detached supervisor's own Node start, loading contain.yml and spawning the app, which the CLI waits for); Rails boots from then on.`] : []),
    ],
    chart: {
      title: 'Rails: time to first 200 on /up',
      unit: 'ms',
      axisLabel: 'ms from spawn to the first 200 on /up (bar = median)',
      groups: [{name: 'up', label: 'first 200 on /up'}],
      rows: cases.filter((c) => stat[c.id]).map((c) => ({id: c.id, label: c.label, stats: {up: {median: stat[c.id].median, min: stat[c.id].min, max: stat[c.id].max, note: stat[c.id].ratio ? `${stat[c.id].ratio.toFixed(2)}× bare` : undefined}}})),
    },
    samples: {...samples, containUpReturnedMs: upReturned},
    failures,
    loadAverage1mPerRound: load,
  }
}
