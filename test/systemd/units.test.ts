/**
 * The unit `contain systemd` writes, under a real systemd (252, PID 1, pure cgroup v2): run only
 * inside the systemd guest (test/vm/run-in-systemd-vm.sh; `npm test -- --only=systemd`), one
 * boot for the whole file. Every exec there is about ten times slower than on the host, so the
 * project is tiny: a Node.js HTTP server with an http health check (the Rails example takes
 * minutes to boot under User-Mode Linux) and an app that allocates memory on request.
 *
 * In order, on one unit: start blocks until READY=1 (after the health check), StatusText is
 * contain's STATUS (no restart after a clean start), journalctl -t APP shows that app's records
 * alone (item 6), an app killed inside is restarted by contain while the unit stays active, the
 * unit's own MemoryMax= and CPUQuota= (a drop-in) bound the apps (an app allocating past
 * MemoryMax is OOM-killed and restarted, the unit stays), systemctl reload applies a changed
 * contain.yml (when the unit has ExecReload=), systemctl kill -s KILL of the main process makes
 * systemd restart the unit with no app of the old one left, and systemctl stop is graceful and
 * leaves no cgroup.
 *
 * Then, on a second unit written with --socket-units: its .socket unit holds the port before the
 * service runs, a first connection starts the service and is answered by the app on the socket
 * systemd bound (contain passes it on, never binds it again), and systemctl reload recreates the
 * app while connections made meanwhile are accepted and wait: none is refused.
 *
 * Last, a hand-written .socket unit whose service runs `contain run --listen`: the first connection
 * starts it, and the app answers on the socket systemd passed to contain run.
 */
