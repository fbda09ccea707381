/**
 * Setup errors fail once, clearly (issue 12, item 4): an app whose working directory, mount
 * target or user cannot exist is marked failed after exactly one attempt, with the reason in ps
 * and its log, while the project's other apps run on; a clone below /tmp with a tmpfs at /tmp
 * runs; missing tmpfs and writable targets are made, owned by the app's user; contain restart
 * keeps a foreground up supervising, and a restart that fails its setup leaves nothing behind.
 */
import {chmodSync, chownSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {assertNothingLeftBehind, contain, guestCase, requireRoot, startContain} from './helpers.js'

/** nobody: an app user without a home and without rights to root's directories. */
const NOBODY = 65534

/** A project directory (root's, as contain.yml must be) with a state directory of its own. */
function project(t: Test, yml: string, tree: Record<string, unknown> = {}): {file: string; dir: string; env: Record<string, string>} {
  const dir = t.testdir({'contain.yml': yml, state: {}, ...tree})
  return {file: join(dir, 'contain.yml'), dir, env: {CONTAIN_STATE_DIR: join(dir, 'state')}}
}

interface PsApp {
  name: string
  state: string
  pid?: number
  restarts: number
  lastExit?: {exitCode: number; error?: string}
}

async function ps(file: string, env: Record<string, string>): Promise<PsApp[]> {
  const result = await contain(['ps', '--json', '-f', file], {env})
  return result.exitCode === 0 ? (JSON.parse(result.stdout) as PsApp[]) : []
}

/** The unit cgroup a foreground up ran in (the nested cgroup v2 guest), once up has ended. */
function removeUnit(unit: string | undefined): void {
  if (unit) rmdirSync(unit)
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** How often contain tried to start the app: its "cannot start" / "could not start" lines in its log. */
async function attempts(file: string, env: Record<string, string>, app: string): Promise<number> {
  // logs takes --file: its -f is --follow, as docker's.
  const logs = await contain(['logs', app, '--file', file, '-n', '1000'], {env})
  return (`${logs.stdout}\n${logs.stderr}`.match(/contain: \S+ (cannot|could not) start/g) ?? []).length
}

if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  t.test('contain up: an app whose working directory, mount target or user cannot exist fails once; the others run on', guestCase('up-fails-once'), async t => {
    // A fast backoff: a restart loop would show as many attempts within the wait below.
    const backoff = 'backoff: {initial: 10ms, max: 20ms}'
    const {file, dir, env} = project(
      t,
      `
apps:
  setup-locked:
    command: ["true"]
    working_dir: locked
    user: nobody
    restart: always
    ${backoff}
  setup-planted:
    command: ["true"]
    read_only: true
    writable: [tmp]
    restart: always
    ${backoff}
  setup-nouser:
    command: ["true"]
    userns: true
    user: "1234"
    restart: always
    ${backoff}
  setup-steady:
    command: sleep 600
`,
      {locked: {}},
    )
    chmodSync(join(dir, 'locked'), 0o700)
    // An app can leave a symbolic link in its own directory for its next start: contain must not follow it.
    symlinkSync('/etc', join(dir, 'tmp'))
    // In the foreground: a unit of its own in the nested cgroup v2 guest, as systemd would run it.
    const up = startContain(['up', '-f', file], {env})
    t.teardown(async () => {
      await up.process
      removeUnit(up.unit)
    })
    try {
      await until(async () => (await ps(file, env)).filter(app => app.state === 'failed').length === 3, 'three apps to fail')
      // A restart loop would show here: with a 10 ms backoff it makes many attempts in a second.
      await new Promise(resolve => setTimeout(resolve, 1500))
      const apps = Object.fromEntries((await ps(file, env)).map(app => [app.name, app]))
      t.match(apps['setup-steady'], {state: 'running'}, 'the other app runs on')
      for (const [name, reason] of [
        ['setup-locked', /cannot enter its working directory .*locked \(-w \/ working_dir:\): Permission denied/],
        ['setup-planted', /tmp has a symbolic link in its path, which contain does not follow for a mount \(writable path \(--writable \/ writable:\)\)/],
        ['setup-nouser', /cannot switch to the app's user \(uid 1234, gid 0\): setuid: Invalid argument/],
      ] as const) {
        t.match(apps[name], {state: 'failed', restarts: 0, lastExit: {exitCode: 125, error: reason}}, `${name}: failed, with the reason`)
        t.equal(await attempts(file, env, name), 1, `${name}: exactly one attempt, in its log`)
      }
      const table = await contain(['ps', '-f', file], {env})
      t.match(table.stdout, /setup-locked\s+failed/, 'ps shows it failed')
    } finally {
      const down = await contain(['down', '-f', file], {env})
      t.equal(down.exitCode, 0, down.stderr)
    }
    const ended = await up.process
    t.equal((ended.stdout.match(/contain: setup-locked cannot start/g) ?? []).length, 1, 'the terminal of up got the reason once')
  })

  t.test('contain run: a setup error exits 125 once with the setting and the fix', guestCase('run-fails-once'), async t => {
    const dir = t.testdir({locked: {}})
    chmodSync(join(dir, 'locked'), 0o700)
    const locked = await contain(['run', '-u', 'nobody', '-w', join(dir, 'locked'), '--', 'true'])
    t.equal(locked.exitCode, 125)
    t.match(locked.stderr, /cannot enter its working directory .*locked \(-w \/ working_dir:\): Permission denied\n {2}fix: let uid 65534 reach it/)
    const mountPoint = await contain(['run', '-u', '0', '-w', dir, '-v', `${dir}:/usr/contain-setup-no-such-dir`, '--', 'true'])
    t.equal(mountPoint.exitCode, 125, 'refused at plan time')
    t.match(mountPoint.stderr, /--volume: the mount point \/usr\/contain-setup-no-such-dir does not exist, and \/usr is read-only/)
    const notFound = await contain(['run', '-u', '0', '-w', dir, '--', 'contain-setup-no-such-command'])
    t.equal(notFound.exitCode, 127)
  })

  t.test("a clone below /tmp with tmpfs: [/tmp] runs, and missing tmp, log and tmp/pids are made, owned by the app's user", guestCase('tmp-clone'), async t => {
    const base = mkdtempSync('/tmp/contain-setup-')
    t.teardown(() => rmSync(base, {recursive: true, force: true}))
    chmodSync(base, 0o755)
    const dir = join(base, 'shop')
    mkdirSync(dir)
    writeFileSync(join(dir, 'Gemfile'), 'gem "rails"\n')
    chownSync(dir, NOBODY, NOBODY)
    chownSync(join(dir, 'Gemfile'), NOBODY, NOBODY)
    // contain.yml is root's, as contain requires of a file it runs as root.
    writeFileSync(
      join(dir, 'contain.yml'),
      `
apps:
  setup-shop:
    command: ["sh", "-c", "test -f Gemfile && touch tmp/pids/server.pid log/app.log && id -u && echo ok"]
    read_only: true
    tmpfs: [/tmp, tmp/pids]
    writable: [tmp, log]
`,
    )
    const env = {CONTAIN_STATE_DIR: join(base, 'state')}
    const up = await contain(['up', '-f', join(dir, 'contain.yml')], {env})
    t.equal(up.exitCode, 0, up.stdout + up.stderr)
    t.match(up.stdout, /setup-shop \| 65534\nsetup-shop \| ok/, "the app sees its own files below the tmpfs at /tmp, as its directory's owner")
    for (const path of ['tmp', 'log', 'tmp/pids']) {
      const stat = statSync(join(dir, path))
      t.ok(stat.isDirectory() && stat.uid === NOBODY && stat.gid === NOBODY, `${path} was made, owned by the app's user (uid ${stat.uid})`)
    }
    t.equal(statSync(join(dir, 'log/app.log')).uid, NOBODY, "log/ is the app's own directory on the host")
  })

  t.test('contain restart keeps a foreground up supervising its only app', guestCase('restart-foreground'), async t => {
    const {file, env} = project(t, 'apps:\n  setup-only:\n    command: sleep 600\n')
    const up = startContain(['up', '-f', file], {env})
    t.teardown(async () => {
      await contain(['down', '-f', file], {env})
      await up.process
      removeUnit(up.unit)
    })
    await until(async () => (await ps(file, env))[0]?.state === 'running', 'the app to run')
    const [before] = await ps(file, env)
    const restart = await contain(['restart', 'setup-only', '-f', file], {env})
    t.equal(restart.exitCode, 0, restart.stderr)
    await new Promise(resolve => setTimeout(resolve, 500))
    t.equal(up.process.exitCode, null, 'up still runs')
    const [after] = await ps(file, env)
    t.match(after, {state: 'running'})
    t.not(after.pid, before.pid, 'a new run')
    const down = await contain(['down', '-f', file], {env})
    t.equal(down.exitCode, 0)
    t.equal((await up.process).exitCode, 0, 'up ends with contain down')
  })

  t.test('a restart that fails its setup marks the app failed once and leaves nothing behind', guestCase('restart-fails'), async t => {
    const {file, dir, env} = project(
      t,
      'apps:\n  setup-again:\n    command: sleep 600\n    working_dir: sub\n    user: nobody\n    restart: always\n    backoff: {initial: 10ms}\n',
      {sub: {}},
    )
    chownSync(join(dir, 'sub'), NOBODY, NOBODY)
    const up = startContain(['up', '-f', file], {env})
    t.teardown(async () => {
      await contain(['down', '-f', file], {env})
      await up.process
      removeUnit(up.unit)
    })
    await until(async () => (await ps(file, env))[0]?.state === 'running', 'the app to run')
    // Between two starts the working directory becomes root's and private: the next start cannot enter it.
    chownSync(join(dir, 'sub'), 0, 0)
    chmodSync(join(dir, 'sub'), 0o700)
    await contain(['restart', 'setup-again', '-f', file], {env})
    const ended = await up.process
    t.equal(ended.exitCode, 1, 'up ends: its only app has failed for good')
    t.equal((ended.stdout.match(/contain: setup-again cannot start/g) ?? []).length, 1, 'one attempt, said once')
    t.match(ended.stdout, /cannot enter its working directory .*sub \(-w \/ working_dir:\): Permission denied/)
  })
}
