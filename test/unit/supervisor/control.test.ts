import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {createConnection, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import t from 'tap'
import {ContainError} from '../../../src/errors.js'
import {callControl, serveControl} from '../../../src/supervisor/control.js'
import {checkPeer} from '../../../src/supervisor/peer.js'
import {rejection} from '../helpers/errors.js'
import type {TestContext} from '../helpers/tap.js'

type Handlers = Parameters<typeof serveControl>[1]

/**
 * callControl asks contain-init who serves the socket (SO_PEERCRED) before it sends anything.
 * The unit tests run without the native build: a stand-in reports this user as the peer, so
 * every call still goes through the hand-over of the connected socket to a child process.
 */
const standIn = mkdtempSync(join(tmpdir(), 'contain-peer-'))
writeFileSync(join(standIn, 'contain-init'), '#!/bin/sh\n[ "$1" = peercred ] && [ -S /proc/self/fd/$2 ] || exit 125\necho "$(id -u) $(id -g) $$"\n', {
  mode: 0o755,
})
process.env.CONTAIN_INIT = join(standIn, 'contain-init')
t.teardown(() => rmSync(standIn, {recursive: true, force: true}))

/**
 * A fresh folder with a short path (tap's own fixture folders are longer than a socket path may be,
 * and the long-path case has tests of its own below), removed when the test ends.
 */
function shortDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'contain-ctl-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

/** A long folder: its control.sock path does not fit in sockaddr_un's 108 bytes. */
function longDir(t: TestContext): string {
  const dir = join(shortDir(t), 'a-very-long-directory-name-'.repeat(3), 'and-another-level-of-it-'.repeat(3))
  mkdirSync(dir, {recursive: true})
  return dir
}

/** A control socket in a fresh folder, closed when the test ends. */
async function serve(t: TestContext, handlers: Handlers, dir = shortDir(t)): Promise<{path: string; server: Server}> {
  const path = join(dir, 'control.sock')
  const server = await serveControl(path, handlers)
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return {path, server}
}

/** Sends raw bytes in pieces (a pause between them) and returns what the server answered. */
function rawExchange(path: string, pieces: string[], pauseMs = 20): Promise<string> {
  return new Promise((resolve, reject) => {
    const connection = createConnection(path)
    let answer = ''
    connection.setEncoding('utf8')
    connection.on('data', (chunk: string) => (answer += chunk))
    connection.on('error', reject)
    connection.on('close', () => resolve(answer))
    const send = async () => {
      for (const piece of pieces) {
        if (connection.destroyed) break
        connection.write(piece)
        await new Promise(resolve => setTimeout(resolve, pauseMs))
      }
    }
    connection.on('connect', () => void send())
  })
}

const openFds = () => readdirSync('/proc/self/fd').length

t.test('a request and its result make the round trip', async t => {
  const seen: unknown[] = []
  const {path} = await serve(t, {
    echo: params => {
      seen.push(params)
      return {got: params}
    },
    later: async ({ms}) => {
      await new Promise(resolve => setTimeout(resolve, Number(ms)))
      return ['done', ms]
    },
    nothing: () => undefined,
  })
  t.strictSame(await callControl(path, 'echo', {apps: ['web', 'worker'], n: 1}), {got: {apps: ['web', 'worker'], n: 1}})
  t.strictSame(await callControl(path, 'echo'), {got: {}}, 'params default to {}')
  t.strictSame(await callControl(path, 'later', {ms: 20}), ['done', 20], 'an async handler is awaited')
  t.equal(await callControl(path, 'nothing'), null, 'no result is null')
  t.strictSame(seen, [{apps: ['web', 'worker'], n: 1}, {}])
})

t.test("a handler's ContainError comes back as a ContainError with its exit code", async t => {
  const {path} = await serve(t, {
    fail: () => {
      throw new ContainError('no app named "db" in this project', {exitCode: 3, fix: 'use one of: web, worker'})
    },
    failLater: async () => {
      throw new ContainError('web is not running (stopped)', {fix: 'start it: contain start web'})
    },
  })
  const error = await rejection(callControl(path, 'fail'))
  t.type(error, ContainError)
  t.equal((error as ContainError).exitCode, 3)
  t.match(error.message, /^no app named "db" in this project/, 'the message, without a second "contain: "')
  t.match(error.message, 'use one of: web, worker', 'the fix is carried along')
  const later = await rejection(callControl(path, 'failLater'))
  t.equal((later as ContainError).exitCode, 125, 'the default exit code')
  t.match(later.message, /^web is not running \(stopped\)/)
})

t.test('a bug in a handler comes back as an internal error, exit code 125', async t => {
  const {path} = await serve(t, {
    broken: () => {
      throw new TypeError('cannot read properties of undefined')
    },
  })
  const error = await rejection(callControl(path, 'broken'))
  t.type(error, ContainError)
  t.equal((error as ContainError).exitCode, 125)
  t.match(error.message, /^internal error: cannot read properties of undefined/)
})

t.test('an unknown method is an error naming it; the server keeps serving', async t => {
  const {path} = await serve(t, {ping: () => 'pong'})
  const error = await rejection(callControl(path, 'nope'))
  t.type(error, ContainError)
  t.match(error.message, /^unknown control request "nope"/)
  for (const inherited of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    t.match((await rejection(callControl(path, inherited))).message, /^unknown control request/, `${inherited}: Object's members are not requests`)
  }
  t.equal(await callControl(path, 'ping'), 'pong')
})

t.test('the socket is a socket, mode 0600', async t => {
  const {path} = await serve(t, {})
  const stat = statSync(path)
  t.ok(stat.isSocket())
  t.equal(stat.mode & 0o777, 0o600)
})

t.test('serveControl replaces a stale socket file left by a killed supervisor', async t => {
  const dir = shortDir(t)
  writeFileSync(join(dir, 'control.sock'), 'stale')
  const {path} = await serve(t, {ping: () => 'pong'}, dir)
  t.ok(statSync(path).isSocket())
  t.equal(await callControl(path, 'ping'), 'pong')
})

t.test('serveControl in a directory that does not exist: a ContainError naming the path', async t => {
  const path = join(shortDir(t), 'missing', 'control.sock')
  const error = await rejection(serveControl(path, {}))
  t.type(error, ContainError)
  t.match(error.message, `cannot open the control socket ${path}`)
  t.match(error, {fix: /CONTAIN_STATE_DIR/})
})

t.test('serveControl in a long directory that does not exist: the same ContainError', async t => {
  const path = join(longDir(t), 'missing', 'control.sock')
  const error = await rejection(serveControl(path, {}))
  t.type(error, ContainError, 'a ContainError')
  t.match(error.message, `cannot open the control socket ${path}`, 'naming the socket')
})

t.test('callControl without a supervisor: a ContainError naming the socket and the fix', async t => {
  const path = join(shortDir(t), 'control.sock')
  const error = await rejection(callControl(path, 'status'))
  t.type(error, ContainError)
  t.match(error.message, `cannot reach the supervisor at ${path}`)
  t.match(error, {fix: 'start the project with contain up'})
})

t.test('callControl: an answer that is not JSON is an error, not a crash', async t => {
  const {createServer} = await import('node:net')
  const path = join(shortDir(t), 'control.sock')
  const server = createServer(connection => {
    connection.on('error', () => undefined)
    connection.resume()
    connection.end('hello\n')
  })
  await new Promise<void>(resolve => server.listen(path, () => resolve()))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const error = await rejection(callControl(path, 'status'))
  t.type(error, ContainError)
  t.match(error.message, `the supervisor at ${path} answered nonsense`)
})

t.test('many requests at once are each answered with their own result', async t => {
  const {path} = await serve(t, {
    square: async ({n}) => {
      await new Promise(resolve => setTimeout(resolve, Math.random() * 10))
      return Number(n) ** 2
    },
  })
  const results = await Promise.all(Array.from({length: 50}, (_, n) => callControl<number>(path, 'square', {n})))
  t.strictSame(
    results,
    Array.from({length: 50}, (_, n) => n ** 2),
  )
})

t.test('a request line that arrives in pieces is handled once, whole', async t => {
  let calls = 0
  const {path} = await serve(t, {
    count: ({text}) => {
      calls++
      return String(text).length
    },
  })
  const text = 'x'.repeat(300_000)
  const request = JSON.stringify({method: 'count', params: {text}})
  const answer = await rawExchange(path, [request.slice(0, 10), request.slice(10, 150_000), `${request.slice(150_000)}\n`])
  t.strictSame(JSON.parse(answer), {result: 300_000})
  t.equal(calls, 1)
})

t.test('bytes after the request line do not run the request again', async t => {
  let calls = 0
  const {path} = await serve(t, {
    restart: async () => {
      calls++
      // A slow handler, as restart is: more bytes arrive while it runs.
      await new Promise(resolve => setTimeout(resolve, 60))
      return 'restarted'
    },
  })
  const answer = await rawExchange(path, ['{"method":"restart"}\n', ' '], 10)
  t.equal(answer.trim().split('\n')[0], '{"result":"restarted"}')
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(calls, 1, 'the handler ran once')
})

t.test('a malformed request gets an error answer, and the server keeps serving', async t => {
  const {path} = await serve(t, {ping: () => 'pong'})
  const answer = JSON.parse(await rawExchange(path, ['this is not json\n'])) as {error: {exitCode: number; message: string}}
  t.equal(answer.error.exitCode, 125)
  t.type(answer.error.message, 'string')
  t.equal(await callControl(path, 'ping'), 'pong')
})

t.test('a state directory whose path is longer than sockaddr_un allows (108 bytes)', async t => {
  const dir = longDir(t)
  const path = join(dir, 'control.sock')
  t.ok(Buffer.byteLength(path) > 108, `${Buffer.byteLength(path)} bytes`)
  const fdsBefore = openFds()
  const {server} = await serve(
    t,
    {
      where: () => 'here',
      fail: () => {
        throw new ContainError('nope', {exitCode: 7})
      },
    },
    dir,
  )
  t.ok(existsSync(path), 'the socket is at the long path itself')
  t.ok(statSync(path).isSocket())
  t.equal(statSync(path).mode & 0o777, 0o600, 'mode 0600 there too')
  t.equal(await callControl(path, 'where'), 'here')
  t.equal(((await rejection(callControl(path, 'fail'))) as ContainError).exitCode, 7)
  await Promise.all(Array.from({length: 20}, () => callControl(path, 'where')))
  await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(openFds(), fdsBefore + 1, 'only the listening socket stays open: the directory descriptors are released')
  t.ok(server.listening)
})

t.test('callControl to a long path without a supervisor still fails cleanly, without leaking', async t => {
  const dir = longDir(t)
  const fdsBefore = openFds()
  const error = await rejection(callControl(join(dir, 'control.sock'), 'status'))
  t.type(error, ContainError)
  t.match(error.message, 'cannot reach the supervisor')
  await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(openFds(), fdsBefore, 'the directory descriptor is closed')
})

t.test('a peer that is neither root nor this user gets no request, and its answer is not believed', async t => {
  const seen: unknown[] = []
  const {path} = await serve(t, {status: params => (seen.push(params), ['made up'])})
  const foreign = {uid: (process.getuid?.() ?? 0) + 4242, gid: 4242, pid: 4242}
  const error = await rejection(callControl(path, 'status', {apps: ['web']}, async () => checkPeer(path, foreign)))
  t.type(error, ContainError)
  t.match(error.message, `served by uid ${foreign.uid} (pid 4242), not by root or by you`)
  t.match((error as ContainError).fix, 'stop it (pid 4242)')
  await new Promise(resolve => setTimeout(resolve, 50))
  t.strictSame(seen, [], 'the server never saw the request')
})

t.test('the default check hands the connected socket itself to the helper, as its fd 3', async t => {
  const {path} = await serve(t, {ping: () => 'pong'})
  t.equal(await callControl(path, 'ping'), 'pong', 'the default check passed the connected socket as fd 3')
})
