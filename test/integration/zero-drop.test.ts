/**
 * Requests during a restart, a deploy and a crash (issue 14's check, the small version of
 * `bench --suite deploy`): a real HTTP app under `listen:` that takes about a second to boot, and
 * clients that keep requesting, each request on a connection of its own, while (a) `contain restart`,
 * (b) `contain up -d` after a change, (c) SIGKILL of the app. Every failure is counted by kind.
 *
 * (a) and (b) are rolling restarts (restart_mode defaults to rolling with listen:): the new instance
 * starts beside the old one on the same socket and takes over once its health check passes, so no
 * request fails. (c) has one instance and nothing to roll to: the socket stays open, connections wait
 * in its queue while the app boots again, and none is refused (latency only).
 */
import {execa} from 'execa'
import {chmodSync, writeFileSync} from 'node:fs'
import {request as httpRequest} from 'node:http'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {assertNothingLeftBehind, containBin, freePort, requireRoot} from './helpers.js'

const mark = Math.floor(Math.random() * 0xffffff).toString(16)
const app = `zero-drop-web-${mark}`

/**
 * Sleeps a second (a boot), then serves on the socket contain passed as fd 3: "PID MARK". On SIGTERM
 * it stops gracefully, as puma does and as a rolling restart needs of an app: it stops accepting
 * (its copy of the socket closes; contain's stays open, so the queue goes on to the new instance),
 * answers the connections it has accepted, then exits. An app that exits at once resets those.
 */
const SERVER = `const http = require('node:http')
if (process.env.LISTEN_FDS !== '1') throw new Error('no socket from contain: LISTEN_FDS=' + process.env.LISTEN_FDS)
let server
setTimeout(() => {
  server = http.createServer((req, res) => res.end(process.pid + ' ' + (process.env.DEPLOY_MARK || '') + '\\n')).listen({fd: 3})
}, 1000)
process.on('SIGTERM', () => (server ? server.close(() => process.exit(0)) : process.exit(0)))
`

type Outcome = {t: number; ok: boolean; kind?: string; body?: string}

/** One GET on a fresh connection (no keep-alive: every request tests the listening socket). */
function get(port: number, timeoutMs: number): Promise<{body?: string; error?: string}> {
  return new Promise(resolve => {
    const req = httpRequest({host: '127.0.0.1', port, path: '/', agent: false, timeout: timeoutMs}, res => {
      let body = ''
      res.on('data', chunk => (body += chunk))
      res.on('end', () => resolve(res.statusCode === 200 ? {body: body.trim()} : {error: `HTTP ${res.statusCode}`}))
      res.on('error', error => resolve({error: (error as NodeJS.ErrnoException).code ?? error.message}))
    })
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), {code: 'TIMEOUT'})))
    req.on('error', error => resolve({error: (error as NodeJS.ErrnoException).code ?? error.message}))
    req.end()
  })
}

/**
 * Four clients request in a loop from 300 ms before `action` until the app has answered for 500 ms
 * without a failure after it (at most 15 s). Returns every outcome, by kind.
 */
async function underLoad(port: number, action: () => Promise<void>) {
  const outcomes: Outcome[] = []
  const start = Date.now()
  let running = true
  const client = async () => {
    while (running) {
      const r = await get(port, 8000)
      outcomes.push(r.body !== undefined ? {t: Date.now() - start, ok: true, body: r.body} : {t: Date.now() - start, ok: false, kind: r.error})
      if (r.error) await new Promise(resolve => setTimeout(resolve, 20))
    }
  }
  const clients = Array.from({length: 4}, client)
  await new Promise(resolve => setTimeout(resolve, 300))
  const actionAt = Date.now() - start
  await action()
  const deadline = Date.now() + 15_000
  for (;;) {
    await new Promise(resolve => setTimeout(resolve, 100))
    const now = Date.now() - start
    const recent = outcomes.filter(o => o.t >= now - 500 && o.t > actionAt)
    if ((recent.length > 0 && recent.every(o => o.ok) && now - actionAt > 600) || Date.now() > deadline) break
  }
  running = false
  await Promise.all(clients)
  const failed = outcomes.filter(o => !o.ok)
  const byKind: Record<string, number> = {}
  for (const o of failed) byKind[o.kind ?? 'other'] = (byKind[o.kind ?? 'other'] ?? 0) + 1
  const okTimes = outcomes.filter(o => o.ok && o.t >= actionAt).map(o => o.t)
  let gap = 0
  for (let i = 1; i < okTimes.length; i++) gap = Math.max(gap, okTimes[i] - okTimes[i - 1])
  return {outcomes, failed: failed.length, byKind, refused: byKind.ECONNREFUSED ?? 0, gap, last: outcomes.filter(o => o.ok).at(-1)?.body ?? ''}
}

