/**
 * The example Rails app (examples/rails-app) under `contain up`, on this host's real kernel:
 * it boots with its limits and answers, shows its sandbox, stops gracefully, comes back after a
 * SIGKILL even when it writes a pidfile, and is reported OOM-killed under a 40 MB limit. Also
 * times the first 200 on /up, bare and under contain.
 *
 * Each test runs a copy of examples/rails-app/contain.yml from a temp dir: the same apps and keys,
 * with the apps' working_dir pointing back at the example, a free port instead of 3000, and app
 * names of their own, so that nothing collides with another run (app cgroups are named after
 * the app). Needs ./setup.sh (or examples/rails-app/setup.sh) to have been run.
 */
import {execa} from 'execa'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {once} from 'node:events'
import {connect} from 'node:net'
import {hostname} from 'node:os'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {parseDocument, type Document} from 'yaml'
import {findOnPath} from '../../src/paths.js'
import {assertNothingLeftBehind, containBin, freePort, requireRoot, root, skipFile} from './helpers.js'

const exampleDir = join(root, 'examples/rails-app')
const exampleFile = join(exampleDir, 'contain.yml')
const stalePidfile = join(exampleDir, 'tmp/pids/server.pid')
const MiB = 2 ** 20

/** Skips the file, with the reason, when Ruby, bundler or the example's gems are not there. */
async function requireRails(t: Test): Promise<boolean> {
  const skip = (reason: string) => {
    skipFile(t, reason)
    return false
  }
  for (const program of ['ruby', 'bundle'])
    if (!findOnPath(program)) return skip(`${program} is not installed (run ./setup.sh, or examples/rails-app/setup.sh as root)`)
  if (!existsSync(join(exampleDir, 'Gemfile.lock')) || !existsSync(join(exampleDir, 'tmp/pids')))
    return skip('examples/rails-app is not set up: run examples/rails-app/setup.sh')
  const check = await execa('bundle', ['check'], {cwd: exampleDir, reject: false, all: true})
  if (check.exitCode !== 0) return skip(`the example's gems are missing (bundle check: ${check.all?.trim().split('\n')[0]}); run examples/rails-app/setup.sh`)
  return true
}

interface RailsProject {
  dir: string
  env: Record<string, string>
  web: string
  worker: string
  port: number
}

let projects = 0

/**
 * The example's contain.yml, copied to a temp dir with its working_dir, port and app names
 * changed; `edit` changes the web app further (a pidfile, a lower memory limit).
 */
async function railsProject(t: Test, edit: (doc: Document, web: string) => void = () => {}): Promise<RailsProject> {
  const port = await freePort()
  const doc = parseDocument(readFileSync(exampleFile, 'utf8'))
  const suffix = `${process.pid}-${projects++}`
  const names = {web: `web-${suffix}`, worker: `worker-${suffix}`}
  const command = String(doc.getIn(['apps', 'web', 'command']))
  const url = String(doc.getIn(['apps', 'web', 'healthcheck', 'test', 'http']))
  t.equal(command, 'bundle exec rails s -b 127.0.0.1 -p 3000', 'the example serves on port 3000')
  t.equal(url, 'http://127.0.0.1:3000/up', 'and checks /up there')
  t.strictSame(
    (doc.getIn(['apps', 'web', 'listen']) as {toJSON(): unknown} | undefined)?.toJSON(),
    ['tcp://127.0.0.1:3000'],
    'contain holds that port for it (listen:)',
  )
  doc.setIn(['apps', 'web', 'command'], command.replace('3000', String(port)))
  doc.setIn(['apps', 'web', 'listen'], [`tcp://127.0.0.1:${port}`])
  doc.setIn(['apps', 'web', 'healthcheck', 'test', 'http'], url.replace('3000', String(port)))
  for (const app of ['web', 'worker'] as const) {
    doc.setIn(['apps', app, 'working_dir'], exampleDir)
    const pair = (doc.get('apps') as {items: {key: {value: string}}[]}).items.find(item => item.key.value === app)
    if (pair) pair.key.value = names[app]
  }
  edit(doc, names.web)
  const dir = t.testdir({'contain.yml': doc.toString(), state: {}})
  return {dir, env: {CONTAIN_STATE_DIR: join(dir, 'state')}, port, ...names}
}

