/**
 * Sockets held by contain (issue 14 items 1 and 4): contain binds listen: / --listen as root and
 * passes them with systemd's protocol; under `contain up` they outlive a crash of the app, so the
 * connections made while it restarts wait in the socket's queue instead of being refused.
 * Everything is tried for real: a python server inside the app accepts on fd 3.
 */
import {execa} from 'execa'
import {chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync} from 'node:fs'
import {connect, createServer} from 'node:net'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {assertNothingLeftBehind, containBin, freePort, requireRoot} from './helpers.js'

const mark = Math.floor(Math.random() * 0xffffff).toString(16)
const python = '/usr/bin/python3'

/**
 * Answers each connection on any of its sockets with "PID LISTEN_FDS LISTEN_PID LISTEN_FDNAMES" after reading one line;
 * the line "die" makes it SIGKILL itself first (a crash, with nothing closed gracefully).
 */
const SERVER = `import os, selectors, signal, socket
assert int(os.environ["LISTEN_PID"]) == os.getpid(), "LISTEN_PID is not the app's pid"
listening = selectors.DefaultSelector()
for fd in range(3, 3 + int(os.environ["LISTEN_FDS"])):
    listening.register(socket.socket(fileno=fd), selectors.EVENT_READ)
while True:
    for key, _ in listening.select():
        connection, _ = key.fileobj.accept()
        line = connection.makefile().readline().strip()
        if line == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        connection.sendall(("%d %s %s %s\\n" % (os.getpid(), os.environ["LISTEN_FDS"], os.environ["LISTEN_PID"], os.environ.get("LISTEN_FDNAMES", ""))).encode())
        connection.close()
`

/** One request: sends `line`, resolves with the answer, or with the connect error's code. */
function request(target: {port: number} | {path: string}, line: string, timeoutMs = 30_000): Promise<{answer?: string; error?: string}> {
  return new Promise(resolve => {
    const socket = connect('port' in target ? {host: '127.0.0.1', port: target.port} : {path: target.path})
    let answer = ''
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({error: 'timeout'})
    }, timeoutMs)
    socket.on('connect', () => socket.write(`${line}\n`))
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()))
    socket.on('end', () => {
      clearTimeout(timer)
      resolve({answer: answer.trim()})
    })
    socket.on('error', error => {
      clearTimeout(timer)
      resolve({error: (error as NodeJS.ErrnoException).code})
    })
  })
}

/** The first answer on the port: refused until contain-init has made the socket listen, just before the app's first exec. */
async function firstAnswer(port: number): Promise<{answer?: string; error?: string}> {
  const deadline = Date.now() + 30_000
  let result: {answer?: string; error?: string} = {}
  while (Date.now() < deadline && !(result = await request({port}, 'hello', 5000)).answer) await new Promise(resolve => setTimeout(resolve, 100))
  return result
}

function contain(args: string[], cwd: string, env: Record<string, string> = {}) {
  return execa(process.execPath, [containBin, ...args], {cwd, env, reject: false, all: true})
}

function project(t: Test, files: Record<string, string>): string {
  const dir = t.testdir({...files, state: {}})
  // The app runs as the directory's owner (root here), and reads server.py from it.
  chmodSync(dir, 0o755)
  return dir
}

