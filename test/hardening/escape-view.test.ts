/**
 * The hardening suite's attempts on the host's filesystem: from inside an app under the defaults
 * (the contained view), each attempt is one call in fixtures/escape-view.py, judged by the errno
 * the kernel answered. Host files the app must not see are planted first (host /tmp, /run,
 * /dev/shm, a home directory, /root, other apps' directories); then the block devices, mknod,
 * writes to the system directories, tmpfs exec and suid; then symlinks planted in an app's own
 * directory at a mount target, before a start and between two runs of contain up.
 */
import {existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {cli, figure, nested, requireRoot, root, settledLeftovers, startCli, testdir, token, until} from './helpers.js'

const mark = token('ev')
const fixtures = join(root, 'test/hardening/fixtures')
const probe = '/probe/escape-view.py'
const python = '/usr/bin/python3'
const [EPERM, ENOENT, EACCES, EROFS] = [1, 2, 13, 30]

/** Host files no app may read, each planted by the test and removed after it. */
const SECRETS = [`/tmp/${mark}`, `/run/${mark}`, `/dev/shm/${mark}`, `/home/${mark}/secret`, `/root/${mark}`, `/var/lib/${mark}/secret`, `/srv/${mark}/secret`]

const REFUSED: Record<string, (string | number)[]> = {
  read_shadow: [EACCES, 'empty'],
  open_block_device: [ENOENT],
  mknod_block_in_workdir: [EACCES, EPERM],
  mknod_block_in_tmp: [EACCES, EPERM],
  mknod_null_on_tmpfs: [EACCES, EPERM],
  write_etc: [EROFS],
  write_usr: [EROFS],
  write_root: [EROFS],
  exec_on_tmpfs: [EACCES],
  suid_on_tmpfs: ['nosuid'],
  suid_on_shm: ['nosuid'],
}
/** Where a planted symlink points: a host directory outside the app's (writable in the guest too). */
const target = `/tmp/${mark}-target`
const refusedFor = (name: string) => (name.startsWith('read_secret_') ? [ENOENT] : REFUSED[name])

interface Tally {
  attempts: number
  successes: string[]
}

/** A block device of this host, with its numbers (sda's when there is none to find). */
function blockDevice(): {path: string; major: number; minor: number} {
  for (const name of readdirSync('/dev')) {
    const stat = statSync(join('/dev', name), {throwIfNoEntry: false})
    if (!stat?.isBlockDevice()) continue
    return {
      path: join('/dev', name),
      major: Number((BigInt(stat.rdev) >> 8n) & 0xfffn),
      minor: Number((BigInt(stat.rdev) & 0xffn) | ((BigInt(stat.rdev) >> 12n) & 0xfff00n)),
    }
  }
  return {path: '/dev/sda', major: 8, minor: 0}
}

/** The secrets planted: in the v2 guest the host's / is read-only, and only its tmpfs dirs take one. */
const planted: string[] = []

function plant(): void {
  for (const path of SECRETS) {
    try {
      mkdirSync(join(path, '..'), {recursive: true})
      writeFileSync(path, `secret ${mark}\n`)
      planted.push(path)
    } catch {
      // Read-only here (the guest's hostfs): nothing to find there either.
    }
  }
}

function unplant(): void {
  for (const path of SECRETS) rmSync(path, {force: true})
  for (const dir of [`/home/${mark}`, `/var/lib/${mark}`, `/srv/${mark}`, target]) rmSync(dir, {recursive: true, force: true})
}

function probeArgs(): string[] {
  const device = blockDevice()
  return [python, probe, mark, '/scratch', device.path, String(device.major), String(device.minor), ...planted]
}

/** Judges the probe's lines against REFUSED. */
function judge(t: Test, tally: Tally, where: string, output: string): void {
  const lines = output.trim().split('\n').filter(Boolean)
  t.ok(lines.length >= Object.keys(REFUSED).length + planted.length, `${where}: the probe answered every attempt`)
  for (const line of lines) {
    const [name, answer] = line.split(' ')
    const refused = refusedFor(name)?.some(value => String(value) === answer) ?? false
    tally.attempts++
    if (!refused) tally.successes.push(`${where}: ${name} (${answer})`)
    t.ok(refused, `${where}: ${name}: ${answer === '0' ? 'SUCCEEDED' : answer}`)
  }
}

if (process.arch !== 'x64' && process.arch !== 'arm64') {
  t.pass(`skipped: ${process.arch}`)
} else if (requireRoot(t)) {
  const tally: Tally = {attempts: 0, successes: []}
  const volume = ['-v', `${fixtures}:/probe:ro`, '--tmpfs', '/scratch']
  plant()
  t.teardown(unplant)
  t.comment(`planted: ${planted.join(', ')}`)

  t.test('from contain run under the defaults, as root and in a user namespace', async t => {
    const dir = testdir(t)
    for (const extra of [[], ['--userns']]) {
      const result = await cli(['run', '--name', `r${mark}`, ...extra, ...volume, '--', ...probeArgs()], {cwd: dir, timeoutMs: 60_000})
      t.equal(result.exitCode, 0, `the probe ran: ${result.stderr.trim()}`)
      judge(t, tally, `run${extra.join('')}`, result.stdout)
    }
    t.same(readdirSync(dir), [], 'nothing was left in the app directory')
  })

  t.test('from the app of contain up, through contain exec', async t => {
    const dir = testdir(t, {'contain.yml': `apps:\n  u${mark}:\n    command: sleep 600\n    volumes: ["${fixtures}:/probe:ro"]\n    tmpfs: [/scratch]\n`})
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    let foreground: ReturnType<typeof startCli> | undefined
    try {
      if (nested) foreground = startCli(['up', '--no-color'], {cwd: dir, env, timeoutMs: 900_000})
      else t.equal((await cli(['up', '-d'], {cwd: dir, env})).exitCode, 0)
      await until(
        async () => JSON.parse((await cli(['ps', '--json'], {cwd: dir, env})).stdout || '[]')[0]?.state === 'running',
        'the app of contain up',
        60_000,
        500,
      )
      const result = await cli(['exec', `u${mark}`, '--', ...probeArgs()], {cwd: dir, env, timeoutMs: 60_000})
      t.equal(result.exitCode, 0, result.stderr)
      judge(t, tally, 'exec', result.stdout)
    } finally {
      await cli(['down'], {cwd: dir, env})
      await foreground
    }
  })

  t.test('a symlink planted at a writable or tmpfs target is never followed by a mount', async t => {
    mkdirSync(target, {recursive: true})
    for (const [flags, link] of [
      [['--read-only', '--writable'], 'logs'],
      [['--tmpfs'], 'cache'],
    ] as const) {
      const dir = testdir(t)
      symlinkSync(target, join(dir, link))
      const result = await cli(['run', '--name', `s${mark}`, ...flags, join(dir, link), '--', 'sh', '-c', `echo x > ${link}/escape`], {
        cwd: dir,
        timeoutMs: 30_000,
      })
      tally.attempts++
      const followed = result.exitCode === 0 || readdirSync(target).length > 0
      if (followed) tally.successes.push(`link ${link} (${flags.join(' ')}) was followed`)
      t.notOk(followed, `${flags.join(' ')} ${link} -> ${target}: exit ${result.exitCode}`)
      t.equal(result.exitCode, 125, 'contain refuses to start')
      t.match(result.stderr, `${join(dir, link)} has a symbolic link in its path`, 'and names the path')
    }
    t.same(readdirSync(target), [], "nothing reached the link's target")
  })

  t.test('planted by the app between two runs of contain up: the restart refuses', async t => {
    mkdirSync(target, {recursive: true})
    // The app moves its tmp/ away (tmp/pids is its tmpfs) and leaves a link in its place.
    const script = `[ -L tmp ] || { mv tmp tmp.old && ln -s ${target} tmp; }; exec sleep 600`
    // A second app keeps the project up, so ps and inspect still tell how the first one ended.
    const dir = testdir(t, {
      'contain.yml': `apps:\n  p${mark}:\n    command: [sh, -c, "${script}"]\n    tmpfs: [tmp/pids]\n  k${mark}:\n    command: [sleep, "600"]\n`,
      tmp: {},
    })
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    let foreground: ReturnType<typeof startCli> | undefined
    try {
      if (nested) foreground = startCli(['up', '--no-color'], {cwd: dir, env, timeoutMs: 900_000})
      else t.equal((await cli(['up', '-d'], {cwd: dir, env})).exitCode, 0)
      await until(() => existsSync(join(dir, 'tmp.old')), 'the app planted its link', 60_000, 200)
      const restart = await cli(['restart', `p${mark}`], {cwd: dir, env, timeoutMs: 60_000})
      // Slow in the v2 guests (every exec about ten times the host's): a generous wait.
      let status = ''
      const stateOf = () => (JSON.parse(status || '[]') as {name: string; state: string}[]).find(app => app.name === `p${mark}`)?.state
      await until(
        async () => {
          status = (await cli(['ps', '--json'], {cwd: dir, env})).stdout
          return ['failed', 'exited', 'backoff'].includes(stateOf() ?? '')
        },
        'the restart to fail',
        240_000,
        500,
      ).catch(error => t.fail(`${error.message}: restart exit ${restart.exitCode} ${restart.stderr.trim()}; ps ${status}`))
      const inspect = await cli(['inspect', `p${mark}`], {cwd: dir, env})
      tally.attempts++
      const followed = existsSync(join(target, 'pids'))
      if (followed) tally.successes.push('planted tmp/ between runs was followed')
      t.notOk(followed, `the tmpfs was not made through the link (restart: exit ${restart.exitCode})`)
      t.match(`${restart.stderr}\n${inspect.stdout}`, /symbolic link/, 'the failure names the link')
    } finally {
      await cli(['down'], {cwd: dir, env})
      await foreground
    }
  })

  t.test('the figure', async t => {
    t.same(await settledLeftovers(mark), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
    figure(
      t,
      `view escape attempts: ${tally.attempts} tried, ${tally.attempts - tally.successes.length} held${tally.successes.length ? ` (succeeded: ${tally.successes.join(', ')})` : ''}`,
    )
    t.equal(tally.successes.length, 0, 'no attempt succeeded')
  })
}
