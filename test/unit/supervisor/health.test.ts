import {createServer as createHttpServer, type Server as HttpServer} from 'node:http'
import {createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket} from 'node:net'
import t from 'tap'
import type {HealthcheckConfig} from '../../../src/config/supervision.js'
import {Health, HealthMonitor, httpProbe, tcpProbe, type Probe} from '../../../src/supervisor/health.js'
import type {TestContext} from '../helpers/tap.js'

// The monitor runs on real timers with millisecond intervals: each test takes a few tens of ms.
const timing = (overrides: Partial<HealthcheckConfig> = {}): HealthcheckConfig => ({
  kind: 'http',
  target: 'http://unused',
  intervalMs: 2,
  timeoutMs: 50,
  retries: 3,
  startPeriodMs: 0,
  ...overrides,
})

/** A probe that answers from a script (true/false per call; the last answer repeats), counting calls. */
function scripted(answers: boolean[]) {
  const probe = {
    calls: 0,
    timeouts: [] as number[],
    fn: (async timeoutMs => {
      probe.timeouts.push(timeoutMs)
      return answers[Math.min(probe.calls++, answers.length - 1)]
    }) as Probe,
  }
  return probe
}

/** Resolves once `check` holds, polling every ms; fails the wait after `timeoutMs`. */
async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 1))
  }
}

/** A monitor with its changes recorded as [health, probe calls so far]; stopped when the test ends. */
function monitor(t: TestContext, config: HealthcheckConfig, probe: ReturnType<typeof scripted>) {
  const changes: Array<[Health, number]> = []
  const health = new HealthMonitor(config, probe.fn, change => changes.push([change, probe.calls]))
  t.teardown(() => health.stop())
  return {health, changes}
}

t.test('a new monitor is starting and probes nothing before start()', async t => {
  const probe = scripted([true])
  const {health, changes} = monitor(t, timing(), probe)
  t.equal(health.health, Health.starting)
  await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(probe.calls, 0)
  t.strictSame(changes, [])
})

t.test('one success makes it healthy; the probe gets the configured timeout', async t => {
  const probe = scripted([true])
  const {health, changes} = monitor(t, timing({timeoutMs: 1234}), probe)
  health.start()
  await until(() => changes.length > 0, 'a change')
  t.strictSame(changes[0], [Health.healthy, 1], 'healthy after the first probe')
  t.equal(health.health, Health.healthy)
  t.equal(probe.timeouts[0], 1234)
  await until(() => probe.calls >= 5, 'more probes')
  t.strictSame(changes, [[Health.healthy, 1]], 'staying healthy is not a change')
})

t.test("the first probe waits one interval, as Docker's does", async t => {
  const probe = scripted([true])
  const {health} = monitor(t, timing({intervalMs: 60}), probe)
  const started = Date.now()
  health.start()
  await until(() => probe.calls > 0, 'the first probe')
  t.ok(Date.now() - started >= 55, `first probe after ${Date.now() - started} ms`)
})

t.test('retries failures in a row make it unhealthy, not fewer', async t => {
  const probe = scripted([false])
  const {health, changes} = monitor(t, timing({retries: 3}), probe)
  health.start()
  await until(() => changes.length > 0, 'a change')
  t.strictSame(changes, [[Health.unhealthy, 3]], 'unhealthy exactly at the third failure')
  await until(() => probe.calls >= 6, 'more probes')
  t.strictSame(changes, [[Health.unhealthy, 3]], 'reported once')
})

t.test('retries 1: the first failure makes it unhealthy', async t => {
  const probe = scripted([false])
  const {health, changes} = monitor(t, timing({retries: 1}), probe)
  health.start()
  await until(() => changes.length > 0, 'a change')
  t.strictSame(changes, [[Health.unhealthy, 1]])
})

t.test('a success in between resets the count of failures', async t => {
  // fail fail ok fail fail fail: healthy at 3, unhealthy only at 6 (three in a row again).
  const probe = scripted([false, false, true, false, false, false])
  const {health, changes} = monitor(t, timing({retries: 3}), probe)
  health.start()
  await until(() => changes.length >= 2, 'two changes')
  t.strictSame(changes, [
    [Health.healthy, 3],
    [Health.unhealthy, 6],
  ])
})