function contain(args: string[], project: RailsProject) {
  return execa(process.execPath, [containBin, ...args], {cwd: project.dir, env: project.env, reject: false, all: true})
}

async function until<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

interface Status {
  name: string
  state: string
  health: string
  restarts: number
  pid?: number
  lastExit?: {exitCode: number; signal?: string; oomKilled: boolean; error?: string}
  lastLines: string[]
}

async function status(project: RailsProject, app: string): Promise<Status | undefined> {
  const result = await contain(['ps', '--json'], project)
  return (JSON.parse(result.stdout) as Status[]).find(candidate => candidate.name === app)
}

async function inspect(project: RailsProject, app: string): Promise<{status: Status; plan: {cgroup: {dirs: string[]}}}> {
  const result = await contain(['inspect', app, '--json'], project)
  if (result.exitCode !== 0) throw new Error(`contain inspect ${app}: ${result.all}`)
  return JSON.parse(result.stdout)
}

async function get(url: string): Promise<{status: number; body: string}> {
  const response = await fetch(url, {signal: AbortSignal.timeout(5000)})
  return {status: response.status, body: await response.text()}
}

/** `contain up -d`, `body`, and `contain down` whatever happened. */
async function whileUp(t: Test, project: RailsProject, body: () => Promise<void>): Promise<void> {
  try {
    const started = await contain(['up', '-d'], project)
    t.equal(started.exitCode, 0, `contain up -d: ${started.all}`)
    await body()
  } finally {
    const down = await contain(['down'], project)
    t.equal(down.exitCode, 0, `contain down: ${down.all}`)
  }
}

/** puma's host pid: the process of the app's cgroup that calls itself puma. */
function pumaPid(cgroupDirs: string[]): number | undefined {
  for (const dir of cgroupDirs) {
    const procs = existsSync(join(dir, 'cgroup.procs')) ? readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean) : []
    for (const pid of procs) {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
      if (command.startsWith('puma ')) return Number(pid)
    }
  }
  return undefined
}

async function healthy(project: RailsProject, app: string, restarts = 0): Promise<Status> {
  return until(async () => {
    const app_ = await status(project, app)
    if (app_?.state === 'failed') throw new Error(`${app} failed: ${JSON.stringify(app_.lastExit)}\n${app_.lastLines.join('\n')}`)
    return app_?.health === 'healthy' && app_.restarts >= restarts && app_
  }, `${app} to be healthy`)
}

/**
 * One keep-alive connection used as a browser or a proxy uses it: GET /up every `intervalMs` until
 * the server ends it. How it ended: `announced` (after a response with `Connection: close`, as
 * HTTP asks of a server that ends a persistent connection), or `bare` (closed with no word: a
 * request sent at that moment is lost), with whether a request was waiting then.
 */
