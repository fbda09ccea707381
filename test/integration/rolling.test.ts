/**
 * Health-gated rolling restarts and replicas (issue 14 items 2 and 3), for real: a python HTTP
 * app (fixtures/slow-http.py) on a socket contain holds, which sleeps before it serves. While
 * `contain restart` and `contain up -d` with a changed contain.yml replace it, a client sends
 * requests without pause and counts the failed ones: none may fail. A new version that never
 * becomes healthy leaves the old one serving; replicas run side by side, each in its own cgroup.
 */
import {execa} from 'execa'
import {chmodSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {request as httpRequest} from 'node:http'
import {dirname, join} from 'node:path'
import t, {type Test} from 'tap'
import {assertNothingLeftBehind, containBin, freePort, requireRoot} from './helpers.js'

const mark = Math.floor(Math.random() * 0xffffff).toString(16)
const python = '/usr/bin/python3'
const SERVER = readFileSync(join(import.meta.dirname, 'fixtures', 'slow-http.py'), 'utf8')

function contain(args: string[], cwd: string, env: Record<string, string>) {
  return execa(process.execPath, [containBin, ...args], {cwd, env, reject: false, all: true})
}

/** One GET without keep-alive: the body, or the error's code. */
function get(port: number, path = '/', timeoutMs = 10_000): Promise<{body?: string; error?: string}> {
  return new Promise(resolve => {
    const req = httpRequest({host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs}, response => {
      let body = ''
      response.on('data', chunk => (body += chunk))
      response.on('end', () => resolve(response.statusCode === 200 ? {body: body.trim()} : {error: `HTTP ${response.statusCode}`}))
      response.on('error', error => resolve({error: (error as NodeJS.ErrnoException).code ?? error.message}))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', error => resolve({error: (error as NodeJS.ErrnoException).code ?? error.message}))
    req.end()
  })
}

/** Requests from `connections` clients, each sending the next as soon as the last is answered, until stopped. */
function load(port: number, connections = 4) {
  const failures: string[] = []
  const answers: string[] = []
  let running = true
  const clients = Array.from({length: connections}, async () => {
    while (running) {
      const result = await get(port)
      if (result.body) answers.push(result.body)
      else failures.push(result.error ?? 'no answer')
    }
  })
  return {
    failures,
    answers,
    async stop() {
      running = false
      await Promise.all(clients)
    },
  }
}

async function firstAnswer(port: number): Promise<string | undefined> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const result = await get(port, '/', 2000)
    if (result.body) return result.body
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return undefined
}

function configFor(app: string, port: number, {version, healthy = true, replicas}: {version: number; healthy?: boolean; replicas?: number}): string {
  return [
    'apps:',
    `  ${app}:`,
    `    command: ["${python}", "server.py"]`,
    '    user: "0"',
    `    listen: ["tcp://127.0.0.1:${port}"]`,
    '    mem_limit: 64m',
    `    environment: {BOOT_DELAY: "0.6", VERSION: "${version}", HEALTHY: "${healthy ? 1 : 0}"}`,
    `    healthcheck: {test: {http: "http://127.0.0.1:${port}/up"}, interval: 200ms, timeout: 1s, retries: 3}`,
    '    stop_grace_period: 5s',
    ...(replicas === undefined ? [] : [`    replicas: ${replicas}`]),
    '',
  ].join('\n')
}

function project(t: Test, contents: string): string {
  const dir = t.testdir({'server.py': SERVER, 'contain.yml': contents, state: {}})
  chmodSync(dir, 0o755)
  return dir
}

/** The app's instance cgroups (below the app's own, as inspect names the running one's) that hold processes. */
async function liveInstances(app: string, dir: string, env: Record<string, string>): Promise<string[]> {
  const inspect = await contain(['inspect', app], dir, env)
  const first = /^cgroup: (\S+)/m.exec(inspect.stdout)?.[1]
  if (!first) return []
  const appDir = dirname(first)
  return readdirSync(appDir, {withFileTypes: true})
    .filter(entry => entry.isDirectory() && readFileSync(join(appDir, entry.name, 'cgroup.procs'), 'utf8').trim() !== '')
    .map(entry => join(appDir, entry.name))
}

if (requireRoot(t)) {
  assertNothingLeftBehind(t)
  // About 40 s per test on the host; the cgroup v2 guest is some ten times slower (never less than a --timeout given).
  t.setTimeout(Math.max(300_000, Number(process.env.TAP_TIMEOUT ?? 0) * 1000))

  t.test(
    'rolling restarts serve every request: contain restart, then contain up -d with a changed contain.yml, then a version that never gets healthy',
    async t => {
      const port = await freePort()
      const app = `rolling-web-${mark}`
      const dir = project(t, configFor(app, port, {version: 1}))
      const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
      const started = await contain(['up', '-d'], dir, env)
      t.equal(started.exitCode, 0, `contain up -d: ${started.all}`)
      try {
        const first = await firstAnswer(port)
        t.match(first, /^1 [0-9a-f]{8}$/, `version 1 answers: ${first}`)
        const traffic = load(port)
        try {
          const restart = await contain(['restart', app], dir, env)
          t.equal(restart.exitCode, 0, `contain restart: ${restart.all}`)
          const afterRestart = await firstAnswer(port)
          t.not(afterRestart, first, `a new instance answers: ${afterRestart}`)

          writeFileSync(join(dir, 'contain.yml'), configFor(app, port, {version: 2}))
          const deploy = await contain(['up', '-d'], dir, env)
          t.equal(deploy.exitCode, 0, `contain up -d with version 2: ${deploy.all}`)
          t.match(deploy.stdout, /recreated .*by a rolling restart/, 'the apply report says it rolled')
          t.match(await firstAnswer(port), /^2 /, 'version 2 answers')

          writeFileSync(join(dir, 'contain.yml'), configFor(app, port, {version: 3, healthy: false}))
          const broken = await contain(['up', '-d'], dir, env)
          t.equal(broken.exitCode, 125, 'a version that never becomes healthy fails contain up')
          t.match(
            broken.stdout,
            /not recreated, the running version keeps serving .*did not become ready: its health check failed 3 times/,
            `the apply report says why: ${broken.all}`,
          )
          t.match(broken.stderr, /did not become ready; the old one keeps serving/)
        } finally {
          await traffic.stop()
        }
        t.strictSame(traffic.failures, [], `no request failed (${traffic.answers.length} answered)`)
        t.ok(traffic.answers.length > 20, `the client was busy throughout: ${traffic.answers.length} answers`)
        // On trial, an instance accepts from the shared socket like the old one: version 3 answered some
        // of the requests during its trial (its / works, only its /up fails), and none of them failed.
        t.comment(`answers by version 3 during its trial: ${traffic.answers.filter(answer => answer.startsWith('3 ')).length}`)
        t.match(await firstAnswer(port), /^2 /, 'version 2 still serves')
        const ps = await contain(['ps'], dir, env)
        t.match(ps.stdout, /running \(rolling restart failed: old instance kept\)/, `ps says so: ${ps.stdout}`)
        t.equal((await liveInstances(app, dir, env)).length, 1, 'and the failed instance is gone: one instance cgroup holds processes')
      } finally {
        const down = await contain(['down'], dir, env)
        t.equal(down.exitCode, 0, `contain down: ${down.all}`)
      }
    },
  )

  t.test("replicas: 2 instances on one port, each in its own cgroup with the app's limit, rolled one at a time", async t => {
    const port = await freePort()
    const app = `rolling-rep-${mark}`
    const dir = project(t, configFor(app, port, {version: 1, replicas: 2}))
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    const started = await contain(['up', '-d'], dir, env)
    t.equal(started.exitCode, 0, `contain up -d: ${started.all}`)
    try {
      t.ok(await firstAnswer(port), 'the app answers')
      const status = JSON.parse((await contain(['ps', '--json'], dir, env)).stdout)[0]
      t.strictSame(
        status.replicas.map((replica: {name: string}) => replica.name),
        [`${app}.1`, `${app}.2`],
        'ps --json lists each instance',
      )
      t.equal(new Set(status.replicas.map((replica: {pid: number}) => replica.pid)).size, 2, 'two pids')
      const table = (await contain(['ps'], dir, env)).stdout
      t.match(table, new RegExp(`^${app}\\.1 +running`, 'm'))
      t.match(table, new RegExp(`^${app}\\.2 +running`, 'm'))
      const instances = await liveInstances(app, dir, env)
      t.equal(instances.length, 2, `two instance cgroups with processes: ${instances.join(' ')}`)
      for (const instance of instances) {
        const limit = ['memory.max', 'memory.limit_in_bytes']
          .map(file => join(instance, file))
          .find(path => {
            try {
              readFileSync(path)
              return true
            } catch {
              return false
            }
          })
        if (limit) t.equal(readFileSync(limit, 'utf8').trim(), String(64 * 2 ** 20), `${instance}: the app's mem_limit is the instance's`)
      }
      // The kernel hands each connection to one of the instances accepting on the shared socket.
      const tokens = new Set<string>()
      for (let attempt = 0; attempt < 200 && tokens.size < 2; attempt++) tokens.add((await get(port)).body ?? '')
      t.equal(tokens.size, 2, `both instances answer on the one port: ${[...tokens].join(', ')}`)

      const traffic = load(port)
      try {
        const restart = await contain(['restart', app], dir, env)
        t.equal(restart.exitCode, 0, `contain restart: ${restart.all}`)
      } finally {
        await traffic.stop()
      }
      t.strictSame(traffic.failures, [], `no request failed while both were rolled (${traffic.answers.length} answered)`)
      const after = JSON.parse((await contain(['ps', '--json'], dir, env)).stdout)[0]
      t.equal(after.replicas.length, 2, 'still two')
      t.notOk(
        after.replicas.some((replica: {pid: number}) => status.replicas.some((old: {pid: number}) => old.pid === replica.pid)),
        'both replaced',
      )

      // Only the number changes (compose's scale): the running two stay, a third starts.
      writeFileSync(join(dir, 'contain.yml'), configFor(app, port, {version: 1, replicas: 3}))
      const scaled = await contain(['up', '-d'], dir, env)
      t.equal(scaled.exitCode, 0, `contain up -d with replicas: 3: ${scaled.all}`)
      t.match(scaled.stdout, /replicas 2 -> 3/)
      const three = JSON.parse((await contain(['ps', '--json'], dir, env)).stdout)[0]
      t.equal(three.replicas.length, 3, 'three instances')
      t.strictSame(
        three.replicas.slice(0, 2).map((replica: {pid: number}) => replica.pid),
        after.replicas.map((replica: {pid: number}) => replica.pid),
        'the first two kept running',
      )
    } finally {
      const down = await contain(['down'], dir, env)
      t.equal(down.exitCode, 0, `contain down: ${down.all}`)
    }
  })
}