t.test('one success makes an unhealthy app healthy again', async t => {
  const probe = scripted([false, false, true])
  const {health, changes} = monitor(t, timing({retries: 2}), probe)
  health.start()
  await until(() => changes.length >= 2, 'two changes')
  t.strictSame(changes, [
    [Health.unhealthy, 2],
    [Health.healthy, 3],
  ])
  t.equal(health.health, Health.healthy)
})

t.test('failures during start_period do not count; a success there counts', async t => {
  const probe = scripted([false])
  const {health, changes} = monitor(t, timing({retries: 1, startPeriodMs: 10_000}), probe)
  health.start()
  await until(() => probe.calls >= 10, 'ten failing probes')
  t.strictSame(changes, [], 'still starting after 10 failures with retries 1')
  t.equal(health.health, Health.starting)

  const succeeding = scripted([true])
  const second = monitor(t, timing({startPeriodMs: 10_000}), succeeding)
  second.health.start()
  await until(() => second.changes.length > 0, 'a change')
  t.strictSame(second.changes, [[Health.healthy, 1]], 'healthy within the start period')
})

t.test('failures count once start_period is over', async t => {
  const probe = scripted([false])
  const {health, changes} = monitor(t, timing({retries: 2, startPeriodMs: 80}), probe)
  const started = Date.now()
  health.start()
  await until(() => changes.length > 0, 'a change')
  const elapsed = Date.now() - started
  t.equal(changes[0][0], Health.unhealthy)
  t.ok(elapsed >= 79, `unhealthy after ${elapsed} ms, not within the 80 ms start period`)
  t.ok(changes[0][1] > 2, `the ${changes[0][1]} probes include uncounted ones from the start period`)
})

t.test('stop(): no more probes and no more changes', async t => {
  const probe = scripted([true])
  const {health, changes} = monitor(t, timing(), probe)
  health.start()
  await until(() => probe.calls >= 2, 'two probes')
  health.stop()
  const calls = probe.calls
  await new Promise(resolve => setTimeout(resolve, 30))
  t.equal(probe.calls, calls, 'no probe after stop()')
  t.strictSame(changes, [[Health.healthy, 1]])
  health.stop()
  t.pass('stop() twice is fine')
})

t.test('stop() while a probe runs: its answer is dropped and nothing is scheduled', async t => {
  let finish!: (healthy: boolean) => void
  let calls = 0
  const changes: Health[] = []
  const health = new HealthMonitor(
    timing({retries: 1}),
    () => {
      calls++
      return new Promise(resolve => (finish = resolve))
    },
    change => changes.push(change),
  )
  health.start()
  await until(() => calls === 1, 'the probe to start')
  health.stop()
  finish(false)
  await new Promise(resolve => setTimeout(resolve, 30))
  t.equal(calls, 1)
  t.strictSame(changes, [], 'no change from a probe that ended after stop()')
  t.equal(health.health, Health.starting)
})

t.test('a probe that throws counts as a failure', async t => {
  let calls = 0
  const changes: Health[] = []
  const health = new HealthMonitor(
    timing({retries: 2}),
    async () => {
      calls++
      throw new Error('boom')
    },
    change => changes.push(change),
  )
  t.teardown(() => health.stop())
  health.start()
  await until(() => changes.length > 0, 'a change')
  t.strictSame(changes, [Health.unhealthy])
  t.equal(calls, 2)
})

t.test('a slow probe delays the next one: probes never overlap', async t => {
  let running = 0
  let overlapped = false
  let calls = 0
  const health = new HealthMonitor(
    timing({intervalMs: 1}),
    async () => {
      calls++
      running++
      if (running > 1) overlapped = true
      await new Promise(resolve => setTimeout(resolve, 10))
      running--
      return true
    },
    () => undefined,
  )
  t.teardown(() => health.stop())
  health.start()
  await until(() => calls >= 4, 'four probes')
  t.notOk(overlapped)
})