async function keepAliveUntilEnd(port: number, intervalMs: number, timeoutMs: number) {
  const socket = connect({host: '127.0.0.1', port})
  await once(socket, 'connect')
  let buffer = ''
  let answered = 0
  let announced = false
  let pending = false
  let wake: () => void = () => {}
  let ended: string | undefined
  socket.setEncoding('latin1')
  socket.on('data', chunk => {
    buffer += String(chunk)
    for (;;) {
      const head = buffer.indexOf('\r\n\r\n')
      if (head < 0) break
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buffer.slice(0, head + 2))?.[1] ?? 0)
      if (buffer.length < head + 4 + length) break
      if (/\r\nconnection: *close\r\n/i.test(buffer.slice(0, head + 2))) announced = true
      buffer = buffer.slice(head + 4 + length)
      answered++
      pending = false
      wake()
    }
  })
  const end = () => {
    ended ??= announced && !pending ? 'announced' : `bare${pending ? ' (a request was waiting)' : ''}`
    wake()
  }
  socket.on('end', end)
  socket.on('error', end)
  const wait = (ms: number) =>
    new Promise<void>(resolve => {
      wake = resolve
      setTimeout(resolve, ms)
    })
  const deadline = Date.now() + timeoutMs
  while (!ended && Date.now() < deadline) {
    pending = true
    socket.write('GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    while (pending && !ended && Date.now() < deadline) await wait(5000)
    // Idle in between, as a real client mostly is: the state puma's stop finds it in.
    if (!ended) await wait(announced ? 5000 : intervalMs)
    if (announced) break
  }
  socket.destroy()
  return {answered, ended: ended ?? 'still open'}
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

interface Info {
  hostname: string
  pid: number
  cgroup: string[]
  memory_limit: number
}

/**
 * Starts `argv`, polls /up every 10 ms, and returns the ms to the first 200 and what /info then
 * says (so the caller can tell that the server it started answered); then stops it with SIGTERM.
 */
async function timeToFirst200(argv: string[], cwd: string, env: Record<string, string>, port: number): Promise<{ms: number; info: Info}> {
  const started = performance.now()
  const child = execa(argv[0], argv.slice(1), {cwd, env, reject: false, stdio: 'ignore'})
  try {
    for (;;) {
      const answer = await get(`http://127.0.0.1:${port}/up`).catch(() => undefined)
      if (answer?.status === 200 && answer.body === 'ok') {
        const ms = performance.now() - started
        return {ms, info: JSON.parse((await get(`http://127.0.0.1:${port}/info`)).body) as Info}
      }
      if (child.exitCode !== null) throw new Error(`${argv.join(' ')} exited ${child.exitCode} before answering`)
      if (performance.now() - started > 60_000) throw new Error(`${argv.join(' ')}: no 200 on /up within 60 s`)
      await new Promise(resolve => setTimeout(resolve, 10))
    }
  } finally {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM')
    await child
  }
}

if (requireRoot(t) && (await requireRails(t))) {
  // About 25 Rails boots: more than tap's default two minutes for a file.
  t.setTimeout(10 * 60_000)
  assertNothingLeftBehind(t)

  t.test('the example boots under contain up -d, answers /up, shows its sandbox, and stops gracefully', async t => {
    const project = await railsProject(t)
    await whileUp(t, project, async () => {
      await healthy(project, project.web)
      const up = await get(`http://127.0.0.1:${project.port}/up`)
      t.same(up, {status: 200, body: 'ok'}, '/up answers 200 ok')

      const info = JSON.parse((await get(`http://127.0.0.1:${project.port}/info`)).body) as {
        hostname: string
        pid: number
        cgroup: string[]
        memory_limit: number
      }
      t.not(info.hostname, hostname(), `its own hostname (${info.hostname})`)
      t.ok(info.pid <= 3, `a low pid in its own pid namespace (${info.pid})`)
      const memoryLine = info.cgroup.find(line => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(line) || line.startsWith('0::'))
      t.ok(memoryLine?.endsWith(':/'), `its cgroup is / (${info.cgroup.join(' ')})`)
      t.equal(info.memory_limit, 512 * MiB, 'it sees its memory limit, 512m')
      t.match(await status(project, project.worker), {state: 'running'}, 'the worker runs next to it')

      const stop = await contain(['stop', project.web], project)
      t.equal(stop.exitCode, 0, `contain stop: ${stop.all}`)
      const {status: stopped} = await inspect(project, project.web)
      t.equal(stopped.state, 'stopped')
      t.match(stopped.lastExit, {exitCode: 0, oomKilled: false}, 'SIGTERM: puma exits 0')
      t.notOk(stopped.lastExit?.signal, 'not killed by a signal')
    })
  })

  t.test('a rolling restart ends a keep-alive connection by saying so (Connection: close), never by a bare close', async t => {
    // puma 5.6 alone closes idle keep-alive connections the moment SIGTERM arrives, without a word:
    // a request sent then is lost, the one failure of issue 14's deploy bench. The example drains
    // first (config/drain.rb).
    const project = await railsProject(t)
    await whileUp(t, project, async () => {
      await healthy(project, project.web)
      const restart = contain(['restart', project.web], project)
      // Every 200 ms: mostly idle when the old instance gets SIGTERM, and asked again within its drain.
      const connection = await keepAliveUntilEnd(project.port, 200, 90_000)
      const restarted = await restart
      t.equal(restarted.exitCode, 0, `contain restart: ${restarted.all}`)
      t.ok(connection.answered > 1, `requests answered on the connection: ${connection.answered}`)
      t.equal(connection.ended, 'announced', 'the old instance ended the connection on a response that said Connection: close')
    })
  })

  t.test('a SIGKILLed puma comes back, although it writes tmp/pids/server.pid: tmp/pids is a tmpfs of each run', async t => {
    t.notOk(existsSync(stalePidfile), 'no pidfile on the host before')
    const project = await railsProject(t, (doc, web) => {
      doc.setIn(['apps', web, 'environment'], {PIDFILE: 'tmp/pids/server.pid'})
      doc.setIn(['apps', web, 'tmpfs'], ['/tmp', join(exampleDir, 'tmp/pids')])
    })
    await whileUp(t, project, async () => {
      await healthy(project, project.web)
      const pidfile = await contain(['exec', project.web, 'cat', 'tmp/pids/server.pid'], project)
      t.equal(pidfile.stdout.trim(), '2', 'the app wrote its pidfile: pid 2, in its pid namespace')
      t.notOk(existsSync(stalePidfile), "not on the host: on the run's own tmpfs")

      const first = await inspect(project, project.web)
      const puma = pumaPid(first.plan.cgroup.dirs)
      t.ok(puma, `puma found in the app's cgroup (pid ${puma})`)
      process.kill(puma as number, 'SIGKILL')
      const back = await healthy(project, project.web, 1)
      t.equal(back.restarts, 1, 'restarted once, by restart: on-failure')
      t.match(back.lastExit, {exitCode: 137, signal: 'SIGKILL', oomKilled: false}, 'the kill is reported as a SIGKILL, not an OOM kill')
      t.equal((await get(`http://127.0.0.1:${project.port}/up`)).status, 200, 'and it answers again')
    })
  })

  t.test('the control case: without the tmpfs the stale pidfile blocks the restart', async t => {
    const project = await railsProject(t, (doc, web) => {
      doc.setIn(['apps', web, 'environment'], {PIDFILE: 'tmp/pids/server.pid'})
      // The example keeps tmp/pids on a tmpfs of each run; the control case takes that away.
      doc.setIn(['apps', web, 'tmpfs'], ['/tmp'])
      doc.setIn(['apps', web, 'restart'], 'on-failure:2')
      doc.setIn(['apps', web, 'backoff'], {initial: '100ms'})
    })
    try {
      await whileUp(t, project, async () => {
        await healthy(project, project.web)
        process.kill(pumaPid((await inspect(project, project.web)).plan.cgroup.dirs) as number, 'SIGKILL')
        const failed = await until(async () => {
          const app = await status(project, project.web)
          return app?.state === 'failed' && app
        }, 'the web app to give up')
        t.equal(failed.restarts, 2, 'both restarts were spent')
        t.ok(
          failed.lastLines.some(line => line.includes('A server is already running')),
          'Rails refused: "A server is already running"',
        )
      })
    } finally {
      rmSync(stalePidfile, {force: true})
    }
  })

  t.test('under a 40 MB limit the boot is OOM-killed, reported so, and restarted by its policy', async t => {
    const project = await railsProject(t, (doc, web) => {
      doc.setIn(['apps', web, 'mem_limit'], '40m')
      // Production loads the whole app at boot, so the limit strikes before puma listens.
      doc.setIn(['apps', web, 'environment'], {RAILS_ENV: 'production'})
      doc.setIn(['apps', web, 'restart'], 'on-failure:1')
      doc.setIn(['apps', web, 'backoff'], {initial: '100ms'})
    })
    await whileUp(t, project, async () => {
      const failed = await until(async () => {
        const app = await status(project, project.web)
        return (app?.state === 'failed' || app?.state === 'exited') && app
      }, 'the web app to give up')
      t.equal(failed.state, 'failed', 'on-failure:1 gave up')
      t.equal(failed.restarts, 1, 'contain restarted it once after the OOM kill')
      t.not(failed.health, 'healthy', 'it never became healthy')
      const {status: inspected} = await inspect(project, project.web)
      t.match(inspected.lastExit, {exitCode: 137, signal: 'SIGKILL', oomKilled: true}, 'inspect: oomKilled true')
      const ps = await contain(['ps'], project)
      t.match(ps.stdout, new RegExp(`${project.web}\\s.*OOM-killed`), 'ps: OOM-killed')
    })
  })

  t.test('time to the first 200 on /up: bare bundle exec rails s, and under contain up', async t => {
    const project = await railsProject(t)
    const rounds = 5
    const times: Record<'bare' | 'up' | 'run', number[]> = {bare: [], up: [], run: []}
    const answered: Record<'bare' | 'up' | 'run', Info[]> = {bare: [], up: [], run: []}
    const rails = (port: number) => ['bundle', 'exec', 'rails', 's', '-b', '127.0.0.1', '-p', String(port)]
    const record = (name: 'bare' | 'up' | 'run', {ms, info}: {ms: number; info: Info}) => {
      times[name].push(ms)
      answered[name].push(info)
    }
    for (let round = 0; round < rounds; round++) {
      // Interleaved, so that the host's load (other test suites) weighs on each alike.
      const bare = await freePort()
      record('bare', await timeToFirst200(rails(bare), exampleDir, {}, bare))
      record('up', await timeToFirst200([process.execPath, containBin, 'up', project.web], project.dir, project.env, project.port))
      // contain run with the web app's limits and isolation: the launch without oclif and contain up's planning.
      const run = await freePort()
      const flags = [
        '--name',
        project.web,
        '--cpus',
        '1',
        '--memory',
        '512m',
        '--pids-limit',
        '200',
        '--read-only',
        '--tmpfs',
        '/tmp',
        '--writable',
        join(exampleDir, 'tmp'),
        '-w',
        exampleDir,
      ]
      record('run', await timeToFirst200([process.execPath, containBin, 'run', ...flags, '--', ...rails(run)], project.dir, project.env, run))
    }
    const bare = median(times.bare)
    const ratio = {up: median(times.up) / bare, run: median(times.run) / bare}
    t.comment(
      `time to first 200 on /up, median of ${rounds}: bare ${bare.toFixed(0)} ms; contain up ${median(times.up).toFixed(0)} ms (${ratio.up.toFixed(2)}x); contain run ${median(times.run).toFixed(0)} ms (${ratio.run.toFixed(2)}x); ratio of medians; target <= 1.05x (a benchmark: npm run bench -- --suite rails)`,
    )
    for (const [name, values] of Object.entries(times)) t.comment(`${name}: ${values.map(ms => ms.toFixed(0)).join(', ')} ms`)

    // Each answer came from the server that round started: bare Rails on the host, the others in
    // their sandbox (their own hostname, a low pid, the 512m limit), never a server left over.
    t.ok(
      answered.bare.every(info => info.hostname === hostname() && info.pid > 3),
      `bare: every round answered from the host (${answered.bare.map(info => `${info.hostname}/${info.pid}`).join(', ')})`,
    )
    for (const name of ['up', 'run'] as const) {
      t.ok(
        answered[name].every(info => info.hostname === project.web && info.pid <= 3 && info.memory_limit === 512 * MiB),
        `contain ${name}: every round answered from its sandbox (${answered[name].map(info => `${info.hostname}/${info.pid}/${info.memory_limit / MiB}m`).join(', ')})`,
      )
    }
    // A boot takes a Rails app a second or more here, and contain adds a launcher in front of it.
    // The 1.05x target is the benchmark's; this guard fails only a launch that broke (a retry
    // loop, a health-check stall, an app that never ran in parallel with its startup).
    t.ok(
      times.bare.every(ms => ms > 300),
      `bare rails s took ${times.bare.map(ms => ms.toFixed(0)).join(', ')} ms: real boots`,
    )
    t.ok(ratio.up <= 1.5, `contain up within 1.5x of bare rails s (${ratio.up.toFixed(2)}x)`)
    t.ok(ratio.run <= 1.5, `contain run within 1.5x of bare rails s (${ratio.run.toFixed(2)}x)`)
  })
}
