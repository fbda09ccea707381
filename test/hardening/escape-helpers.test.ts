/**
 * Escape attempts aimed at contain's own helpers rather than at the kernel's walls: what the app
 * inherits (descriptors, environment), what root-side code reads that the app controls (log
 * files, the state directory, health check output), and the helpers' own processes. Each attempt
 * is made for real, from inside a contained app or with what an app could have planted; every
 * one must fail, and the suite says how many were tried and how many held.
 */
import {execa} from 'execa'
import {chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {cli, figure, inGuest, nested, requireRoot, settledLeftovers, sleep, startCli, testdir, token, until, skipFile} from './helpers.js'

const mark = token('eh')
const python = '/usr/bin/python3'

interface Tally {
  attempts: number
  held: number
  failures: string[]
}
const tally: Tally = {attempts: 0, held: 0, failures: []}

/** One attempt: `held` says the protection held; the message names what was tried. */
function attempt(t: Test, held: boolean, what: string): void {
  tally.attempts++
  if (held) tally.held++
  else tally.failures.push(what)
  t.ok(held, what)
}

/** The open descriptors of the probing process itself, by fstat (listing /proc/self/fd would open one more). */
const COUNT_FDS = `import os
fds = []
for fd in range(0, 4096):
    try:
        os.fstat(fd); fds.append(fd)
    except OSError:
        pass
print(",".join(map(str, fds)))`

/** Reads the memory, environment and ptrace of PID 1 (contain-init, which holds every capability the app lacks). */
const PROBE_PID1 = `import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def attempt(name, action):
    try:
        action(); print(name, 0)
    except OSError as error:
        print(name, error.errno)
def read(path):
    with open(path, "rb") as f:
        f.read(16)
attempt("pid1_mem", lambda: read("/proc/1/mem"))
attempt("pid1_environ", lambda: read("/proc/1/environ"))
def ptrace():
    if libc.ptrace(16, 1, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "ptrace")
    libc.ptrace(17, 1, 0, 0)
attempt("pid1_ptrace", ptrace)`

async function supervisorPid(dir: string, env: Record<string, string>): Promise<number | undefined> {
  const stateRoot = env.CONTAIN_STATE_DIR
  for (const project of existsSync(stateRoot) ? readdirSync(stateRoot) : []) {
    try {
      return JSON.parse(readFileSync(join(stateRoot, project, 'state.json'), 'utf8')).supervisor.pid as number
    } catch {
      // Not this one.
    }
  }
  return undefined
}

/** `contain up` of a project in `dir`, in the background (the foreground when nested); returns what stops it. */
async function up(t: Test, dir: string, env: Record<string, string>, app: string, {someFail = false} = {}): Promise<() => Promise<void>> {
  let foreground: ReturnType<typeof startCli> | undefined
  if (nested) {
    foreground = startCli(['up', '--no-color'], {cwd: dir, env, timeoutMs: 300_000})
  } else {
    const started = await cli(['up', '-d'], {cwd: dir, env})
    if (someFail) t.not(started.exitCode, 0, `contain up -d says which apps could not start: ${started.stderr.trim().split('\n')[0]}`)
    else t.equal(started.exitCode, 0, `contain up -d: ${started.stderr}`)
  }
  await until(
    async () =>
      JSON.parse((await cli(['ps', '--json'], {cwd: dir, env})).stdout || '[]').find((status: {name: string}) => status.name === app)?.state === 'running',
    `${app} running`,
    60_000,
    250,
  )
  return async () => {
    await cli(['down'], {cwd: dir, env})
    await foreground
  }
}

/** Serves a unix socket as another user and answers every connection with an empty status list, logging what it was sent. */
const FOREIGN_SERVER = `import os, socket, sys
# Bound by its name in the current directory: the fixture's full path is longer than sockaddr_un holds.
os.chdir(os.path.dirname(sys.argv[1]))
server = socket.socket(socket.AF_UNIX)
server.bind(os.path.basename(sys.argv[1])); server.listen(8); print("ready", flush=True)
while True:
    connection, _ = server.accept()
    connection.settimeout(2)
    try:
        data = connection.recv(65536)
    except OSError:
        data = b""
    with open(sys.argv[2], "ab") as log:
        log.write(data)
    try:
        connection.sendall(b'{"result":[]}\\n')
    except OSError:
        pass
    connection.close()`

/**
 * A socket that passes every owner and mode check (root's, 0600, in the project's own 0700
 * directory) but is served by nobody: bound by a process running as nobody, then moved over the
 * supervisor's socket (a socket keeps its server across a rename). Without the peer check the
 * client would send its request to it and print its made-up answer.
 */
async function refusesForeignPeer(t: Test, dir: string, projectDir: string, env: Record<string, string>): Promise<void> {
  const nobody = join(dir, 'nobody')
  mkdirSync(nobody)
  chownSync(nobody, 65534, 65534)
  const socket = join(nobody, 's')
  const received = join(nobody, 'received')
  const control = join(projectDir, 'control.sock')
  const server = execa(python, ['-c', FOREIGN_SERVER, socket, received], {uid: 65534, gid: 65534, reject: false})
  try {
    await until(() => existsSync(socket) || server.exitCode !== null, 'the foreign server is listening')
    t.ok(existsSync(socket), `the foreign server listens as nobody${server.exitCode === null ? '' : `: it ended, ${(await server).stderr}`}`)
    renameSync(control, `${control}.real`)
    renameSync(socket, control)
    chownSync(control, 0, 0)
    chmodSync(control, 0o600)
    const ps = await cli(['ps', '--json'], {cwd: dir, env})
    attempt(
      t,
      ps.exitCode === 125 && /served by uid 65534/.test(ps.stderr),
      `a control socket served by another user (uid 65534) is refused: exit ${ps.exitCode}, ${ps.stderr.trim().split('\n')[0]}`,
    )
    attempt(t, !existsSync(received) || readFileSync(received, 'utf8') === '', 'the client sent it nothing')
  } finally {
    server.kill('SIGKILL')
    await server
    if (existsSync(`${control}.real`)) renameSync(`${control}.real`, control)
  }
  const again = await cli(['ps'], {cwd: dir, env})
  t.equal(again.exitCode, 0, `the supervisor's own socket is answered again: ${again.stderr}`)
}

if (process.arch !== 'x64') {
  skipFile(t, `the probes use x86_64 ptrace numbers, this is ${process.arch}`)
} else if (requireRoot(t)) {
  t.test('an inherited descriptor never reaches the app (runc CVE-2024-21626 class)', async t => {
    const poc = `/tmp/${mark}-poc`
    // The caller's shell holds / open as fd 300; the app tries to write on the host through it.
    const script = `ls /proc/self/fd/300/ >/dev/null 2>&1 && echo reachable; echo x > /proc/self/fd/300${poc} 2>/dev/null && echo wrote; true`
    const result = await cli(['run', '--name', `f${mark}`, '--read-only', '--', 'sh', '-c', script], {wrap: ['bash', '-c', 'exec 300</ && exec "$@"', 'bash']})
    t.equal(result.exitCode, 0, result.stderr)
    attempt(t, !result.stdout.includes('reachable'), `fd 300 of contain's caller is not open in the app: ${result.stdout.trim() || 'absent'}`)
    attempt(t, !existsSync(poc), `the app could not write ${poc} through it`)
    rmSync(poc, {force: true})
    const fds = await cli(['run', '--name', `f${mark}`, '--', python, '-c', COUNT_FDS], {wrap: ['bash', '-c', 'exec 300</ 301>/dev/null && exec "$@"', 'bash']})
    attempt(t, fds.stdout.trim() === '0,1,2', `contain run: the app starts with fds 0,1,2 only (${fds.stdout.trim()})`)
    // With two listen sockets: exactly 0-2 and the two sockets at 3 and 4, nothing of the helpers' (status, seccomp, env, devices) nor the caller's.
    const listenDir = mkdtempSync('/tmp/eh-listen-')
    try {
      const port = 20_000 + Math.floor(Math.random() * 20_000)
      const described = `${COUNT_FDS}\nimport socket, stat\nprint(",".join("%d:%s" % (fd, stat.S_ISSOCK(os.fstat(fd).st_mode) and socket.socket(fileno=os.dup(fd)).getsockname()) for fd in fds if fd > 2))`
      const listened = await cli(
        ['run', '--name', `f${mark}`, '--listen', `tcp://127.0.0.1:${port}`, '--listen', `unix://${listenDir}/s.sock`, '--', python, '-c', described],
        {wrap: ['bash', '-c', 'exec 300</ 301>/dev/null && exec "$@"', 'bash']},
      )
      const [all, sockets] = listened.stdout.trim().split('\n')
      attempt(t, all === '0,1,2,3,4', `contain run --listen (2 sockets): the app starts with fds 0,1,2,3,4 only (${all}; ${listened.stderr.trim()})`)
      attempt(t, sockets === `3:('127.0.0.1', ${port}),4:${listenDir}/s.sock`, `fds 3 and 4 are the listen sockets, in order (${sockets})`)
    } finally {
      rmSync(listenDir, {recursive: true, force: true})
    }
    // The control: helpers are non-dumpable, the app is dumpable again after its execve (core dumps, its own /proc).
    for (const user of [[], ['-u', 'nobody']]) {
      const dumpable = await cli(['run', '--name', `f${mark}`, ...user, '--', python, '-c', 'import ctypes; print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))'])
      t.equal(dumpable.stdout.trim(), '1', `the app itself is dumpable${user.length > 0 ? ' as nobody' : ''}: ${dumpable.stderr}`)
    }
  })

  t.test('contain exec and command health checks: fds 0-2 only, helpers out of reach, bounded', async t => {
    const app = `x${mark}`
    const dir = testdir(t, {
      'contain.yml': [
        'apps:',
        `  ${app}:`,
        '    command: sleep 600',
        // The check records its own descriptors where the test can read them (the app's directory).
        `    healthcheck: {test: ["CMD", "${python}", "-c", "import os,sys; exec(open('count.py').read())"], interval: 1s, timeout: 5s}`,
        '',
      ].join('\n'),
      'count.py': `${COUNT_FDS.replace('print(",".join(map(str, fds)))', 'open("check-fds", "w").write(",".join(map(str, fds)))')}\n`,
    })
    chmodSync(dir, 0o755)
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    const stop = await up(t, dir, env, app)
    try {
      const exec = await cli(['exec', app, '--', python, '-c', COUNT_FDS], {cwd: dir, env})
      t.equal(exec.exitCode, 0, exec.stderr)
      attempt(t, exec.stdout.trim() === '0,1,2', `contain exec: the command has fds 0,1,2 only (${exec.stdout.trim()}; the status socket was fd 3)`)
      await until(() => existsSync(join(dir, 'check-fds')), 'a health check to run', 30_000, 200)
      const checkFds = readFileSync(join(dir, 'check-fds'), 'utf8').trim()
      attempt(t, checkFds === '0,1,2', `a command health check has fds 0,1,2 only (${checkFds})`)
      for (const via of ['run', 'exec'] as const) {
        const probe =
          via === 'exec'
            ? await cli(['exec', app, '--', python, '-c', PROBE_PID1], {cwd: dir, env})
            : await cli(['run', '--name', `p${mark}`, '--', python, '-c', PROBE_PID1])
        t.equal(probe.exitCode, 0, probe.stderr)
        for (const line of probe.stdout.trim().split('\n')) {
          const [name, answer] = line.split(' ')
          attempt(t, answer !== '0', `from contain ${via}: ${name} of contain-init (PID 1, non-dumpable): ${answer === '0' ? 'SUCCEEDED' : `errno ${answer}`}`)
        }
      }
    } finally {
      await stop()
    }
    t.same(await settledLeftovers(mark, env.CONTAIN_STATE_DIR), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
  })

  t.test('LD_PRELOAD from the config or -e loads into no helper', async t => {
    const dir = testdir(t)
    chmodSync(dir, 0o755)
    const markers = join(dir, 'markers')
    mkdirSync(markers, {mode: 0o777})
    chmodSync(markers, 0o777)
    // Each process that loads the library leaves a file named after its command.
    writeFileSync(
      join(dir, 'marker.c'),
      `#include <stdio.h>
#include <string.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void) {
  char comm[64] = "", path[256];
  FILE *f = fopen("/proc/self/comm", "r");
  if (f) { if (fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\\n")] = 0; fclose(f); }
  snprintf(path, sizeof path, "${markers}/%s.%d", comm, getpid());
  FILE *m = fopen(path, "w");
  if (m) fclose(m);
}
`,
    )
    const library = join(dir, 'marker.so')
    await execa('cc', ['-shared', '-fPIC', '-o', library, join(dir, 'marker.c')])
    const run = await cli(['run', '--name', `l${mark}`, '-e', `LD_PRELOAD=${library}`, '--', 'sh', '-c', 'true'])
    t.equal(run.exitCode, 0, run.stderr)
    const missing = await cli(['run', '--name', `l${mark}`, '-e', 'LD_PRELOAD=/nonexistent-contain.so', '-e', `LD_LIBRARY_PATH=${dir}`, '--', '/bin/true'])
    t.equal(missing.exitCode, 0, missing.stderr)
    // /bin/true itself (the app) may complain once; unshare or contain-init must not.
    const complaints = missing.stderr.split('\n').filter(line => line.includes('nonexistent-contain.so'))
    attempt(t, complaints.length <= 1, `an LD_PRELOAD of the app is reported by the app alone (${complaints.length} ld.so complaints)`)
    writeFileSync(
      join(dir, 'contain.yml'),
      [
        'apps:',
        `  y${mark}:`,
        '    command: sleep 600',
        `    environment: {LD_PRELOAD: ${JSON.stringify(library)}}`,
        '    healthcheck: {test: ["CMD", "/bin/true"], interval: 1s}',
        '',
      ].join('\n'),
    )
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    const stop = await up(t, dir, env, `y${mark}`)
    try {
      const exec = await cli(['exec', `y${mark}`, '--', '/bin/true'], {cwd: dir, env})
      t.equal(exec.exitCode, 0, exec.stderr)
      await sleep(1500)
    } finally {
      await stop()
    }
    const loaded = readdirSync(markers).map(name => name.replace(/\.\d+$/, ''))
    const helpers = loaded.filter(name => /contain-init|unshare|nsenter|node/.test(name))
    attempt(t, helpers.length === 0, `no helper loaded the app's LD_PRELOAD (loaded by: ${[...new Set(loaded)].join(', ') || 'nobody'})`)
  })

  t.test('a symlink planted among the log files is never followed', async t => {
    const [rotating, refused, linkedDir] = [`g${mark}`, `k${mark}`, `h${mark}`]
    const dir = testdir(t, {'outside.txt': 'untouched\n', logs: {}})
    chmodSync(dir, 0o755)
    const outside = join(dir, 'outside.txt')
    // As an app could have left them in its own directory before a restart: the rotated names of
    // one app, the very log file of another, and a log directory that is a symlink.
    for (const name of [`${rotating}.log.1`, `${rotating}.log.2`, `${refused}.log`]) symlinkSync(outside, join(dir, 'logs', name))
    mkdirSync(join(dir, 'elsewhere'))
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'linked-logs'))
    writeFileSync(
      join(dir, 'contain.yml'),
      [
        'apps:',
        `  ${rotating}:`,
        // Lines enough for several rotations; meanwhile the app plants a new symlink at its log's name.
        `    command: sh -c 'seq 1 2000; rm -f logs/${rotating}.log; ln -s ${outside} logs/${rotating}.log; seq 1 2000; sleep 600'`,
        '    logging: {dir: logs, max_size: 4k, max_files: 3}',
        `  ${refused}:`,
        '    command: sh -c "seq 1 100; sleep 600"',
        '    logging: {dir: logs}',
        `  ${linkedDir}:`,
        '    command: sh -c "seq 1 100; sleep 600"',
        '    logging: {dir: linked-logs}',
        '',
      ].join('\n'),
    )
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    const stop = await up(t, dir, env, rotating, {someFail: true})
    let logs: {stdout: string; stderr: string} | undefined
    try {
      await sleep(3000)
      logs = await cli(['logs', rotating, '-n', '20'], {cwd: dir, env})
      const statuses = JSON.parse((await cli(['ps', '--json'], {cwd: dir, env})).stdout || '[]') as {name: string; lastExit?: {error?: string}}[]
      for (const name of [refused, linkedDir]) t.comment(`${name}: ${statuses.find(status => status.name === name)?.lastExit?.error ?? 'no error'}`)
    } finally {
      await stop()
    }
    attempt(
      t,
      readFileSync(outside, 'utf8') === 'untouched\n',
      'the file the planted log symlinks point at is unchanged (start, rotations, a link planted while running)',
    )
    attempt(
      t,
      !logs.stdout.includes('untouched'),
      `contain logs printed nothing of the outside file${logs.stderr ? ` (${logs.stderr.trim().split('\n')[0]})` : ''}`,
    )
    attempt(t, readdirSync(join(dir, 'elsewhere')).length === 0, 'a log directory that is a symlink is not written through')
    t.same(await settledLeftovers(mark, env.CONTAIN_STATE_DIR), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
  })

  t.test('client commands refuse a hostile state directory', async t => {
    const app = `s${mark}`
    const dir = testdir(t, {'contain.yml': `apps:\n  ${app}:\n    command: sleep 600\n`})
    chmodSync(dir, 0o755)
    const stateRoot = join(dir, 'state')
    const env = {CONTAIN_STATE_DIR: stateRoot}
    const stop = await up(t, dir, env, app)
    try {
      const project = readdirSync(stateRoot).find(name => existsSync(join(stateRoot, name, 'state.json'))) as string
      const projectDir = join(stateRoot, project)
      chmodSync(projectDir, 0o770)
      const ps = await cli(['ps'], {cwd: dir, env})
      attempt(t, ps.exitCode === 125 && /writable by other users/.test(ps.stderr), `a group-writable state directory is refused (exit ${ps.exitCode})`)
      const exec = await cli(['exec', app, '--', 'true'], {cwd: dir, env})
      attempt(t, exec.exitCode === 125, `contain exec refuses it too (exit ${exec.exitCode})`)
      chmodSync(projectDir, 0o700)
      // A state file another user wrote, naming a socket elsewhere.
      const state = JSON.parse(readFileSync(join(projectDir, 'state.json'), 'utf8'))
      writeFileSync(join(projectDir, 'state.json'), JSON.stringify({...state, socket: '/run/elsewhere.sock'}), {mode: 0o666})
      chmodSync(join(projectDir, 'state.json'), 0o666)
      const stopped = await cli(['stop', app], {cwd: dir, env})
      attempt(t, stopped.exitCode === 125 && /state.json/.test(stopped.stderr), `a world-writable state.json is refused (exit ${stopped.exitCode})`)
      writeFileSync(join(projectDir, 'state.json'), JSON.stringify(state), {mode: 0o600})
      chmodSync(join(projectDir, 'state.json'), 0o600)
      const again = await cli(['ps'], {cwd: dir, env})
      t.equal(again.exitCode, 0, `the repaired directory works again: ${again.stderr}`)
      await refusesForeignPeer(t, dir, projectDir, env)
    } finally {
      await stop()
    }
    t.same(await settledLeftovers(mark, stateRoot), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
  })

  t.test('health checks: a 1 GB answer and a check that ignores SIGTERM leave the supervisor bounded', async t => {
    const web = `w${mark}`
    const cmd = `c${mark}`
    const port = 20000 + (process.pid % 20000)
    // 1 GB on the host; the User-Mode Linux guest moves bytes about ten times slower, so 256 MB there.
    const bytes = inGuest ? 2 ** 28 : 2 ** 30
    const server = `import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", str(${bytes})); self.end_headers()
        chunk = b"x" * 65536
        try:
            for _ in range(${bytes} // 65536): self.wfile.write(chunk)
        except Exception: pass
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", ${port}), H).serve_forever()`
    const stubborn = 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)'
    const dir = testdir(t, {
      'server.py': server,
      'stubborn.py': stubborn,
      'contain.yml': [
        'apps:',
        `  ${web}:`,
        `    command: ${python} server.py`,
        `    healthcheck: {test: {http: "http://127.0.0.1:${port}/"}, interval: 1s, timeout: 3s}`,
        `  ${cmd}:`,
        '    command: sleep 600',
        // 1 GB on stdout, then a process that ignores SIGTERM and sleeps past its timeout.
        `    healthcheck: {test: ["CMD-SHELL", "head -c ${bytes} /dev/zero; exec ${python} stubborn.py"], interval: 1s, timeout: 2s, retries: 100}`,
        '',
      ].join('\n'),
    })
    chmodSync(dir, 0o755)
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    const stop = await up(t, dir, env, cmd)
    let peakKiB = 0
    try {
      const supervisor = await supervisorPid(dir, env)
      t.ok(supervisor, 'the supervisor pid')
      // At least 12 s of checks, and until the HTTP check has passed (slower in the guest).
      const started = Date.now()
      let statuses: {name: string; health: string}[] = []
      while (Date.now() - started < 90_000) {
        const rss = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${supervisor}/status`, 'utf8'))?.[1] ?? 0)
        peakKiB = Math.max(peakKiB, rss)
        await sleep(250)
        if (Date.now() - started < 12_000) continue
        statuses = JSON.parse((await cli(['ps', '--json'], {cwd: dir, env})).stdout || '[]')
        if (statuses.find(status => status.name === web)?.health === 'healthy') break
      }
      attempt(
        t,
        statuses.find(status => status.name === web)?.health === 'healthy',
        `an HTTP check answered with a ${bytes >> 20} MiB body still passes on its status line (${statuses.find(status => status.name === web)?.health})`,
      )
      attempt(
        t,
        peakKiB < 256 * 1024,
        `the supervisor's memory stayed bounded through ${bytes >> 20} MiB answers (HTTP body, command output): peak RSS ${Math.round(peakKiB / 1024)} MiB`,
      )
      // The next check starts only after the last one ended: one may be alive, never a pile of them.
      const stubborns = (
        await cli(['exec', cmd, '--', 'sh', '-c', 'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null; echo; done'], {cwd: dir, env})
      ).stdout
        .split('\n')
        .filter(line => line.includes('stubborn.py'))
      attempt(t, stubborns.length <= 2, `checks that ignore SIGTERM are killed past their timeout (${stubborns.length} alive now)`)
    } finally {
      await stop()
    }
    t.same(await settledLeftovers(mark, env.CONTAIN_STATE_DIR), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
  })

  t.test('the figure', async t => {
    figure(
      t,
      `helper escape attempts: ${tally.attempts} tried, ${tally.held} held${tally.failures.length > 0 ? `; got through: ${tally.failures.join('; ')}` : ''}`,
    )
    t.equal(tally.held, tally.attempts, 'every attempt held')
  })
}