import {execa} from 'execa'
import {existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {containBin, skipFile} from '../integration/helpers.js'

const UNIT = 'contain-sdtest.service'
const UNIT_FILE = `/etc/systemd/system/${UNIT}`
const PROJECT = '/srv/contain-sdtest'
const UNIT_CGROUP = `/sys/fs/cgroup/system.slice/${UNIT}`
const MEMORY_MAX = 256 * 2 ** 20

const SERVER = `const http = require('http')
console.log('web started RELOADED=' + (process.env.RELOADED || 'no'))
console.error('web says this on stderr')
process.on('SIGTERM', () => { console.log('web stopping gracefully'); process.exit(0) })
http.createServer((request, response) => response.end('ok\\n')).listen(8080, '127.0.0.1')
`
// Grows by 16 MiB every 100 ms while the file "grow" exists in its directory.
const HOG = `const fs = require('fs')
const kept = []
console.log('hog started')
setInterval(() => { if (fs.existsSync('grow')) kept.push(Buffer.alloc(16 << 20, 1)) }, 100)
`
const projectFile = (reloaded = false) => `name: sdtest
apps:
  web:
    command: node server.js
    restart: always
    cpus: 0.5
    mem_limit: 128m
${reloaded ? '    environment: {RELOADED: "yes"}\n' : ''}    healthcheck: {test: {http: "http://127.0.0.1:8080/"}, interval: 1s, timeout: 2s, retries: 60}
  hog:
    command: node hog.js
    restart: always
    mem_limit: 1g
`

const SOCKET_PROJECT = '/srv/contain-sdsock'
const SOCKET_SERVICE = 'contain-sdsock-web.service'
const SOCKET_UNIT = 'contain-sdsock-web.socket'
const SOCKET_PORT = 8090
// Serves on the socket it is given (fd 3) after a short boot, answering "RELOADED=..." and the inode of its socket.
const SOCKET_SERVER = `const http = require('http')
const fs = require('fs')
if (process.env.LISTEN_FDS !== '1') throw new Error('no socket passed: LISTEN_FDS=' + process.env.LISTEN_FDS)
const inode = fs.readlinkSync('/proc/self/fd/3')
process.on('SIGTERM', () => process.exit(0))
setTimeout(() => http.createServer((request, response) => response.end(process.env.RELOADED + ' ' + inode + '\\n')).listen({fd: 3}), 500)
`
const socketProjectFile = (reloaded: string) => `name: sdsock
apps:
  web:
    command: node server.js
    listen: ["tcp://127.0.0.1:${SOCKET_PORT}"]
    environment: {RELOADED: "${reloaded}"}
    restart: always
    stop_grace_period: 5s
    healthcheck: {test: {http: "http://127.0.0.1:${SOCKET_PORT}/"}, interval: 500ms, timeout: 2s, retries: 60}
`

// A service of one's own whose ExecStart= is contain run --listen, behind a .socket unit.
const RUN_PROJECT = '/srv/contain-sdrun'
const RUN_SERVICE = 'contain-sdrun.service'
const RUN_SOCKET = 'contain-sdrun.socket'
const RUN_PORT = 8095

if (process.env.RUNVM_SYSTEMD !== '1') {
  skipFile(t, 'runs only inside the systemd guest: npm test -- --only=systemd (test/vm/run-in-systemd-vm.sh)')
} else {
  run()
  runSocketUnits()
  runSocketActivatedRun()
}

async function systemctl(...args: string[]): Promise<string> {
  return (await execa('systemctl', args)).stdout.trim()
}

async function show(property: string): Promise<string> {
  return systemctl('show', '-p', property, '--value', UNIT)
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: Error | undefined
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      last = error as Error
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`)
    await new Promise(resolve => setTimeout(resolve, 500))
  }
}

interface AppStatus {
  name: string
  state: string
  restarts: number
  health: string
  lastExit?: {exitCode: number; signal?: string; oomKilled: boolean; error?: string}
}

async function ps(): Promise<Record<string, AppStatus>> {
  const {stdout} = await execa('node', [containBin, 'ps', '-f', join(PROJECT, 'contain.yml'), '--json'])
  return Object.fromEntries((JSON.parse(stdout) as AppStatus[]).map(app => [app.name, app]))
}

interface JournalEntry {
  MESSAGE: string
  PRIORITY: string
  SYSLOG_IDENTIFIER?: string
  CONTAIN_PROJECT?: string
  CONTAIN_APP?: string
  _SYSTEMD_UNIT?: string
}

async function journal(...args: string[]): Promise<JournalEntry[]> {
  const {stdout} = await execa('journalctl', ['-u', UNIT, '-o', 'json', '--no-pager', ...args])
  return stdout
    .split('\n')
    .filter(Boolean)
    .map(line => JSON.parse(line) as JournalEntry)
}

/** Every process in the cgroups below `dir` (recursively), with its command line. */
function processesBelow(dir: string): Array<{pid: number; cmdline: string}> {
  if (!existsSync(dir)) return []
  const found: Array<{pid: number; cmdline: string}> = []
  for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
    try {
      found.push({pid: Number(pid), cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()})
    } catch {
      // ended meanwhile
    }
  }
  for (const entry of readdirSync(dir, {withFileTypes: true})) if (entry.isDirectory()) found.push(...processesBelow(join(dir, entry.name)))
  return found
}

/** The cgroup directory of an app, wherever below the unit contain puts it. */
function appCgroup(app: string): string | undefined {
  const search = (dir: string): string | undefined => {
    for (const entry of readdirSync(dir, {withFileTypes: true})) {
      if (!entry.isDirectory()) continue
      if (entry.name === app || entry.name === `contain-${app}`) return join(dir, entry.name)
      const below = search(join(dir, entry.name))
      if (below) return below
    }
    return undefined
  }
  return existsSync(UNIT_CGROUP) ? search(UNIT_CGROUP) : undefined
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function run(): void {
  t.teardown(async () => {
    await execa('systemctl', ['stop', UNIT], {reject: false})
    rmSync(`${UNIT_FILE}.d`, {recursive: true, force: true})
    rmSync(UNIT_FILE, {force: true})
    await execa('systemctl', ['daemon-reload'], {reject: false})
    rmSync(PROJECT, {recursive: true, force: true})
  })

  t.test('the unit contain systemd writes, under systemd', async t => {
    mkdirSync(PROJECT, {recursive: true, mode: 0o755})
    writeFileSync(join(PROJECT, 'server.js'), SERVER)
    writeFileSync(join(PROJECT, 'hog.js'), HOG)
    writeFileSync(join(PROJECT, 'contain.yml'), projectFile())
    await execa('node', [containBin, 'systemd', '-f', join(PROJECT, 'contain.yml'), 'web', 'hog', '--output', UNIT_FILE])
    const unitText = readFileSync(UNIT_FILE, 'utf8')
    // The unit's own limits, above contain's, as an operator would add them.
    mkdirSync(`${UNIT_FILE}.d`, {recursive: true})
    writeFileSync(`${UNIT_FILE}.d/limits.conf`, `[Service]\nMemoryMax=${MEMORY_MAX}\nMemorySwapMax=0\nCPUQuota=50%\n`)
    await systemctl('daemon-reload')

    let mainPid = 0
    await t.test('systemctl start returns once READY=1 came, after the health check passed', async t => {
      const started = Date.now()
      await systemctl('start', UNIT)
      t.comment(`systemctl start took ${Date.now() - started} ms`)
      t.equal(await show('ActiveState'), 'active')
      const response = await fetch('http://127.0.0.1:8080/')
      t.equal(response.status, 200, 'web answers as soon as start returns: READY=1 waited for its health check')
      mainPid = Number(await show('MainPID'))
      t.match(readFileSync(`/proc/${mainPid}/cmdline`, 'utf8'), /bin\/run\.js\0up\0/, 'contain up is the main process')
    })

    await t.test("StatusText is contain's STATUS, without a restart after a clean start", async t => {
      const status = await show('StatusText')
      t.equal(status, 'web healthy, hog running', 'READY=1 came with both up; no "(1 restart)": nothing restarted during a clean start')
    })

    await t.test("journalctl -u UNIT -t APP: each app's lines alone, as real records", async t => {
      const web = await until("web's lines in the journal", async () => {
        const entries = await journal('-t', 'web')
        return entries.some(entry => entry.MESSAGE === 'web says this on stderr') && entries
      })
      t.ok(
        web.every(
          entry => entry.SYSLOG_IDENTIFIER === 'web' && entry.CONTAIN_APP === 'web' && entry.CONTAIN_PROJECT === 'sdtest' && entry._SYSTEMD_UNIT === UNIT,
        ),
        'every record: identifier web, CONTAIN_APP, CONTAIN_PROJECT, the unit',
      )
      t.equal(web.find(entry => entry.MESSAGE === 'web started RELOADED=no')?.PRIORITY, '6', 'stdout: priority 6 (info)')
      t.equal(web.find(entry => entry.MESSAGE === 'web says this on stderr')?.PRIORITY, '3', 'stderr: priority 3 (err)')
      const hog = await until("hog's line in the journal", async () => {
        const entries = await journal('-t', 'hog')
        return entries.length > 0 && entries
      })
      t.strictSame(
        hog.map(entry => entry.MESSAGE),
        ['hog started'],
        'hog alone',
      )
      const all = await journal()
      t.notOk(
        all.some(entry => / \| (web|hog) (started|says)/.test(entry.MESSAGE)),
        'no line as "web | ..." on contain\'s stdout',
      )
    })

    await t.test('an app killed inside is restarted by contain; the unit stays active, its main process the same', async t => {
      const cgroup = appCgroup('web')
      t.ok(cgroup, 'web has a cgroup below the unit')
      const servers = processesBelow(cgroup as string).filter(process => process.cmdline.includes('server.js'))
      t.ok(servers.length > 0, 'found the server process')
      // The app's PID 1 (contain-init, whose argv names server.js too) may be listed first: killing it
      // ends the server with it, so a pid already gone is not an error.
      for (const server of servers) {
        try {
          process.kill(server.pid, 'SIGKILL')
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
        }
      }
      await until('web restarted and healthy', async () => /web healthy \(1 restart\)/.test(await show('StatusText')))
      t.equal(await show('ActiveState'), 'active')
      t.equal(Number(await show('MainPID')), mainPid, 'systemd did not restart the unit: contain restarted the app')
    })

    await t.test("the unit's MemoryMax= and CPUQuota= bound the apps below it", async t => {
      t.equal(readFileSync(join(UNIT_CGROUP, 'memory.max'), 'utf8').trim(), String(MEMORY_MAX))
      t.equal(readFileSync(join(UNIT_CGROUP, 'cpu.max'), 'utf8').trim(), '50000 100000', 'CPUQuota=50%')
      const hogCgroup = appCgroup('hog') as string
      t.ok(hogCgroup?.startsWith(`${UNIT_CGROUP}/`), "hog's cgroup is below the unit's")
      writeFileSync(join(PROJECT, 'grow'), '')
      // The first restart: hog grows again in its next run, until the file is gone.
      await until('hog OOM-killed and restarted', async () => /hog \S.*\(\d+ restarts?\)/.test(await show('StatusText')), 90_000)
      rmSync(join(PROJECT, 'grow'))
      const hog = (await ps()).hog
      t.ok(hog.lastExit?.oomKilled || hog.lastExit?.signal === 'SIGKILL', `hog was OOM-killed (${JSON.stringify(hog.lastExit)})`)
      const peak = Number(readFileSync(join(UNIT_CGROUP, 'memory.peak'), 'utf8').trim())
      // The kernel lets a task it has OOM-killed charge past memory.max on its way out (try_charge's
      // "force" in mm/memcontrol.c: a dying task must be able to exit), a page or a few: CI saw one.
      const dyingVictimPages = 64 * 4096
      if (Number.isFinite(peak))
        t.ok(
          peak <= MEMORY_MAX + dyingVictimPages,
          `the unit never used more than its MemoryMax, but for what the OOM victim took on its way out (peak ${peak})`,
        )
      t.equal(await show('ActiveState'), 'active', 'OOMPolicy=continue: the unit stays')
      t.equal(Number(await show('MainPID')), mainPid, 'contain was not the one killed')
      await until('hog running again', async () => /hog running/.test(await show('StatusText')))
    })

    await t.test('systemctl reload applies a changed contain.yml', async t => {
      if (!/^ExecReload=/m.test(unitText)) {
        t.plan(0, 'the generated unit has no ExecReload= yet (issue 12 item 2, "deploy": contain up applying changes)')
        return
      }
      writeFileSync(join(PROJECT, 'contain.yml'), projectFile(true))
      await systemctl('reload', UNIT)
      await until('web restarted with the new environment', async () =>
        (await journal('-t', 'web')).some(entry => entry.MESSAGE === 'web started RELOADED=yes'),
      )
      t.equal(await show('ActiveState'), 'active')
      t.equal(Number(await show('MainPID')), mainPid, 'reloaded in place')
    })

    await t.test('systemctl kill -s KILL of the main process: systemd restarts the unit, no app of the old one is left', async t => {
      const old = processesBelow(UNIT_CGROUP).filter(process => process.pid !== mainPid)
      t.ok(
        old.some(process => process.cmdline.includes('server.js')),
        'the apps run before the kill',
      )
      await systemctl('kill', '-s', 'KILL', '--kill-whom=main', UNIT)
      const next = await until(
        'the unit restarted by systemd',
        async () => {
          const pid = Number(await show('MainPID'))
          return pid !== mainPid && pid > 0 && (await show('ActiveState')) === 'active' && pid
        },
        90_000,
      )
      t.equal(await show('NRestarts'), '1', 'Restart=on-abnormal: systemd restarted contain once')
      t.same(
        old.filter(process => alive(process.pid) && readFileSync(`/proc/${process.pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() === process.cmdline),
        [],
        'no process of the old apps is left',
      )
      mainPid = next
      await until('web healthy again', async () => /web healthy/.test(await show('StatusText')))
    })

    await t.test('systemctl stop is graceful and leaves no cgroup', async t => {
      const since = new Date(Date.now() - 1000).toISOString().replace('T', ' ').slice(0, 19)
      const started = Date.now()
      await systemctl('stop', UNIT)
      t.comment(`systemctl stop took ${Date.now() - started} ms`)
      t.equal(await show('ActiveState'), 'inactive')
      t.equal(await show('Result'), 'success', 'contain exited by itself, before TimeoutStopSec')
      t.notOk(existsSync(UNIT_CGROUP), "the unit's cgroup is gone, with every app cgroup below it")
      const stopping = await until("web's goodbye in the journal", async () =>
        (await journal('-t', 'web', '--since', since)).some(entry => entry.MESSAGE === 'web stopping gracefully'),
      )
      t.ok(stopping, 'web got its stop_signal and ended by itself')
      t.notOk(
        statSync('/run/contain', {throwIfNoEntry: false})?.isDirectory() &&
          readdirSync('/run/contain').some(name => name.includes('sdtest') && existsSync(join('/run/contain', name, 'state.json'))),
        'no state left',
      )
    })
  })
}