t.test("the monitor does not keep the process alive (its timer is unref'd)", async t => {
  const probe = scripted([true])
  const health = new HealthMonitor(timing({intervalMs: 60_000}), probe.fn, () => undefined)
  health.start()
  const timer = (health as unknown as {timer: NodeJS.Timeout}).timer
  t.equal(timer.hasRef(), false)
  health.stop()
})

// ---------------------------------------------------------------------------------------------
// Probes against real local servers.

async function listen<S extends HttpServer | NetServer>(t: TestContext, server: S, host = '127.0.0.1'): Promise<number> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve())
  })
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise(resolve => server.close(resolve))
  })
  return (server.address() as AddressInfo).port
}

/** A port nothing listens on: bound, read, closed. */
async function closedPort(): Promise<number> {
  const server = createNetServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  const {port} = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

t.test('httpProbe: 2xx and 3xx are healthy; 4xx and 5xx are not', async t => {
  const paths: string[] = []
  const server = createHttpServer((request, response) => {
    paths.push(`${request.method} ${request.url}`)
    const status = Number(request.url?.slice(1))
    if (status >= 300 && status < 400) response.setHeader('location', '/200')
    response.writeHead(status)
    response.end('body')
  })
  const port = await listen(t, server)
  const expected: Record<number, boolean> = {
    200: true,
    204: true,
    299: true,
    301: true,
    302: true,
    304: true,
    399: true,
    400: false,
    404: false,
    429: false,
    500: false,
    502: false,
    503: false,
  }
  for (const [status, healthy] of Object.entries(expected)) {
    t.equal(await httpProbe(`http://127.0.0.1:${port}/${status}`)(1000), healthy, `${status}: ${healthy ? 'healthy' : 'unhealthy'}`)
  }
  t.strictSame(
    paths,
    Object.keys(expected).map(status => `GET /${status}`),
    'one GET per probe: redirects are not followed',
  )
})

t.test('httpProbe: a refused connection is unhealthy', async t => {
  const port = await closedPort()
  t.equal(await httpProbe(`http://127.0.0.1:${port}/up`)(1000), false)
})

t.test('httpProbe: no answer within the timeout is unhealthy, in about the timeout', async t => {
  // Accepts the connection, reads the request, never answers.
  const server = createHttpServer(() => undefined)
  const port = await listen(t, server)
  const started = Date.now()
  t.equal(await httpProbe(`http://127.0.0.1:${port}/up`)(100), false)
  const elapsed = Date.now() - started
  t.ok(elapsed >= 90 && elapsed < 2000, `gave up after ${elapsed} ms`)
})

t.test('httpProbe: a response whose body never ends still counts by its status', async t => {
  const server = createHttpServer((_request, response) => {
    response.writeHead(200)
    response.write('streaming...')
  })
  const port = await listen(t, server)
  t.equal(await httpProbe(`http://127.0.0.1:${port}/up`)(1000), true)
})

t.test('tcpProbe: healthy when the port accepts a connection', async t => {
  let accepted = 0
  const server = createNetServer(socket => {
    accepted++
    socket.end()
  })
  const port = await listen(t, server)
  t.equal(await tcpProbe(`127.0.0.1:${port}`)(1000), true)
  t.equal(await tcpProbe(`localhost:${port}`)(1000), true, 'a host name')
  await until(() => accepted >= 1, 'the server to see the connection')
})

t.test('tcpProbe: an IPv6 address in brackets', async t => {
  const server = createNetServer(socket => socket.end())
  let port: number
  try {
    port = await listen(t, server, '::1')
  } catch (error) {
    t.skip(`no IPv6 loopback here: ${(error as Error).message}`, () => {})
    return
  }
  t.equal(await tcpProbe(`[::1]:${port}`)(1000), true)
})

t.test('tcpProbe: a refused connection is unhealthy', async t => {
  const port = await closedPort()
  t.equal(await tcpProbe(`127.0.0.1:${port}`)(1000), false)
})

t.test('tcpProbe: the socket is closed after a successful probe', async t => {
  let closed = 0
  const server = createNetServer(socket => socket.on('close', () => closed++))
  const port = await listen(t, server)
  t.equal(await tcpProbe(`127.0.0.1:${port}`)(1000), true)
  await until(() => closed === 1, 'the probe to close its connection')
  t.pass('closed')
})
