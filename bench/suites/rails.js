// Suite 6: a real app. Time from spawning the command to the first 200 on /up of the example Rails app
// (examples/rails-app: Rails 6.1 + puma from Debian's packages), for the bare `bundle exec rails s`,
// `contain run` of the same command, and `contain up` (foreground, as a systemd unit runs it, and -d)
// of a project with that command as its one app.
// Each round runs every case once, in a rotating order, each on a port of its own; /up is polled every
// 10 ms (an HTTP answer is the only readiness signal a plain Rails app gives).
import {spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import {basename, dirname, join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {ContainProjects, appPrefix, containArgv} from '../lib/contain.js'
import {Unavailable} from '../lib/peers/common.js'
import {startDocker} from '../lib/peers/docker.js'
import {killPid, pidAlive, run as exec, tail, waitPidGone} from '../lib/proc.js'
import {RATIO_STATISTIC, pairedRatio, round, roundsText, summarize} from '../lib/stats.js'
import {roundsFor, runRounds, statCells} from '../lib/suite.js'

export const name = 'rails'
export const title = 'Rails: time to first 200 on /up'

export const rubyImage = 'contain-bench-ruby:latest'
const rubyPackages = ['ruby-railties', 'puma', 'bundler', 'coreutils', 'dash']

/**
 * A Ruby root filesystem without a registry: every file of the installed Debian packages in the
 * dependency closure of ruby-railties, puma and bundler (`apt-cache depends --recurse`, `dpkg -L`),
 * paths resolved through the host's merged-/usr symlinks, `docker import`ed. The app is bind-mounted.
 */
export async function buildRubyImage(ctx, d) {
  const deps = await exec('apt-cache', [
    'depends',
    '--recurse',
    '--no-recommends',
    '--no-suggests',
    '--no-conflicts',
    '--no-breaks',
    '--no-replaces',
    '--no-enhances',
    ...rubyPackages,
  ])
  if (!deps.ok) throw new Unavailable(`apt-cache depends: ${tail(deps.all, 200)}`)
  const names = [...new Set([...rubyPackages, ...deps.stdout.split('\n').filter(l => l && !l.startsWith(' ') && !l.startsWith('<'))])]
  const status = await exec('dpkg-query', ['-W', '-f', '${Package} ${Status}\n', ...names])
  const installed = status.stdout
    .split('\n')
    .filter(l => l.endsWith('install ok installed'))
    .map(l => l.split(' ')[0])
  const missing = rubyPackages.filter(p => !installed.includes(p))
  if (missing.length) throw new Unavailable(`Debian packages not installed: ${missing.join(', ')}`)
  const listed = await exec('dpkg', ['-L', ...installed], {maxBuffer: 64 * 2 ** 20})
  const paths = new Set(['/bin', '/lib', '/lib64', '/sbin'].filter(p => existsSync(p)))
  for (const p of listed.stdout.split('\n')) {
    if (!p.startsWith('/') || p === '/.' || !existsSync(p)) continue
    // /lib/x86_64-linux-gnu/libc.so.6 is stored as usr/lib/...: the image keeps /lib -> usr/lib as on the host.
    paths.add(join(realpathSync(dirname(p)), basename(p)))
  }
  const extra = join(ctx.workDir, 'ruby-extra')
  const extraDirs = ['tmp', 'app', 'proc', 'sys', 'dev', 'etc']
  // docker import refuses a tarball that names a path twice.
  for (const dir of extraDirs) paths.delete(`/${dir}`)
  for (const dir of extraDirs) mkdirSync(join(extra, dir), {recursive: true})
  chmodSync(join(extra, 'tmp'), 0o1777)
  const list = join(ctx.workDir, 'ruby-files.txt')
  writeFileSync(list, `${[...paths].join('\n')}\n`)
  const tarball = join(ctx.workDir, 'ruby.tar')
  const tar = await exec('tar', ['--numeric-owner', '-cf', tarball, '--no-recursion', '-P', '--transform', 's,^/,,S', '-T', list, '-C', extra, ...extraDirs])
  if (!tar.ok) throw new Unavailable(`tar of the Ruby root filesystem: ${tail(tar.all, 300)}`)
  ctx.cleanup.add('rails: remove the Ruby image', async () => {
    const r = await d.cli(['rmi', '--force', rubyImage])
    return r.ok ? 'removed' : tail(r.all, 100)
  })
  const imported = await d.cli(['import', tarball, rubyImage], {timeout: 600_000})
  rmSync(tarball, {force: true})
  if (!imported.ok) throw new Unavailable(`docker import of the Ruby root filesystem: ${tail(imported.all, 300)}`)
  return {packages: installed.length, files: paths.size}
}

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
  return new Promise(resolve => {
    const req = http.get({host: '127.0.0.1', port, path: '/up', timeout: 2000}, res => {
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
  child.stdout.on('data', c => (out = (out + c).slice(-2000)))
  child.stderr.on('data', c => (out = (out + c).slice(-2000)))
  child.exited = new Promise(resolve => child.on('close', (code, signal) => resolve({code, signal})))
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
  const rounds = roundsFor(ctx, {quick: 1, full: 7})
  const app = join(ctx.repoRoot, 'examples/rails-app')
  const peers = []
  if (!existsSync(join(app, 'setup.sh'))) throw new Error(`${app}/setup.sh is missing`)
  ctx.log.info('examples/rails-app/setup.sh (idempotent; resolves the Gemfile offline)')
  const setup = await exec('/bin/bash', [join(app, 'setup.sh')], {cwd: app, timeout: 900_000})
  if (!setup.ok) throw new Error(`examples/rails-app/setup.sh failed: ${tail(setup.all, 600)}`)
  const ready = setup.stdout.split('\n').find(l => l.includes('ready:')) ?? ''
  const serverArgv = port => ['bundle', 'exec', 'rails', 's', '-b', '127.0.0.1', '-p', String(port)]
  const cases = []
  const live = new Set()
  // When `contain up -d` itself returned (its supervisor started and the app spawned), per containUp sample.
  const upReturned = []
  ctx.cleanup.add('rails: stop servers still running', async () => {
    for (const child of live) await stop(child)
    return `${live.size} stopped`
  })

  /** Starts a server in the foreground, times its first 200, then stops it with SIGTERM. */
  const timeForeground = async (argv, port, cwd = app, env = undefined) => {
    const start = process.hrtime.bigint()
    const child = spawnServer(argv, cwd, env)
    live.add(child)
    try {
      return await firstOk(port, start, () => child.exitCode === null).catch(e => Promise.reject(new Error(`${e.message}: ${tail(child.output(), 300)}`)))
    } finally {
      await stop(child)
      live.delete(child)
    }
  }

  cases.push({id: 'bare', label: 'bundle exec rails s', run: port => timeForeground(serverArgv(port), port)})
  peers.push({id: 'bare', label: 'bundle exec rails s', available: true, version: ready.replace(/^setup: ready: /, ''), command: serverArgv('PORT')})

  try {
    const argv = containArgv(ctx)
    const limits = ['--cpus', '1', '-m', '512m']
    cases.push({
      id: 'containRun',
      label: 'contain run --cpus 1 -m 512m',
      run: port => timeForeground([...argv, 'run', '--name', `${appPrefix()}-rails`, ...limits, '--', ...serverArgv(port)], port),
    })
    const projects = new ContainProjects(ctx)
    let n = 0
    const railsProject = port =>
      projects.project(
        `rails-${n++}`,
        [
          'apps:',
          `  ${appPrefix()}-web:`,
          `    command: ${JSON.stringify(serverArgv(port))}`,
          `    working_dir: ${JSON.stringify(app)}`,
          '    cpus: 1',
          '    mem_limit: 512m',
          '',
        ].join('\n'),
      )
    // The way a systemd unit runs it (ExecStart=contain up): in the foreground, stopped by SIGTERM.
    cases.push({
      id: 'containUpForeground',
      label: 'contain up (cpus 1, mem_limit 512m)',
      run: port => {
        const project = railsProject(port)
        return timeForeground([...argv, 'up'], port, project.dir, project.env)
      },
    })
    cases.push({
      id: 'containUp',
      label: 'contain up -d (cpus 1, mem_limit 512m)',
      run: async port => {
        const project = railsProject(port)
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
      },
    })
    peers.push({id: 'contain', label: 'contain run / contain up -d', available: true, command: [...argv, 'run', ...limits, '--', ...serverArgv('PORT')]})
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error
    peers.push({id: 'contain', label: 'contain', available: false, reason: error.message})
  }
  let dockerReason
  try {
    const d = await startDocker(ctx)
    const started = Date.now()
    const built = await buildRubyImage(ctx, d)
    ctx.log.info(`docker: Ruby image from ${built.packages} Debian packages, ${built.files} paths, in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    let n = 0
    // --network host: the host's own loopback, as bare and contain use (no network is created or changed).
    const flags = port => [
      'run',
      '-d',
      '--name',
      `${appPrefix()}-rails-${n++}`,
      '--pull',
      'never',
      '--network',
      'host',
      '--cpus',
      '1',
      '--memory',
      '512m',
      '-v',
      `${app}:/app`,
      '-w',
      '/app',
      '-e',
      'HOME=/tmp',
      rubyImage,
      ...serverArgv(port),
    ]
    cases.push({
      id: 'docker',
      label: 'docker run -d --cpus 1 -m 512m',
      run: async port => {
        const start = process.hrtime.bigint()
        const r = await d.cli(flags(port))
        if (!r.ok) throw new Error(`docker run: ${tail(r.all, 300)}`)
        const id = r.stdout.trim()
        // `docker wait` returns when the container ends: a server that dies is noticed without polling docker.
        let ended = false
        const waiter = spawn(d.argvPrefix[0], [...d.argvPrefix.slice(1), 'wait', id], {stdio: 'ignore', env: d.env})
        waiter.on('close', () => (ended = true))
        try {
          return await firstOk(port, start, () => !ended).catch(async e =>
            Promise.reject(new Error(`${e.message}: ${tail((await d.cli(['logs', id])).all, 300)}`)),
          )
        } finally {
          await d.cli(['rm', '--force', id])
          if (!ended) await new Promise(resolve => waiter.on('close', resolve))
        }
      },
    })
    peers.push({
      id: 'docker',
      label: 'docker run (Ruby image built offline)',
      available: true,
      version: d.version,
      note: `image: every file of the ${built.packages} installed Debian packages in the closure of ${rubyPackages.slice(0, 3).join(', ')} (${built.files} paths), docker import; the app bind-mounted at /app; --network host`,
      command: [...d.argvPrefix, ...flags('PORT')],
    })
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error
    dockerReason = `not measured: ${error.message}`
    peers.push({id: 'docker', label: 'docker run (Ruby image)', available: false, reason: dockerReason})
  }

  const warmup = 1
  const {samples, failures, load} = await runRounds(ctx, cases, rounds, {
    warmup,
    args: async () => [await freePort()],
    describe: got => cases.map(c => `${c.id} ${got[c.id] === undefined ? 'failed' : `${Math.round(got[c.id])} ms`}`).join(', '),
  })

  const stat = {}
  const rows = []
  for (const c of cases) {
    const v = samples[c.id].filter(x => x !== null)
    if (!v.length) continue
    stat[c.id] = summarize(v)
    stat[c.id].ratio = pairedRatio(samples[c.id], samples.bare)?.median
    rows.push([c.label, ...statCells(stat[c.id], 1), stat[c.id].ratio === undefined ? undefined : round(stat[c.id].ratio, 3)])
  }
  if (dockerReason) rows.push(['docker run (Ruby image)', undefined, undefined, undefined, undefined, '0', dockerReason])
  const targets = []
  // Issue 5's target: time to the first 200 under contain ≤ 1.05× bare, judged on contain up as a unit runs it.
  const TARGET = 1.05
  for (const id of ['containUpForeground', 'containRun', 'containUp', 'docker']) {
    if (stat[id]?.ratio === undefined) continue
    const judged = id === 'containUpForeground' || id === 'containRun'
    const met = stat[id].ratio <= TARGET
    targets.push({
      text: `${cases.find(c => c.id === id).label} against bare rails s${judged ? ` ≤ ${TARGET}×` : ''}`,
      value: stat[id].ratio,
      unit: '×',
      status: judged ? (met ? 'met' : 'missed') : 'info',
      detail: `+${round(stat[id].median - stat.bare.median, 0)} ms (medians)${id === 'containUp' ? '; -d starts a second Node process, the detached supervisor, before the app' : ''}`,
    })
  }
  if (dockerReason) targets.push({text: 'docker, same app', status: 'n/a', detail: dockerReason})
  const dockerOverContain = pairedRatio(samples.docker, samples.containRun)
  if (dockerOverContain)
    targets.push({
      text: 'docker run / contain run, same app',
      value: dockerOverContain.median,
      unit: '×',
      status: 'info',
      detail: `${RATIO_STATISTIC} (${roundsText(dockerOverContain.n)})`,
    })

  return {
    suite: name,
    title,
    ratioStatistic: RATIO_STATISTIC,
    config: {rounds, warmup, quick: ctx.opts.quick, app: 'examples/rails-app', command: serverArgv('PORT').join(' ')},
    peers,
    intro: [
      `Wall time from spawning the command (for \`contain up -d\`: spawning \`contain up -d\`) to the first \`200\` from \`GET /up\`, polled every 10 ms; then the server is stopped (SIGTERM; \`contain down\`) before the next case. "× bare" is the ${RATIO_STATISTIC}.`,
    ],
    sections: [{title: 'Time to first 200 on /up (ms)', columns: ['how', 'median', 'min', 'max', 'p90', 'n', '× bare'], rows}],
    targets,
    profile: [
      ...(stat.containRun && stat.bare
        ? [
            `contain run adds ${round(stat.containRun.median - stat.bare.median, 0)} ms to a ${round(stat.bare.median, 0)} ms boot: its own start (see the launch suite) plus the app under 1 CPU of quota and the default seccomp filter.`,
          ]
        : []),
      ...(stat.containUp && upReturned.length
        ? [
            `contain up -d returns after ${round(summarize(upReturned).median, 0)} ms (median: the CLI, then the detached supervisor's own Node start, loading contain.yml and spawning the app, which the CLI waits for); Rails boots from then on.`,
          ]
        : []),
    ],
    chart: {
      title: 'Rails: time to first 200 on /up',
      unit: 'ms',
      axisLabel: 'ms from spawn to the first 200 on /up (bar = median)',
      groups: [{name: 'up', label: 'first 200 on /up'}],
      rows: cases
        .filter(c => stat[c.id])
        .map(c => ({
          id: c.id,
          label: c.label,
          stats: {
            up: {
              median: stat[c.id].median,
              min: stat[c.id].min,
              max: stat[c.id].max,
              note: stat[c.id].ratio ? `${stat[c.id].ratio.toFixed(2)}× bare` : undefined,
            },
          },
        })),
    },
    samples: {...samples, containUpReturnedMs: upReturned},
    failures,
    loadAverage1mPerRound: load,
  }
}