/** One GET on a fresh connection: the body, or the error's code. */
async function getOnce(port: number): Promise<{body?: string; error?: string}> {
  const http = await import('node:http')
  return new Promise(resolve => {
    const request = http.request({host: '127.0.0.1', port, path: '/', agent: false, timeout: 60_000}, response => {
      let body = ''
      response.on('data', chunk => (body += chunk))
      response.on('end', () => resolve({body: body.trim()}))
      response.on('error', error => resolve({error: (error as NodeJS.ErrnoException).code ?? error.message}))
    })
    request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), {code: 'TIMEOUT'})))
    request.on('error', error => resolve({error: (error as NodeJS.ErrnoException).code ?? error.message}))
    request.end()
  })
}

/** The socket inodes PID 1 (systemd) holds. */
function systemdSockets(): Set<string> {
  const found = new Set<string>()
  for (const fd of readdirSync('/proc/1/fd')) {
    try {
      const link = readlinkSync(`/proc/1/fd/${fd}`)
      if (link.startsWith('socket:')) found.add(link)
    } catch {
      // closed meanwhile
    }
  }
  return found
}

function runSocketUnits(): void {
  t.teardown(async () => {
    await execa('systemctl', ['stop', SOCKET_SERVICE, SOCKET_UNIT], {reject: false})
    rmSync(`/etc/systemd/system/${SOCKET_SERVICE}`, {force: true})
    rmSync(`/etc/systemd/system/${SOCKET_UNIT}`, {force: true})
    await execa('systemctl', ['daemon-reload'], {reject: false})
    rmSync(SOCKET_PROJECT, {recursive: true, force: true})
  })

  t.test('contain systemd --socket-units: systemd holds the port, contain passes it on', async t => {
    mkdirSync(SOCKET_PROJECT, {recursive: true, mode: 0o755})
    writeFileSync(join(SOCKET_PROJECT, 'server.js'), SOCKET_SERVER)
    writeFileSync(join(SOCKET_PROJECT, 'contain.yml'), socketProjectFile('no'))
    await execa('node', [
      containBin,
      'systemd',
      '-f',
      join(SOCKET_PROJECT, 'contain.yml'),
      'web',
      '--socket-units',
      '--output',
      `/etc/systemd/system/${SOCKET_SERVICE}`,
    ])
    t.ok(existsSync(`/etc/systemd/system/${SOCKET_UNIT}`), 'the .socket unit is written beside the service')
    await systemctl('daemon-reload')

    await t.test("the socket unit holds the port; a first connection starts the service and is answered on systemd's socket", async t => {
      await systemctl('start', SOCKET_UNIT)
      t.equal(await systemctl('show', '-p', 'ActiveState', '--value', SOCKET_SERVICE), 'inactive', 'only the socket runs')
      const answer = await getOnce(SOCKET_PORT)
      t.match(answer.body ?? '', /^no socket:\[\d+\]$/, `the app answered the connection that started it: ${JSON.stringify(answer)}`)
      const inode = answer.body?.split(' ')[1] ?? ''
      t.ok(systemdSockets().has(inode), `the app serves on the socket systemd bound (${inode}): contain did not bind it again`)
      t.equal(await systemctl('show', '-p', 'ActiveState', '--value', SOCKET_SERVICE), 'active')
    })

    await t.test('systemctl reload recreates the app; connections made meanwhile are accepted, none refused', async t => {
      writeFileSync(join(SOCKET_PROJECT, 'contain.yml'), socketProjectFile('yes'))
      const outcomes: Array<{body?: string; error?: string}> = []
      let running = true
      const client = async () => {
        while (running) {
          const result = await getOnce(SOCKET_PORT)
          outcomes.push(result)
          if (result.body?.startsWith('yes ')) running = false
          if (result.error) await new Promise(resolve => setTimeout(resolve, 50))
        }
      }
      const clients = [client(), client()]
      await systemctl('reload', SOCKET_SERVICE)
      const deadline = setTimeout(() => (running = false), 120_000)
      await Promise.all(clients)
      clearTimeout(deadline)
      const refused = outcomes.filter(result => result.error === 'ECONNREFUSED').length
      t.ok(
        outcomes.some(result => result.body?.startsWith('yes ')),
        `the recreated app answers (${outcomes.length} requests)`,
      )
      t.equal(
        refused,
        0,
        `no connection refused during the reload (other failures: ${JSON.stringify(outcomes.filter(result => result.error && result.error !== 'ECONNREFUSED'))})`,
      )
    })
  })
}