if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  t.test('contain run --listen: the app accepts on fd 3.. with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES; the unix socket file is removed after', async t => {
    const port = await freePort()
    const dir = project(t, {'server.py': SERVER})
    // A unix socket's path is at most 107 bytes: tap's test directories are longer.
    const socketDir = mkdtempSync('/tmp/listen-')
    t.teardown(() => rmSync(socketDir, {recursive: true, force: true}))
    const path = join(socketDir, 'web.sock')
    const run = contain(
      ['run', '--name', `listen-run-${mark}`, '-u', '0', '--listen', `web=tcp://127.0.0.1:${port}`, '--listen', `unix://${path}`, '--', python, 'server.py'],
      dir,
    )
    try {
      const first = await firstAnswer(port)
      const [pid, fds, listenPid, names] = (first.answer ?? '').split(' ')
      t.equal(fds, '2', `LISTEN_FDS=2 (${JSON.stringify(first)})`)
      t.equal(listenPid, pid, "LISTEN_PID is the app's own pid in its pid namespace")
      t.equal(names, `web:unix-${path.replace(/^\//, '').replace(/[^A-Za-z0-9_.]+/g, '-')}`, 'LISTEN_FDNAMES: the given name, then the address made a name')
      t.ok(existsSync(path), 'the unix socket exists while the app runs')
      t.match((await request({path}, 'hello')).answer, /^2 2 2 /, 'the app answers on the unix socket too')
    } finally {
      run.kill('SIGTERM')
      await run
    }
    t.notOk(existsSync(path), 'no socket file is left behind')
    t.equal((await request({port}, 'hello', 2000)).error, 'ECONNREFUSED', 'the port is closed once contain run has ended')
  })

  t.test('contain run --listen under socket activation: the socket systemd passed (LISTEN_FDS, LISTEN_PID) goes to the app, not bound again', async t => {
    const port = await freePort()
    const dir = project(t, {'server.py': SERVER})
    // What systemd does for a .socket unit: listens, puts the socket at fd 3, names the pid that
    // execs (contain) in LISTEN_PID. The wrapper waits for a line on stdin before its exec, so a
    // connection can be made while no contain runs: only the same socket can answer it.
    const activate = `import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", ${port}))
s.listen(16)
# socket() may have returned fd 3 itself (dup2 then does nothing): inheritable either way, as systemd passes it.
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
print("listening", flush=True)
sys.stdin.readline()
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="web")
os.execv(sys.argv[1], sys.argv[1:])
`
    const run = execa(
      python,
      [
        '-c',
        activate,
        process.execPath,
        containBin,
        'run',
        '--name',
        `listen-activated-${mark}`,
        '-u',
        '0',
        '--listen',
        `web=tcp://127.0.0.1:${port}`,
        '--',
        python,
        'server.py',
      ],
      {cwd: dir, reject: false, all: true, stdin: 'pipe'},
    )
    try {
      await new Promise<void>(resolve => run.stdout?.once('data', () => resolve()))
      const early = request({port}, 'hello')
      await new Promise(resolve => setTimeout(resolve, 200))
      run.stdin?.end('go\n')
      const answer = await early
      const [pid, fds, listenPid, names] = (answer.answer ?? '').split(' ')
      t.equal(fds, '1', `the app got one socket (${JSON.stringify(answer)})`)
      t.equal(listenPid, pid, "LISTEN_PID is the app's own pid, not contain's")
      t.equal(names, 'web', 'LISTEN_FDNAMES: the --listen name')
      t.ok(answer.answer, 'a connection made before contain ran is answered by the app: the same socket, its queue kept')
      t.match((await firstAnswer(port)).answer, /^\d+ 1 /, 'and later connections too')
    } finally {
      run.kill('SIGTERM')
    }
    const ended = await run
    t.notMatch(ended.all ?? '', /in use/, `contain did not bind the address again: ${ended.all}`)
  })

  t.test('contain run --listen: a port below 1024 serves an app that runs as nobody, without NET_BIND_SERVICE', async t => {
    let port = 0
    for (let candidate = 700; candidate < 1000 && port === 0; candidate++) {
      const probe = createServer()
      port = await new Promise<number>(resolve =>
        probe.once('error', () => resolve(0)).listen(candidate, '127.0.0.1', () => probe.close(() => resolve(candidate))),
      )
    }
    if (port === 0) return t.plan(0, 'no free port from 700 to 999')
    const dir = project(t, {'server.py': SERVER})
    const run = contain(['run', '--name', `listen-low-${mark}`, '-u', 'nobody', '--listen', `tcp://127.0.0.1:${port}`, '--', python, 'server.py'], dir)
    try {
      const answer = await firstAnswer(port)
      t.match(answer.answer, /^2 1 2 /, `port ${port} answered by the app: ${JSON.stringify(answer)}`)
      const status = await contain(
        [
          'run',
          '--name',
          `listen-low2-${mark}`,
          '-u',
          'nobody',
          '--',
          python,
          '-c',
          `import socket; s = socket.socket(); s.bind(("127.0.0.1", ${port + 1})); print("bound")`,
        ],
        dir,
      )
      t.not(status.exitCode, 0, `the same user may not bind a low port itself: ${status.all.split('\n').at(-1)}`)
    } finally {
      run.kill('SIGTERM')
      await run
    }
  })

  t.test('contain run --listen: a busy port, a malformed address and a missing directory exit 125 naming the flag', async t => {
    const busy = createServer()
    await new Promise<void>(resolve => busy.listen(0, '127.0.0.1', resolve))
    const {port} = busy.address() as {port: number}
    try {
      const dir = project(t, {})
      const cases: [string, RegExp][] = [
        [`tcp://127.0.0.1:${port}`, new RegExp(`--listen tcp://127\\.0\\.0\\.1:${port}: the address is in use; held by pid ${process.pid} `)],
        ['tcp://localhost:80', /--listen: not a listen address/],
        ['unix:///nonexistent-' + mark + '/web.sock', /--listen: the directory \/nonexistent-\w+ does not exist/],
      ]
      for (const [address, message] of cases) {
        const result = await contain(['run', '--name', `listen-bad-${mark}`, '--listen', address, '--', 'true'], dir)
        t.equal(result.exitCode, 125, `${address}: exit 125`)
        t.match(result.all, message, `${address}: ${result.all.split('\n')[0]}`)
      }
    } finally {
      busy.close()
    }
  })

  t.test("contain run --listen: root never follows a symbolic link in a unix socket's path", async t => {
    const socketDir = mkdtempSync('/tmp/listen-')
    t.teardown(() => rmSync(socketDir, {recursive: true, force: true}))
    // What an app that owns its directory could plant: a link to a directory of root's.
    const target = mkdtempSync('/tmp/listen-target-')
    t.teardown(() => rmSync(target, {recursive: true, force: true}))
    symlinkSync(target, join(socketDir, 'link'))
    const result = await contain(['run', '--name', `listen-link-${mark}`, '-u', '0', '--listen', `unix://${socketDir}/link/web.sock`, '--', 'true'], socketDir)
    t.equal(result.exitCode, 125, 'exit 125')
    t.match(result.all, /link in .* is not a directory \(a symbolic link is not followed\)/, result.all.split('\n')[0])
    t.notOk(existsSync(join(target, 'web.sock')), 'no socket was made where the link points')
  })

  t.test('contain run --listen unix: a socket file left by a killed contain is replaced, a live one is not', async t => {
    const socketDir = mkdtempSync('/tmp/listen-')
    t.teardown(() => rmSync(socketDir, {recursive: true, force: true}))
    const path = join(socketDir, 'web.sock')
    // A bound socket whose process is gone: the file stays, nothing listens.
    await execa(python, ['-c', `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(path)}); s.listen()`])
    t.ok(existsSync(path), 'the stale socket file is there')
    const stale = await contain(['run', '--name', `listen-stale-${mark}`, '-u', '0', '--listen', `unix://${path}`, '--', 'true'], socketDir)
    t.equal(stale.exitCode, 0, `a stale socket is replaced: ${stale.all}`)
    t.notOk(existsSync(path), 'and removed after')
    const live = createServer().listen(path)
    try {
      await new Promise(resolve => live.once('listening', resolve))
      const busy = await contain(['run', '--name', `listen-live-${mark}`, '-u', '0', '--listen', `unix://${path}`, '--', 'true'], socketDir)
      t.equal(busy.exitCode, 125, 'a live one: exit 125')
      t.match(busy.all, /the address is in use \(a socket something listens on\)/, busy.all.split('\n')[0])
    } finally {
      live.close()
    }
  })

  t.test('contain up: a crashed app restarts on the same socket; connections made meanwhile wait and are answered, none refused', async t => {
    const port = await freePort()
    const app = `listen-up-${mark}`
    // initial: 1s makes the restart gap long enough to land connections in it.
    const dir = project(t, {
      'server.py': SERVER,
      'contain.yml': `apps:\n  ${app}:\n    command: ["${python}", "server.py"]\n    user: "0"\n    listen: ["tcp://127.0.0.1:${port}"]\n    restart: always\n    backoff: {initial: 1s, max: 1s}\n`,
    })
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    const started = await contain(['up', '-d'], dir, env)
    t.equal(started.exitCode, 0, `contain up -d: ${started.all}`)
    try {
      const before = await firstAnswer(port)
      t.ok(before.answer, `the app answers: ${JSON.stringify(before)}`)
      const firstPid = before.answer?.split(' ')[0]
      // The crash: the connection that asked for it ends without an answer.
      await request({port}, 'die', 5000)
      const during = await Promise.all(Array.from({length: 10}, () => request({port}, 'hello')))
      const refused = during.filter(result => result.error === 'ECONNREFUSED').length
      t.equal(refused, 0, 'no connection made during the restart gap was refused')
      t.same(
        during.filter(result => !result.answer),
        [],
        'each one was answered once the app was back',
      )
      const status = JSON.parse((await contain(['ps', '--json'], dir, env)).stdout || '[]')[0]
      t.ok(status?.restarts >= 1, `the app was restarted (restarts ${status?.restarts})`)
      t.ok(
        during.every(result => result.answer?.split(' ')[0] === firstPid),
        'by the restarted app (pid 1 of a fresh pid namespace has the same pid inside: same LISTEN_PID)',
      )
    } finally {
      const down = await contain(['down'], dir, env)
      t.equal(down.exitCode, 0, `contain down: ${down.all}`)
    }
    t.equal((await request({port}, 'hello', 2000)).error, 'ECONNREFUSED', 'the port is closed after contain down')
  })

  t.test('contain up: a port in use fails the app with exit 125, naming apps.NAME.listen and the holder', async t => {
    const busy = createServer()
    await new Promise<void>(resolve => busy.listen(0, '127.0.0.1', resolve))
    const {port} = busy.address() as {port: number}
    const app = `listen-busy-${mark}`
    const dir = project(t, {'contain.yml': `apps:\n  ${app}:\n    command: sleep 60\n    user: "0"\n    listen: ["tcp://127.0.0.1:${port}"]\n`})
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    try {
      const started = await contain(['up', '-d'], dir, env)
      t.equal(started.exitCode, 125, 'contain up -d: exit 125')
      t.match(
        started.all,
        new RegExp(`apps\\.${app}\\.listen tcp://127\\.0\\.0\\.1:${port}: the address is in use; held by pid ${process.pid}`),
        started.all.split('\n')[0],
      )
    } finally {
      await contain(['down'], dir, env)
      busy.close()
    }
  })

  t.test('contain.yml: a malformed listen address names file:line:col', async t => {
    const dir = project(t, {
      'contain.yml': `apps:\n  listen-yml-${mark}:\n    command: sleep 1\n    listen:\n      - tcp://127.0.0.1:3000\n      - "udp://127.0.0.1:53"\n`,
    })
    const result = await contain(['up', '-d'], dir, {CONTAIN_STATE_DIR: join(dir, 'state')})
    t.equal(result.exitCode, 125)
    t.match(result.all, /contain\.yml:6:\d+: .*not a listen address/, result.all.split('\n')[0])
  })
}
