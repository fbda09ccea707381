import {spawn} from 'node:child_process'
import {copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import t from 'tap'
import {stateRoot} from '../../../src/paths.js'
import {processStartTime} from '../../../src/process.js'
import {
  isSupervisorAlive,
  projectDir,
  projectKey,
  readState,
  removeState,
  stateFile,
  waitForSupervisorExit,
  writeState,
  type ProjectState,
} from '../../../src/supervisor/state.js'

function state(overrides: Partial<ProjectState> = {}): ProjectState {
  return {
    project: 'shop',
    file: '/srv/shop/contain.yml',
    supervisor: {pid: process.pid, startTime: processStartTime(process.pid) ?? ''},
    socket: '/run/contain/shop-00000000/control.sock',
    logsDir: '/run/contain/shop-00000000/logs',
    startedAt: '2026-11-29T12:00:00.000Z',
    ...overrides,
  }
}

/** Field 22 of /proc/PID/stat, read the plain way: fine for a process whose name has no spaces. */
function startTimeByHand(pid: number): string {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')
  return fields[21]
}

/** A child that has ended and been reaped: its pid names no process (until the kernel reuses it). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], {stdio: 'ignore'})
  await new Promise(resolve => child.on('exit', resolve))
  return child.pid ?? -1
}

t.test('writeState then readState gives the same state back', async t => {
  const dir = join(t.testdir(), 'project-1')
  const written = state()
  writeState(dir, written)
  t.strictSame(readState(dir), written)
  t.equal(stateFile(dir), join(dir, 'state.json'))
})

t.test('writeState creates the directory 0700 and the file 0600', async t => {
  const dir = join(t.testdir(), 'a', 'b', 'project')
  writeState(dir, state())
  t.equal(statSync(dir).mode & 0o777, 0o700)
  t.equal(statSync(stateFile(dir)).mode & 0o777, 0o600)
})

t.test('writeState replaces the file by rename, leaving no temporary file', async t => {
  const dir = t.testdir()
  writeState(dir, state({project: 'first'}))
  const before = statSync(stateFile(dir)).ino
  writeState(dir, state({project: 'second'}))
  t.equal(readState(dir)?.project, 'second')
  t.not(statSync(stateFile(dir)).ino, before, 'a new inode: the old file was replaced whole, never rewritten in place')
  t.strictSame(readdirSync(dir), ['state.json'], 'no .state.*.tmp left')
})

t.test('readers never see half a state while it is rewritten', async t => {
  const dir = t.testdir()
  const big = state({logsDir: 'x'.repeat(200_000)})
  writeState(dir, big)
  // A reader in another process polls for 500 ms while this one rewrites the file all along.
  const reader = spawn(
    process.execPath,
    [
      '-e',
      `
    const fs = require('node:fs')
    let reads = 0, bad = 0
    const end = Date.now() + 500
    while (Date.now() < end) {
      reads++
      try { JSON.parse(fs.readFileSync(${JSON.stringify(stateFile(dir))}, 'utf8')) } catch { bad++ }
    }
    process.stdout.write(JSON.stringify({reads, bad}))
  `,
    ],
    {stdio: ['ignore', 'pipe', 'inherit']},
  )
  let output = ''
  reader.stdout.on('data', chunk => (output += chunk))
  let closed = false
  reader.on('close', () => (closed = true))
  let writes = 0
  while (!closed) {
    writeState(dir, {...big, project: `p${writes++}`})
    await new Promise(resolve => setImmediate(resolve))
  }
  const {reads, bad} = JSON.parse(output) as {reads: number; bad: number}
  t.ok(reads > 0 && writes > 10, `${reads} reads during ${writes} writes`)
  t.equal(bad, 0, 'no read saw a torn or missing file')
})

t.test('readState: undefined for no file, an empty file or broken JSON', async t => {
  const dir = t.testdir({empty: {'state.json': ''}, broken: {'state.json': '{"project": '}, none: {}})
  t.equal(readState(join(dir, 'none')), undefined)
  t.equal(readState(join(dir, 'missing-dir')), undefined)
  t.equal(readState(join(dir, 'empty')), undefined)
  t.equal(readState(join(dir, 'broken')), undefined)
})

t.test('removeState removes state.json and the socket, keeps the logs', async t => {
  const dir = t.testdir({'state.json': '{}', 'control.sock': '', logs: {'web.log': 'line\n'}, 'supervisor.log': 'x'})
  removeState(dir)
  t.strictSame(readdirSync(dir).sort(), ['logs', 'supervisor.log'])
  removeState(dir)
  t.pass('removing again is fine')
})

t.test('processStartTime: field 22 of /proc/PID/stat, for this process and pid 1', async t => {
  const mine = processStartTime(process.pid)
  t.match(mine, /^\d+$/)
  t.equal(mine, startTimeByHand(process.pid))
  t.equal(processStartTime(process.pid), mine, 'stable')
  const child = spawn('sleep', ['5'], {stdio: 'ignore'})
  t.teardown(() => child.kill())
  await new Promise(resolve => child.on('spawn', resolve))
  t.ok(Number(processStartTime(child.pid ?? -1)) >= Number(mine), 'a later process starts later')
})

t.test('processStartTime: a process whose name holds spaces and parentheses', async t => {
  // The name is the executable's file name, so copy `sleep` to a name that breaks naive parsing.
  const dir = t.testdir()
  const tricky = join(dir, 'a) b (c')
  copyFileSync('/bin/sleep', tricky)
  const child = spawn(tricky, ['5'], {stdio: 'ignore', argv0: tricky})
  t.teardown(() => child.kill())
  await new Promise(resolve => child.on('spawn', resolve))
  // Wait for the exec to replace node's fork with the copy (the name changes then).
  const pid = child.pid ?? -1
  const deadline = Date.now() + 5000
  while (!readFileSync(`/proc/${pid}/stat`, 'utf8').includes('(a) b (c)') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 5))
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  t.match(stat, '(a) b (c)', 'the name really has them')
  const expected = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  t.match(expected, /^\d+$/)
  t.equal(processStartTime(pid), expected)
  t.not(stat.split(' ')[21], expected, 'splitting the whole line on spaces would have read another field')
})

t.test('processStartTime: undefined for a pid that does not exist', async t => {
  t.equal(processStartTime(await deadPid()), undefined)
  t.equal(processStartTime(2 ** 22 + 1), undefined, 'above pid_max')
})

t.test('isSupervisorAlive: only a live pid with the recorded start time', async t => {
  t.equal(isSupervisorAlive(state()), true, 'this process, its start time')
  t.equal(
    isSupervisorAlive(state({supervisor: {pid: process.pid, startTime: String(Number(processStartTime(process.pid)) + 1)}})),
    false,
    'same pid, another start time: the pid was reused',
  )
  t.equal(isSupervisorAlive(state({supervisor: {pid: process.pid, startTime: ''}})), false, 'no start time recorded')
  t.equal(isSupervisorAlive(state({supervisor: {pid: await deadPid(), startTime: processStartTime(process.pid) ?? ''}})), false, 'a dead pid')
})

t.test('isSupervisorAlive: a supervisor that has exited but is not yet reaped (a zombie) is not alive', async t => {
  // `sleep 0.05 &` is a child of the shell that then execs `sleep 5`, which never reaps it: for
  // those 5 s it is a zombie, as a detached supervisor is until PID 1 reaps it.
  const parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 5'], {stdio: ['ignore', 'pipe', 'ignore']})
  t.teardown(() => parent.kill())
  const pid = Number(await new Promise<string>(resolve => parent.stdout.once('data', chunk => resolve(String(chunk)))))
  const startTime = processStartTime(pid) ?? ''
  const deadline = Date.now() + 5000
  const stateOf = () => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    } catch {
      return 'gone'
    }
  }
  while (stateOf() !== 'Z' && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 5))
  t.equal(stateOf(), 'Z', 'the child is a zombie now')
  // /proc/PID/stat outlives the process until it is reaped, with the same start time; counting it as
  // alive made contain down wait (seconds on this host) for PID 1 to reap the detached supervisor.
  t.equal(isSupervisorAlive(state({supervisor: {pid, startTime}})), false, 'not alive')
})

t.test('waitForSupervisorExit: returns once the process has gone, or at the timeout', async t => {
  const child = spawn('sleep', ['0.2'], {stdio: 'ignore'})
  await new Promise(resolve => child.on('spawn', resolve))
  const pid = child.pid ?? -1
  // Reap it as soon as it exits, as the supervisor's parent would.
  const exited = new Promise(resolve => child.on('exit', resolve))
  const started = Date.now()
  await waitForSupervisorExit(state({supervisor: {pid, startTime: processStartTime(pid) ?? ''}}), 5000)
  await exited
  t.ok(Date.now() - started < 4000, `returned after ${Date.now() - started} ms`)
  const timeoutStart = Date.now()
  await waitForSupervisorExit(state(), 100)
  t.ok(Date.now() - timeoutStart >= 90, 'a live supervisor: waits the whole timeout')
})

t.test('stateRoot: $CONTAIN_STATE_DIR first, then by user', async t => {
  t.equal(stateRoot({CONTAIN_STATE_DIR: '/tmp/x'}), '/tmp/x')
  const uid = process.getuid?.()
  if (uid === 0) t.equal(stateRoot({}), '/run/contain', 'root')
  else {
    t.equal(stateRoot({XDG_RUNTIME_DIR: '/run/user/1000'}), '/run/user/1000/contain')
    t.equal(stateRoot({}), `/tmp/contain-${uid}/contain`)
  }
})

t.test('projectDir: below the state root, named after the directory, stable', async t => {
  const env = {CONTAIN_STATE_DIR: '/state'}
  const dir = projectDir('/srv/shop/contain.yml', env)
  t.match(dir, /^\/state\/shop-[0-9a-f]{8}$/)
  t.equal(projectDir('/srv/shop/contain.yml', env), dir, 'the same every time')
  t.equal(projectDir('/srv/shop/Procfile', env), dir, 'the project is its directory, whichever file')
  t.equal(projectDir('/srv/shop/contain.yml', {CONTAIN_STATE_DIR: '/elsewhere'}), join('/elsewhere', basename(dir)), 'only the root moves')
})

t.test('projectDir: two directories with the same name do not collide', async t => {
  const env = {CONTAIN_STATE_DIR: '/state'}
  const a = projectDir('/srv/a/app/contain.yml', env)
  const b = projectDir('/srv/b/app/contain.yml', env)
  t.match(a, /^\/state\/app-[0-9a-f]{8}$/)
  t.match(b, /^\/state\/app-[0-9a-f]{8}$/)
  t.not(a, b)
  // Many same-named directories: every one gets its own state directory.
  const many = new Set(Array.from({length: 2000}, (_, i) => projectDir(`/home/u${i}/app/contain.yml`, env)))
  t.equal(many.size, 2000)
})

t.test('projectDir: names that are not safe as a file name', async t => {
  const env = {CONTAIN_STATE_DIR: '/state'}
  t.match(projectDir('/srv/my shop!/contain.yml', env), /^\/state\/my-shop--[0-9a-f]{8}$/)
  t.match(projectDir('/srv/.hidden/contain.yml', env), /^\/state\/hidden-[0-9a-f]{8}$/, 'no leading dot')
  t.match(projectDir('/srv/../x/contain.yml', env), /^\/state\/x-[0-9a-f]{8}$/)
  t.match(projectDir('/contain.yml', env), /^\/state\/project-[0-9a-f]{8}$/, 'the root directory')
  t.match(projectDir('/srv/ünïcode/contain.yml', env), /^\/state\/n-code-[0-9a-f]{8}$/, 'each unsafe character becomes -, leading ones go')
  t.equal(dirname(projectDir('/srv/a/contain.yml', env)), '/state', 'always one level below the root')
})

t.test('projectDir: the same project reached through a symlink is the same project', async t => {
  const root = t.testdir({releases: {'5': {'contain.yml': 'apps: {}\n'}}})
  mkdirSync(join(root, 'links'))
  symlinkSync(join(root, 'releases/5'), join(root, 'links/current'))
  const env = {CONTAIN_STATE_DIR: '/state'}
  // `contain up -f current/contain.yml` and `contain ps` run inside releases/5 (whose cwd is the
  // resolved path) must find one supervisor.
  t.equal(projectDir(join(root, 'links/current/contain.yml'), env), projectDir(join(root, 'releases/5/contain.yml'), env), 'one state directory')
})

t.test('projectKey: the name and the hash of the directory, so two directories with one name never share cgroups', async t => {
  const root = t.testdir({a: {app: {'contain.yml': ''}}, b: {app: {'contain.yml': ''}}})
  const a = projectKey({name: 'shop', file: join(root, 'a/app/contain.yml')})
  const b = projectKey({name: 'shop', file: join(root, 'b/app/contain.yml')})
  t.match(a, /^shop-[0-9a-f]{8}$/)
  t.not(a, b)
  t.equal(a.slice(-8), basename(projectDir(join(root, 'a/app/contain.yml'))).slice(-8), 'the same hash as the state directory')
  symlinkSync(join(root, 'a/app'), join(root, 'current'))
  t.equal(projectKey({name: 'shop', file: join(root, 'current/contain.yml')}), a, 'the same through a symlink')
})
