/**
 * contain as a systemd unit's main process, without systemd running: `systemd-analyze verify`
 * accepts the units `contain systemd` writes, and `contain up` speaks sd_notify to a socket that
 * stands in for systemd's (READY=1 only once the health check passes, STATUS=, WATCHDOG=1,
 * STOPPING=1), in contain's own name (SCM_CREDENTIALS), and keeps NOTIFY_SOCKET from its apps.
 */
import {execa, type ResultPromise} from 'execa'
import {chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import t, {type Test} from 'tap'
import {findOnPath} from '../../src/paths.js'
import {systemdUnit} from '../../src/systemd/generate.js'
import {assertNothingLeftBehind, containBin, initBin, requireRoot, root} from './helpers.js'

/** Receives datagrams on a unix socket as systemd does (SO_PASSCRED), one JSON line each. */
const RECEIVER = `
import json, os, socket, struct, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print(json.dumps({"bound": path}), flush=True)
while True:
    data, ancillary, flags, _ = s.recvmsg(65536, socket.CMSG_SPACE(12))
    pid = None
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", value[:12])[0]
    print(json.dumps({"message": data.decode(), "pid": pid, "at": time.time()}), flush=True)
`

interface Received {
  message: string
  pid: number
  at: number
}

/** A receiver on `socket`; `received` fills as datagrams arrive. */
async function receiver(
  socket: string,
): Promise<{received: Received[]; process: ResultPromise; next: (match: (entry: Received) => boolean, what: string, timeoutMs?: number) => Promise<Received>}> {
  const child = execa('python3', ['-u', '-c', RECEIVER, socket], {reject: false, stdin: 'ignore'})
  const received: Received[] = []
  const lines = createInterface({input: child.stdout})
  await new Promise<void>((resolve, reject) => {
    lines.on('line', line => {
      const entry = JSON.parse(line)
      if (entry.bound) resolve()
      else received.push(entry)
    })
    void child.then(result => reject(new Error(`the receiver ended: ${result.stderr}`)))
  })
  const next = async (match: (entry: Received) => boolean, what: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = received.find(match)
      if (found) return found
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms; received: ${JSON.stringify(received.map(entry => entry.message))}`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }
  return {received, process: child, next}
}

/** A short directory, for sockets: a path in sockaddr_un holds at most 107 bytes. */
function shortDir(t: Test): string {
  const dir = mkdtempSync('/tmp/contain-notify-')
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

function stop(child: ResultPromise | undefined): Promise<unknown> {
  if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL')
  return child ?? Promise.resolve()
}

/** systemd-analyze verify: accepted means exit 0 and not a word of warning. */
async function verify(t: Test, file: string, user: boolean, runtimeDir: string): Promise<void> {
  const env = user ? {XDG_RUNTIME_DIR: runtimeDir} : {}
  const result = await execa('systemd-analyze', [...(user ? ['--user'] : []), 'verify', '--man=no', file], {reject: false, all: true, env})
  t.equal(result.exitCode, 0, `systemd-analyze verify ${file}: exit 0`)
  t.equal(result.all, '', `and says nothing: ${result.all}`)
}

const PROJECT = `name: shop
apps:
  web:
    command: sleep 60
    env_file: .env.production
    restart: on-failure:3
    stop_grace_period: 20s
    healthcheck: {test: {http: "http://127.0.0.1:3000/up"}, interval: 10s, timeout: 5s, retries: 5, start_period: 60s}
  worker:
    command: sleep 60
    restart: always
`

t.test(
  'systemd-analyze verify accepts the units contain systemd writes',
  {skip: findOnPath('systemd-analyze') ? false : 'systemd-analyze is not installed (apt-get install systemd)'},
  async t => {
    const dir = t.testdir({
      'contain.yml': PROJECT,
      '.env.production': 'RAILS_ENV=production\n',
      'odd dir 100%': {'contain.yml': 'apps:\n  web:\n    command: sleep 60\n'},
      sockets: {
        'contain.yml': 'apps:\n  web:\n    command: sleep 60\n    listen: ["tcp://127.0.0.1:3000", "tcp://[::1]:3000", "unix:///tmp/sockets-web.sock"]\n',
      },
    })
    // The user manager puts its sockets here: the path must be short.
    const runtime = shortDir(t)
    for (const [apps, user] of [
      [['web'], false],
      [['web', 'worker'], false],
      [['worker'], true],
    ] as const) {
      const unit = await systemdUnit({cwd: dir, apps: [...apps], user, output: `${apps.join('-')}${user ? '-user' : ''}.service`})
      t.match(
        unit.text,
        `ExecStart=${process.execPath} ${containBin} up --file ${join(dir, 'contain.yml')} ${apps.join(' ')}`,
        "runs this contain's bin/run.js",
      )
      await verify(t, unit.file as string, user, runtime)
    }
    const odd = await systemdUnit({cwd: join(dir, 'odd dir 100%'), apps: ['web'], user: false, output: 'odd.service'})
    await verify(t, odd.file as string, false, runtime)
    // --socket-units: the .socket beside the service, named as the service, both accepted.
    const sockets = await systemdUnit({cwd: join(dir, 'sockets'), apps: ['web'], user: false, socketUnits: true, output: 'contain-sockets-web.service'})
    t.equal(sockets.socketFile, join(dir, 'sockets', 'contain-sockets-web.socket'))
    await verify(t, sockets.socketFile as string, false, runtime)
    await verify(t, sockets.file as string, false, runtime)

    const example = join(root, 'examples/rails-app')
    if (existsSync(join(example, 'tmp'))) {
      const rails = await systemdUnit({cwd: example, apps: ['web', 'worker'], user: false})
      const file = join(dir, rails.name)
      writeFileSync(file, rails.text)
      await verify(t, file, false, runtime)
    } else {
      t.skip("the example's unit is not verified: examples/rails-app is not set up (setup.sh)", () => {})
    }

    // The check has teeth: a unit systemd would refuse is not accepted.
    const broken = join(dir, 'broken.service')
    const web = await systemdUnit({cwd: dir, apps: ['web'], user: false})
    writeFileSync(broken, web.text.replace(/^ExecStart=\S+/m, 'ExecStart=bin/node'))
    const result = await execa('systemd-analyze', ['verify', '--man=no', broken], {reject: false, all: true})
    t.not(result.all, '', `a relative ExecStart is reported: ${result.all.split('\n')[0]}`)
  },
)

if (requireRoot(t, 'units that run contain up under a notify-aware service manager')) {
  assertNothingLeftBehind(t)
  const names = {web: `notify-web-${process.pid}`, worker: `notify-worker-${process.pid}`}

  t.test('contain up speaks sd_notify: READY=1 only after the health check passes, then STOPPING=1 on SIGTERM', async t => {
    const dir = t.testdir({state: {}})
    const healthy = join(dir, 'healthy')
    writeFileSync(
      join(dir, 'contain.yml'),
      `
apps:
  ${names.web}:
    command: ["sh", "-c", "echo notify=\${NOTIFY_SOCKET:-none} watchdog=\${WATCHDOG_USEC:-none}; exec sleep 60"]
    healthcheck:
      test: ["CMD", "test", "-f", "${healthy}"]
      interval: 200ms
      timeout: 2s
      retries: 1000
  ${names.worker}:
    command: sleep 60
`,
    )
    const socket = join(shortDir(t), 'notify.sock')
    const systemd = await receiver(socket)
    let contain: ResultPromise<{reject: false; all: true}> | undefined
    try {
      contain = execa(process.execPath, [containBin, 'up'], {
        cwd: dir,
        reject: false,
        all: true,
        env: {CONTAIN_STATE_DIR: join(dir, 'state'), NOTIFY_SOCKET: socket, WATCHDOG_USEC: '400000'},
      })
      await systemd.next(
        entry => entry.message.includes('waiting for its health check') && entry.message.includes(`${names.worker} running`),
        'a STATUS= with both apps started',
      )
      await new Promise(resolve => setTimeout(resolve, 1200))
      t.notOk(
        systemd.received.some(entry => entry.message.includes('READY=1')),
        'no READY=1 while the health check fails',
      )

      writeFileSync(healthy, '')
      const passedAt = Date.now() / 1000
      const ready = await systemd.next(entry => entry.message.includes('READY=1'), 'READY=1')
      t.ok(ready.at >= passedAt, `READY=1 came ${(ready.at - passedAt).toFixed(2)} s after the check could first pass`)
      t.equal(ready.message, `READY=1\nSTATUS=${names.web} healthy, ${names.worker} running`)
      await new Promise(resolve => setTimeout(resolve, 500))

      process.kill(contain.pid as number, 'SIGTERM')
      const result = await contain
      t.equal(result.exitCode, 0, `contain up ends cleanly: ${result.all}`)
      const stopping = await systemd.next(entry => entry.message.startsWith('STOPPING=1'), 'STOPPING=1', 5000)
      t.ok(stopping.at >= ready.at, 'STOPPING=1 after READY=1')
      t.match(stopping.message, /^STOPPING=1\nSTATUS=stopping: /)

      const watchdogs = systemd.received.filter(entry => entry.message === 'WATCHDOG=1').length
      t.ok(watchdogs >= 4, `WATCHDOG=1 every WATCHDOG_USEC/2: ${watchdogs} in about 2 s at 200 ms`)
      t.same(
        [...new Set(systemd.received.map(entry => entry.pid))],
        [contain.pid],
        "every message in contain's name (SCM_CREDENTIALS): what NotifyAccess=main accepts",
      )
      t.equal(systemd.received.filter(entry => entry.message.includes('READY=1')).length, 1, 'READY=1 once')
      t.match(result.all, new RegExp(`${names.web} +\\| notify=none watchdog=none`), 'the app gets neither NOTIFY_SOCKET nor WATCHDOG_USEC')
    } finally {
      await stop(contain)
      await stop(systemd.process)
    }
  })

  t.test('a notify socket that is not there: contain says so once and supervises on', async t => {
    const dir = t.testdir({'contain.yml': `apps:\n  ${names.worker}:\n    command: sh -c 'sleep 0.5; echo done'\n`, state: {}})
    const result = await execa(process.execPath, [containBin, 'up'], {
      cwd: dir,
      reject: false,
      all: true,
      env: {CONTAIN_STATE_DIR: join(dir, 'state'), NOTIFY_SOCKET: join(shortDir(t), 'nobody-listens.sock')},
    })
    t.equal(result.exitCode, 0, result.all)
    t.match(result.all, new RegExp(`${names.worker} +\\| done`))
    t.equal(result.stderr.match(/contain: cannot notify systemd/g)?.length, 1, `said once: ${result.stderr}`)
    t.match(result.stderr, /notify send: No such file or directory/)
  })

  t.test('contain-init notify: a user may not claim another pid; without --pid it sends as itself and waits for the reader', async t => {
    const dir = shortDir(t)
    chmodSync(dir, 0o755)
    const socket = join(dir, 'notify.sock')
    const systemd = await receiver(socket)
    try {
      const asNobody = {uid: 65534, gid: 65534, env: {NOTIFY_SOCKET: socket}, reject: false, all: true} as const
      const claimed = await execa(initBin, ['notify', '--pid', String(process.pid), 'READY=1'], asNobody)
      t.equal(claimed.exitCode, 125)
      t.match(claimed.all, /notify send \(--pid needs root\): Operation not permitted/)

      const own = execa(initBin, ['notify', '--barrier', 'READY=1'], asNobody)
      const result = await own
      t.equal(result.exitCode, 0, result.all)
      const ready = await systemd.next(entry => entry.message === 'READY=1', 'READY=1')
      t.equal(ready.pid, own.pid, 'in its own name')
      await systemd.next(entry => entry.message === 'BARRIER=1', 'the barrier')

      const abstract = await execa(initBin, ['notify', 'READY=1'], {env: {NOTIFY_SOCKET: '@contain-test-nobody-listens'}, reject: false, all: true})
      t.equal(abstract.exitCode, 125, 'an abstract socket nobody binds')
      t.match(abstract.all, /notify send: Connection refused/)
    } finally {
      await stop(systemd.process)
    }
  })
}