function contain(args: string[], cwd: string, env: Record<string, string>) {
  return execa(process.execPath, [containBin, ...args], {cwd, env, reject: false, all: true})
}

const yml = (port: number, deployMark: string) =>
  `apps:\n  ${app}:\n    command: ["${process.execPath}", "server.js"]\n    user: "0"\n    listen: ["tcp://127.0.0.1:${port}"]\n` +
  `    environment: {DEPLOY_MARK: "${deployMark}"}\n    restart: always\n    backoff: {initial: 0ms, max: 0ms}\n` +
  `    healthcheck: {test: {http: "http://127.0.0.1:${port}/"}, interval: 200ms, timeout: 1s, start_period: 10s}\n    stop_grace_period: 2s\n`

if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  t.test('requests during a restart, a deploy and a SIGKILL of an app under listen:', async (t: Test) => {
    const port = await freePort()
    const dir = t.testdir({'server.js': SERVER, 'contain.yml': yml(port, 'one'), state: {}})
    chmodSync(dir, 0o755)
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    const up = await contain(['up', '-d'], dir, env)
    t.equal(up.exitCode, 0, `contain up -d: ${up.all}`)
    try {
      const deadline = Date.now() + 10_000
      while (!(await get(port, 2000)).body && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))

      // (c) A crash: the socket stays open across the restart, so a connection waits; none is refused.
      const killed = await underLoad(port, async () => {
        const ps = JSON.parse((await contain(['ps', '--json'], dir, env)).stdout || '[]')
        const pid = ps.find((a: {name: string}) => a.name === app)?.pid
        t.ok(pid, `the app's pid from contain ps: ${pid}`)
        process.kill(pid, 'SIGKILL')
      })
      t.equal(
        killed.refused,
        0,
        `SIGKILL: no connection refused (failures by kind ${JSON.stringify(killed.byKind)}; longest wait between answers ${killed.gap} ms)`,
      )
      t.ok(killed.gap >= 900, `the clients waited through the boot instead (${killed.gap} ms without an answer)`)
      t.ok(killed.outcomes.filter(o => o.ok).length > 0, 'and were answered by the restarted app')

      // (a) contain restart: the target is no failed request at all.
      const restarted = await underLoad(port, async () => {
        const r = await contain(['restart', app], dir, env)
        t.equal(r.exitCode, 0, `contain restart: ${r.all}`)
      })
      t.ok(
        restarted.outcomes.some(o => o.ok && o.t > 0),
        'the app answers after contain restart',
      )
      t.equal(restarted.failed, 0, `contain restart: no failed request (${JSON.stringify(restarted.byKind)}, longest ${restarted.gap} ms without an answer)`)

      // (b) contain up -d after a change: a new environment; the target is again no failed request.
      writeFileSync(join(dir, 'contain.yml'), yml(port, 'two'))
      const deployed = await underLoad(port, async () => {
        const r = await contain(['up', '-d'], dir, env)
        t.equal(r.exitCode, 0, `contain up -d after the change: ${r.all}`)
        t.match(r.all, new RegExp(`${app}: recreated`), 'the app was recreated')
      })
      t.match(deployed.last, / two$/, `the new release answers at the end: "${deployed.last}"`)
      t.equal(deployed.failed, 0, `contain up -d: no failed request (${JSON.stringify(deployed.byKind)}, longest ${deployed.gap} ms without an answer)`)
    } finally {
      const down = await contain(['down'], dir, env)
      t.equal(down.exitCode, 0, `contain down: ${down.all}`)
    }
  })
}
