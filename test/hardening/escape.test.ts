/**
 * Part 3 of the hardening suite: a contained app under the defaults tries to get out. Each attempt
 * is one system call or file write from fixtures/escape.py, judged by what the kernel answered
 * (errno); every one must fail, and the host process it aimed at must still be alive after.
 */
import {execa} from 'execa'
import {chmodSync, chownSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {cli, figure, nested, requireRoot, root, settledLeftovers, skipFile, startCli, stateFiles, testdir, token, until} from './helpers.js'

const mark = token('es')
const probe = join(root, 'test/hardening/fixtures/escape.py')
const python = '/usr/bin/python3'
const [EPERM, ENOENT, ESRCH, EACCES, ECONNREFUSED, EROFS] = [1, 2, 3, 13, 111, 30]

/** The errnos that mean "refused" for each attempt; anything else (0 above all) is a success or a broken probe. */
const REFUSED: Record<string, number[]> = {
  kill_host: [ESRCH],
  write_own_limit: [EROFS],
  write_own_pids: [EROFS],
  write_other_cgroup: [EROFS, EACCES, EPERM],
  remount_proc: [EPERM],
  remount_sys: [EPERM],
  mount_tmpfs: [EPERM],
  mount_proc: [EPERM],
  unshare_user: [EPERM],
  unshare_mount: [EPERM],
  unshare_net: [EPERM],
  setns: [EPERM],
  init_module: [EPERM],
  finit_module: [EPERM],
  delete_module: [EPERM],
  keyctl: [EPERM],
  ptrace_host: [ESRCH, EPERM],
  ptrace_pid1: [EPERM],
  host_sysctl: [EROFS, EACCES],
  control_socket: [ENOENT, EACCES, ECONNREFUSED],
}

interface Tally {
  attempts: number
  successes: string[]
}

/** Runs the probe in the app and checks every answer against REFUSED. */
async function attempt(
  t: Test,
  tally: Tally,
  runArgs: string[],
  victim: number,
  socket: string,
  names: string[],
  env: Record<string, string> = {},
): Promise<void> {
  const result = await cli(runArgs.concat(['--', python, probe, String(victim), mark, socket, ...names]), {env, timeoutMs: 60_000})
  t.equal(result.exitCode, 0, `the probe ran: ${result.stderr.trim()}`)
  const answers = Object.fromEntries(
    result.stdout
      .trim()
      .split('\n')
      .map(line => line.split(' ')),
  )
  for (const name of names) {
    tally.attempts++
    const answer = answers[name]
    const refused = name === 'see_host' ? answer === 'unseen' : REFUSED[name].includes(Number(answer))
    if (!refused) tally.successes.push(`${name} (${answer})`)
    t.ok(refused, `${name}: ${name === 'see_host' ? answer : answer === '0' ? 'SUCCEEDED' : `errno ${answer}`}`)
  }
}

if (process.arch !== 'x64') {
  skipFile(t, `the escape probe uses x86_64 syscall numbers, this is ${process.arch}`)
} else if (requireRoot(t)) {
  const tally: Tally = {attempts: 0, successes: []}

  t.test('from an app of a running contain up, under the defaults', async t => {
    // The host process the app aims at: a shell whose command line holds the mark.
    const victim = execa('sh', ['-c', `sleep 600; : ${mark}-victim`], {reject: false, stdio: 'ignore', detached: true})
    // The probe, by the same path, in the app's view (its own directory is the test's).
    const fixtures = join(root, 'test/hardening/fixtures')
    const dir = testdir(t, {'contain.yml': `apps:\n  e${mark}:\n    command: sleep 600\n    volumes: ["${fixtures}:${fixtures}:ro"]\n`})
    const stateRoot = join(dir, 'state')
    const env = {CONTAIN_STATE_DIR: stateRoot}
    let foreground: ReturnType<typeof startCli> | undefined
    try {
      // Nested in a delegated v2 unit only the foreground up can supervise (see soak.test.ts).
      if (nested) {
        foreground = startCli(['up', '--no-color'], {cwd: dir, env})
        await until(
          async () => JSON.parse((await cli(['ps', '--json'], {cwd: dir, env})).stdout || '[]')[0]?.state === 'running',
          'the app of contain up',
          60_000,
          500,
        )
      } else {
        const up = await cli(['up', '-d'], {cwd: dir, env})
        t.equal(up.exitCode, 0, up.stderr)
      }
      const socket = stateFiles(stateRoot).find(file => file.endsWith('control.sock')) ?? ''
      t.ok(socket, `the supervisor's socket: ${socket}`)
      const all = Object.keys(REFUSED).concat('see_host')
      // From a contain run app: everything, the socket of the supervisor included.
      // The same CONTAIN_STATE_DIR as the supervisor: the state directory it shares is the one hidden.
      await attempt(t, tally, ['run', '--name', `r${mark}`], victim.pid ?? 0, socket, all, env)
      // From inside the up's own app (contain exec joins it: its namespaces, identity, caps, filter).
      const inApp = await cli(['exec', `e${mark}`, '--', python, probe, String(victim.pid), mark, socket, 'control_socket', 'kill_host', 'see_host'], {
        cwd: dir,
        env,
      })
      t.equal(inApp.exitCode, 0, inApp.stderr)
      for (const line of inApp.stdout.trim().split('\n')) {
        const [name, answer] = line.split(' ')
        tally.attempts++
        const refused = name === 'see_host' ? answer === 'unseen' : REFUSED[name].includes(Number(answer))
        if (!refused) tally.successes.push(`${name} from the up's app (${answer})`)
        t.ok(refused, `from the up's app: ${name}: ${answer}`)
      }
      t.doesNotThrow(() => process.kill(victim.pid ?? 0, 0), 'the host process is still alive')
      const status = await cli(['ps', '--json'], {cwd: dir, env})
      t.match(JSON.parse(status.stdout || '[]'), [{name: `e${mark}`, state: 'running'}], 'the supervisor still runs its app')
    } finally {
      await cli(['down'], {cwd: dir, env})
      await foreground
      // The shell and its sleep, by the process group the test made.
      if (victim.pid) process.kill(-victim.pid, 'SIGKILL')
      await victim
    }
    t.same(await settledLeftovers(mark, stateRoot), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
  })

  t.test('a setuid-root binary run as nobody stays unprivileged (no_new_privs)', async t => {
    const dir = testdir(t)
    chmodSync(dir, 0o755)
    const binary = join(dir, 'setuid-probe')
    await execa('cc', ['-O2', '-o', binary, join(root, 'test/hardening/fixtures/setuid-probe.c')])
    chownSync(binary, 0, 0)
    chmodSync(binary, 0o4755)
    const run = async (flags: string[]) => {
      // The host's view: the contained one shows the binary's directory nosuid, which would hold
      // it back before no_new_privs is ever asked (a second layer; this test is about the first).
      const result = await cli(['run', '--name', `s${mark}`, '-u', 'nobody', '--view', 'host', ...flags, '--', binary], {timeoutMs: 30_000})
      t.equal(result.exitCode, 0, result.stderr)
      return Object.fromEntries(
        result.stdout
          .trim()
          .split('\n')
          .map(line => line.split(' ')),
      )
    }
    // The control: without no_new_privs the setuid bit works here, so the test can tell.
    const control = await run(['--security-opt', 'no-new-privileges=false'])
    if (control.euid !== '0') {
      t.skip(`setuid does not take effect on ${dir} (nosuid?), euid ${control.euid}: nothing to hold back`, () => {})
      return
    }
    const underDefaults = await run([])
    for (const [check, raised] of [
      ['euid', underDefaults.euid === '0'],
      ['capeff', underDefaults.capeff !== '0000000000000000'],
      ['setuid0', underDefaults.setuid0 === '0'],
    ] as const) {
      tally.attempts++
      if (raised) tally.successes.push(`setuid binary: ${check} ${underDefaults[check]}`)
      t.notOk(raised, `setuid binary under -u nobody: ${check} ${underDefaults[check]}`)
    }
  })

  t.test('under --read-only only --tmpfs and --writable paths take writes', async t => {
    const dir = testdir(t, {rw: {}, ro: {file: 'x'}})
    const script = [
      'for path in /etc/escape-MARK DIR/ro/escape /var/tmp/escape-MARK /usr/escape-MARK DIR/ro/file; do',
      '  if (echo x > "$path") 2>/dev/null; then echo "write $path 0"; rm -f "$path"; else echo "write $path refused"; fi',
      'done',
      'for path in /tmp/ok DIR/rw/ok; do (echo x > "$path") 2>/dev/null && echo "control $path 0" || echo "control $path failed"; done',
    ]
      .join('\n')
      .replaceAll('MARK', mark)
      .replaceAll('DIR', dir)
    const result = await cli(['run', '--name', `w${mark}`, '--read-only', '--tmpfs', '/tmp', '--writable', join(dir, 'rw'), '--', 'sh', '-c', script])
    t.equal(result.exitCode, 0, result.stderr)
    for (const line of result.stdout.trim().split('\n')) {
      const [kind, path, answer] = line.split(' ')
      if (kind === 'control') {
        t.equal(answer, '0', `${path} is writable, as asked`)
        continue
      }
      tally.attempts++
      if (answer === '0') tally.successes.push(`read-only: wrote ${path}`)
      t.equal(answer, 'refused', `write ${path}: ${answer}`)
    }
    t.same(readdirSync(join(dir, 'ro')), ['file'], 'nothing was written outside the writable paths')
    const remount = await cli(['run', '--name', `m${mark}`, '--read-only', '--', python, probe, '0', mark, '', 'remount_proc', 'mount_tmpfs'])
    for (const line of remount.stdout.trim().split('\n')) {
      const [name, answer] = line.split(' ')
      tally.attempts++
      if (answer === '0') tally.successes.push(`read-only: ${name}`)
      t.equal(Number(answer), EPERM, `under --read-only, ${name}: errno ${answer}`)
    }
  })

  t.test('the figure', async t => {
    t.same(await settledLeftovers(mark), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
    figure(
      t,
      `escape attempts: ${tally.attempts} tried, ${tally.successes.length} succeeded${tally.successes.length ? ` (${tally.successes.join(', ')})` : ''}`,
    )
    t.equal(tally.successes.length, 0, 'no attempt succeeded')
  })
}