function runSocketActivatedRun(): void {
  t.teardown(async () => {
    await execa('systemctl', ['stop', RUN_SERVICE, RUN_SOCKET], {reject: false})
    rmSync(`/etc/systemd/system/${RUN_SERVICE}`, {force: true})
    rmSync(`/etc/systemd/system/${RUN_SOCKET}`, {force: true})
    await execa('systemctl', ['daemon-reload'], {reject: false})
    rmSync(RUN_PROJECT, {recursive: true, force: true})
  })

  t.test('contain run --listen as the ExecStart= of a socket-activated service: the app serves on the socket systemd passed', async t => {
    mkdirSync(RUN_PROJECT, {recursive: true, mode: 0o755})
    writeFileSync(join(RUN_PROJECT, 'server.js'), SOCKET_SERVER)
    writeFileSync(`/etc/systemd/system/${RUN_SOCKET}`, `[Socket]\nListenStream=127.0.0.1:${RUN_PORT}\n`)
    writeFileSync(
      `/etc/systemd/system/${RUN_SERVICE}`,
      `[Service]\nWorkingDirectory=${RUN_PROJECT}\nDelegate=yes\n` +
        `ExecStart=${process.execPath} ${containBin} run --name sdrun -u 0 -e RELOADED=run --listen tcp://127.0.0.1:${RUN_PORT} -- ${process.execPath} server.js\n`,
    )
    await systemctl('daemon-reload')
    await systemctl('start', RUN_SOCKET)
    t.equal(await systemctl('show', '-p', 'ActiveState', '--value', RUN_SERVICE), 'inactive', 'only the socket runs')
    const answer = await getOnce(RUN_PORT)
    t.match(answer.body ?? '', /^run socket:\[\d+\]$/, `the app answered the connection that started it: ${JSON.stringify(answer)}`)
    const inode = answer.body?.split(' ')[1] ?? ''
    t.ok(systemdSockets().has(inode), `the app serves on the socket systemd bound (${inode}): contain run did not bind it again`)
    t.equal(await systemctl('show', '-p', 'ActiveState', '--value', RUN_SERVICE), 'active', 'the service runs')
  })
}
