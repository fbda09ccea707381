import {execa} from 'execa'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {assertNothingLeftBehind, containBin, requireRoot} from './helpers.js'

/** A project directory with a contain.yml, and a state directory of its own. */
function project(t: Test, yml: string): {dir: string; env: Record<string, string>; stateRoot: string} {
  const dir = t.testdir({'contain.yml': yml, state: {}})
  return {dir, env: {CONTAIN_STATE_DIR: join(dir, 'state')}, stateRoot: join(dir, 'state')}
}

function contain(args: string[], cwd: string, env: Record<string, string>) {
  return execa(process.execPath, [containBin, ...args], {cwd, env, reject: false, all: true})
}

/** Runs `body` with the project up in the background, and always brings it down after. */
async function whileUp(t: Test, dir: string, env: Record<string, string>, body: () => Promise<void>): Promise<void> {
  const started = await contain(['up', '-d'], dir, env)
  t.equal(started.exitCode, 0, `contain up -d: ${started.all}`)
  try {
    await body()
  } finally {
    await contain(['down'], dir, env)
  }
}

/** The files of the project's state directory, logs aside. */
function stateFiles(stateRoot: string): string[] {
  return readdirSync(stateRoot, {recursive: true, withFileTypes: true})
    .filter(entry => entry.isFile() || entry.isSocket())
    .map(entry => entry.name)
    .filter(name => !name.endsWith('.log') && !/\.log\.\d+$/.test(name))
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  t.test("foreground up: two apps' lines interleave with their prefixes; up ends when both have", async t => {
    const {dir, env, stateRoot} = project(
      t,
      `
apps:
  alpha:
    command: sh -c 'for i in 1 2 3; do echo alpha $i; sleep 0.1; done'
  beta:
    command: ["sh", "-c", "for i in 1 2 3; do echo beta $i; sleep 0.1; done"]
`,
    )
    const result = await contain(['up'], dir, env)
    t.equal(result.exitCode, 0, result.all)
    const lines = result.stdout.split('\n')
    for (const i of [1, 2, 3]) {
      t.ok(lines.includes(`alpha | alpha ${i}`), `alpha ${i}`)
      t.ok(lines.includes(`beta  | beta ${i}`), `beta ${i}`)
    }
    t.same(stateFiles(stateRoot), [], 'no state left')
  })

  t.test('detached: survives the CLI, ps and logs -f see it, down leaves nothing', async t => {
    const {dir, env, stateRoot} = project(
      t,
      `
apps:
  ticker:
    command: sh -c 'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.1; done'
    restart: always
    mem_limit: 64m
`,
    )
    await whileUp(t, dir, env, async () => {
      const [status] = JSON.parse((await contain(['ps', '--json'], dir, env)).stdout)
      t.match(status, {name: 'ticker', state: 'running', restarts: 0})
      t.ok(status.pid > 0)

      const follower = contain(['logs', 'ticker', '-f', '-n', '0'], dir, env)
      let followed = ''
      follower.stdout?.on('data', chunk => (followed += chunk))
      await until(() => (followed.match(/tick \d+/g) ?? []).length >= 3, 'three new lines through logs -f')
      follower.kill('SIGINT')
      await follower
      t.pass(`logs -f saw new lines: ${followed.trim().split('\n').slice(0, 3).join(', ')}`)

      const last = await contain(['logs', 'ticker', '-n', '2', '-t'], dir, env)
      t.match(last.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z tick \d+\n\S+ tick \d+$/)
    })

    const down = await contain(['down'], dir, env)
    t.equal(down.exitCode, 0, down.all)
    t.same(stateFiles(stateRoot), [], 'no state or socket left')
    t.match((await contain(['ps'], dir, env)).stdout, /is not running/)
  })

  // Since issue 12 a second up applies contain.yml to the running project (test/integration/deploy.test.ts).
  t.test('a second up of a running project starts nothing twice: an unchanged app is left alone', async t => {
    const {dir, env} = project(t, 'apps:\n  sleeper:\n    command: sleep 30\n')
    await whileUp(t, dir, env, async () => {
      const [before] = JSON.parse((await contain(['ps', '--json'], dir, env)).stdout)
      const second = await contain(['up', '-d'], dir, env)
      t.equal(second.exitCode, 0, second.all)
      t.equal(second.stdout, 'sleeper: unchanged')
      const [after] = JSON.parse((await contain(['ps', '--json'], dir, env)).stdout)
      t.equal(after.pid, before.pid, 'the same process')
    })
  })

  t.test('when the supervisor is SIGKILLed its apps die with it, and ps reports and cleans up', async t => {
    const {dir, env, stateRoot} = project(t, 'apps:\n  orphan:\n    command: sleep 60\n')
    const started = await contain(['up', '-d'], dir, env)
    t.equal(started.exitCode, 0, started.all)
    const stateDir =
      readdirSync(stateRoot)
        .map(name => join(stateRoot, name))
        .find(path => existsSync(join(path, 'state.json'))) ?? ''
    const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8'))
    const [status] = JSON.parse((await contain(['ps', '--json'], dir, env)).stdout)
    process.kill(state.supervisor.pid, 'SIGKILL')
    await until(() => !existsSync(`/proc/${status.pid}`), 'the app to die with its supervisor')
    const ps = await contain(['ps'], dir, env)
    t.match(ps.stderr, /was killed; its apps died with it/)
    t.same(stateFiles(stateRoot), [], 'the stale state is removed')
  })

  // Issue 13 item 5: ps, logs, stop and down find the project by its state directory and socket;
  // contain.yml is not checked against the host again.
  t.test('ps, stop and down work after an env file of the running project is deleted', async t => {
    const {dir, env, stateRoot} = project(t, 'apps:\n  owners-envfile:\n    command: sleep 60\n    env_file: app.env\n')
    writeFileSync(join(dir, 'app.env'), 'GREETING=hello\n')
    await whileUp(t, dir, env, async () => {
      rmSync(join(dir, 'app.env'))
      const ps = await contain(['ps', '--json'], dir, env)
      t.equal(ps.exitCode, 0, ps.all)
      t.match(JSON.parse(ps.stdout), [{name: 'owners-envfile', state: 'running'}])
      const stop = await contain(['stop', 'owners-envfile'], dir, env)
      t.equal(stop.exitCode, 0, stop.all)
      const down = await contain(['down'], dir, env)
      t.equal(down.exitCode, 0, down.all)
    })
    t.same(stateFiles(stateRoot), [], 'no state or socket left')
    const again = await contain(['up', '-d'], dir, env)
    t.equal(again.exitCode, 125, 'while contain up itself still checks the file against the host')
    t.match(again.stderr, /app\.env/)
  })

  // Issue 13 items 1 and 5: up -d hands the resolved project to its supervisor, which keeps it in
  // its state directory; exec plans from it. contain.yml is read once, by the up -d itself.
  t.test('up -d runs what it resolved: contain.yml changed, then removed, after up -d; exec and restart still use it', async t => {
    const {dir, env, stateRoot} = project(
      t,
      "apps:\n  resolved:\n    command: sh -c 'echo greeting $GREETING; exec sleep 60'\n    environment: {GREETING: first}\n    user: '0'\n",
    )
    const greeting = async () => {
      const exec = await contain(['exec', 'resolved', '--', 'sh', '-c', 'echo $GREETING'], dir, env)
      t.equal(exec.exitCode, 0, exec.all)
      return exec.stdout
    }
    await whileUp(t, dir, env, async () => {
      // Changed, and then broken: neither is read by the supervisor or by exec.
      writeFileSync(join(dir, 'contain.yml'), 'apps:\n  resolved:\n    command: sleep 60\n    environment: {GREETING: second}\n')
      t.equal(await greeting(), 'first', 'exec: the environment up -d resolved, not the changed file')
      writeFileSync(join(dir, 'contain.yml'), 'apps:\n  resolved:\n    cpus: lots\n')
      const restart = await contain(['restart', 'resolved'], dir, env)
      t.equal(restart.exitCode, 0, restart.all)
      rmSync(join(dir, 'contain.yml'))
      t.equal(await greeting(), 'first', 'exec with contain.yml removed')
      await until(async () => {
        const logs = await contain(['logs', 'resolved'], dir, env)
        return (logs.stdout.match(/greeting first/g) ?? []).length === 2
      }, 'the restarted app to greet as resolved')
      const logs = await contain(['logs', 'resolved'], dir, env)
      t.notMatch(logs.stdout, /second/, 'the restart ran what up -d resolved')
      const down = await contain(['down'], dir, env)
      t.equal(down.exitCode, 0, down.all)
    })
    t.same(stateFiles(stateRoot), [], 'no state, socket or resolved project left')
  })

  t.test('up -d of an app whose setup fails exits 125 once, with the reason, and leaves nothing', async t => {
    const {dir, env, stateRoot} = project(
      t,
      'apps:\n  setup-fails:\n    command: ["true"]\n    working_dir: locked\n    user: nobody\n    restart: always\n    backoff: {initial: 10ms, max: 20ms}\n',
    )
    mkdirSync(join(dir, 'locked'), {mode: 0o700})
    const started = Date.now()
    const up = await contain(['up', '-d'], dir, env)
    t.equal(up.exitCode, 125, up.all)
    t.match(up.stderr, /setup-fails: .*cannot enter its working directory .*locked \(-w \/ working_dir:\): Permission denied/)
    t.notMatch(up.stdout, /started/, 'never said it started')
    t.ok(Date.now() - started < 20_000, 'returned once the setup had failed')
    t.same(stateFiles(stateRoot), [], 'no supervisor, state or socket left')
    t.match((await contain(['ps'], dir, env)).stdout, /is not running/)
    const log = readdirSync(stateRoot, {recursive: true})
      .map(String)
      .find(name => name.endsWith('setup-fails.log'))
    const lines = log === undefined ? '' : readFileSync(join(stateRoot, log), 'utf8')
    t.equal((lines.match(/setup-fails cannot start/g) ?? []).length, 1, 'one attempt, not a restart loop')
  })

  t.test("logs reads the log the supervisor writes, not the one today's contain.yml names", async t => {
    const {dir, env} = project(t, "apps:\n  owners-logs:\n    command: sh -c 'echo from-the-start; exec sleep 60'\n    logging: {dir: then}\n")
    await whileUp(t, dir, env, async () => {
      await until(
        () => existsSync(join(dir, 'then/owners-logs.log')) && readFileSync(join(dir, 'then/owners-logs.log'), 'utf8').includes('from-the-start'),
        'the first line in its log',
      )
      // Edited, not applied: the running app still writes to then/.
      writeFileSync(join(dir, 'contain.yml'), "apps:\n  owners-logs:\n    command: sh -c 'echo from-the-start; exec sleep 60'\n    logging: {dir: now}\n")
      const logs = await contain(['logs', 'owners-logs'], dir, env)
      t.equal(logs.exitCode, 0, logs.all)
      t.equal(logs.stdout, 'from-the-start')
      rmSync(join(dir, 'contain.yml'))
      const without = await contain(['logs', 'owners-logs'], dir, env)
      t.equal(without.stdout, 'from-the-start', 'even with contain.yml gone')
      writeFileSync(join(dir, 'contain.yml'), 'apps:\n  owners-logs:\n    command: sleep 60\n')
    })
  })

  t.test('an http health check makes the app healthy', async t => {
    const port = 20000 + Math.floor(Math.random() * 20000)
    const {dir, env} = project(
      t,
      `
apps:
  web:
    command: ["/usr/bin/python3", "-m", "http.server", "${port}", "--bind", "127.0.0.1"]
    healthcheck:
      test: {http: "http://127.0.0.1:${port}/"}
      interval: 200ms
      timeout: 1s
      retries: 2
`,
    )
    await whileUp(t, dir, env, async () => {
      await until(async () => JSON.parse((await contain(['ps', '--json'], dir, env)).stdout)[0]?.health === 'healthy', 'healthy')
      t.pass('healthy')
    })
  })

  t.test('a burst of 1,000,000 lines reaches the log files, none lost', async t => {
    const {dir, env, stateRoot} = project(t, 'apps:\n  burst:\n    command: seq 1000000\n')
    const result = await execa(process.execPath, [containBin, 'up'], {cwd: dir, env, reject: false, stdout: 'ignore', stderr: 'pipe'})
    t.equal(result.exitCode, 0, result.stderr)
    const logs = readdirSync(stateRoot, {recursive: true})
      .map(String)
      .filter(name => /burst\.log(\.\d+)?$/.test(name))
    let count = 0
    let sum = 0
    for (const file of logs) {
      for (const line of readFileSync(join(stateRoot, file), 'utf8').split('\n')) {
        if (!line) continue
        count++
        sum += Number(line.slice(29))
      }
    }
    t.equal(count, 1_000_000, `${logs.length} files`)
    t.equal(sum, (1_000_000 * 1_000_001) / 2, 'every number exactly once')
  })

  t.test('a malformed contain.yml exits 125 with file, line and column', async t => {
    const {dir, env} = project(t, 'apps:\n  web:\n    command: sleep 1\n    cpus: lots\n')
    const result = await contain(['up'], dir, env)
    t.equal(result.exitCode, 125)
    t.match(result.stderr, /contain\.yml:4:\d+: apps\.web\.cpus/)
    t.match(result.stderr, /fix: /)
  })
}
