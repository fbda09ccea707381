/**
 * contain up on a running project applies the changed contain.yml (issue 12, item 2), checked on
 * this host's kernel: the changed app has a new pid and its new limit in its real cgroup, the
 * unchanged one keeps its pid, a new one runs, a removed one is stopped and its cgroup gone; a
 * broken file or an unknown app changes nothing, even asked of the supervisor directly.
 */
import {execa} from 'execa'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {callControl} from '../../src/supervisor/control.js'
import {assertNothingLeftBehind, containBin, requireRoot} from './helpers.js'

const mark = `${process.pid}`

function contain(args: string[], cwd: string, env: Record<string, string>) {
  return execa(process.execPath, [containBin, ...args], {cwd, env, reject: false, all: true})
}

interface Status {
  name: string
  state: string
  pid?: number
}

async function ps(cwd: string, env: Record<string, string>): Promise<Record<string, Status>> {
  const result = await contain(['ps', '--json'], cwd, env)
  return Object.fromEntries((JSON.parse(result.stdout || '[]') as Status[]).map(status => [status.name, status]))
}

/** The app's cgroup directories on the host, as contain inspect names them. */
async function cgroupDirs(app: string, cwd: string, env: Record<string, string>): Promise<string[]> {
  const inspect = await contain(['inspect', app], cwd, env)
  return /^cgroup: (.*)$/m.exec(inspect.stdout)?.[1].split(' ') ?? []
}

/** The memory limit the kernel enforces on the app: memory.max (v2) or memory.limit_in_bytes (v1) of its real cgroup, and how many processes are in it. */
async function memoryLimit(app: string, cwd: string, env: Record<string, string>): Promise<{limit?: string; processes: number}> {
  for (const dir of await cgroupDirs(app, cwd, env)) {
    for (const file of ['memory.max', 'memory.limit_in_bytes']) {
      if (!existsSync(join(dir, file))) continue
      const processes = readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean).length
      return {limit: readFileSync(join(dir, file), 'utf8').trim(), processes}
    }
  }
  return {processes: 0}
}

function controlSocket(stateRoot: string): string {
  // Project directories end in -<8 hex>; names/ holds the project-name locks.
  const [project] = readdirSync(stateRoot).filter(name => /-[0-9a-f]{8}$/.test(name))
  return join(stateRoot, project, 'control.sock')
}

const app = (name: string, more = '') => `  ${name}:\n    command: sleep 300\n    user: "0"\n    stop_grace_period: 1s\n${more}`

if (requireRoot(t)) {
  assertNothingLeftBehind(t)
  // About 30 contain commands, each a Node start: a minute on a busy host, more than tap's default
  // (never less than a --timeout given, as the cgroup v2 guest needs).
  t.setTimeout(Math.max(300_000, Number(process.env.TAP_TIMEOUT ?? 0) * 1000))

  t.test('up -d again applies contain.yml: recreated, unchanged, started, removed; bad input changes nothing', async t => {
    const [a, b, c] = [`deploya${mark}`, `deployb${mark}`, `deployc${mark}`]
    const dir = t.testdir({state: {}})
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    const write = (text: string) => writeFileSync(join(dir, 'contain.yml'), `apps:\n${text}`)
    write(app(a, '    mem_limit: 64m\n') + app(b))
    try {
      const started = await contain(['up', '-d'], dir, env)
      t.equal(started.exitCode, 0, started.all)
      const before = await ps(dir, env)
      t.match(await memoryLimit(a, dir, env), {limit: String(64 * 2 ** 20)}, `${a} starts with 64m`)

      // a's limit changes and c is new: a recreated, b left alone, c started.
      write(app(a, '    mem_limit: 128m\n') + app(b) + app(c))
      const applied = await contain(['up', '-d', '--json'], dir, env)
      t.equal(applied.exitCode, 0, applied.stderr)
      t.same(JSON.parse(applied.stdout), [
        {name: a, action: 'recreated', changes: ['mem_limit 64m -> 128m']},
        {name: b, action: 'unchanged', changes: []},
        {name: c, action: 'started', changes: []},
      ])
      const after = await ps(dir, env)
      t.equal(after[a]?.state, 'running')
      t.not(after[a]?.pid, before[a]?.pid, `${a} has a new pid`)
      t.equal(after[b]?.pid, before[b]?.pid, `${b} keeps its pid`)
      t.equal(after[c]?.state, 'running', `${c} runs`)
      const limit = await memoryLimit(a, dir, env)
      t.equal(limit.limit, String(128 * 2 ** 20), `${a}'s real cgroup has the new limit`)
      t.ok(limit.processes > 0, `${a}'s processes are in that cgroup`)

      // c removed from the file: stopped, its cgroup gone.
      const cDirs = await cgroupDirs(c, dir, env)
      t.ok(cDirs.length > 0 && cDirs.every(path => existsSync(path)), `${c} has cgroups`)
      write(app(a, '    mem_limit: 128m\n') + app(b))
      const removed = await contain(['up', '-d'], dir, env)
      t.equal(removed.exitCode, 0, removed.stderr)
      t.match(removed.stdout, new RegExp(`^${c}: removed$`, 'm'))
      const left = await ps(dir, env)
      t.notOk(left[c], `${c} is no longer supervised`)
      t.notOk(after[c]?.pid !== undefined && existsSync(`/proc/${after[c].pid}`), `${c}'s process is gone`)
      t.same(
        cDirs.filter(path => existsSync(path)),
        [],
        `${c}'s cgroups are removed`,
      )

      // A broken file: the error names its line and column, and nothing changes.
      write(app(a, '    mem_limit: 12\n') + app(b))
      const broken = await contain(['up', '-d'], dir, env)
      t.equal(broken.exitCode, 125)
      t.match(broken.stderr, /contain\.yml:\d+:\d+: apps\.\S+\.mem_limit: the minimum memory limit is 6 MiB/)
      // The supervisor validates on its own too, before it stops anything: asked directly, with --force-recreate.
      const direct = await callControl(controlSocket(join(dir, 'state')), 'apply', {apps: [], recreate: 'always'}).then(
        () => undefined,
        (error: Error) => error,
      )
      t.match(direct?.message, /contain\.yml:\d+:\d+: apps\.\S+\.mem_limit/, 'the supervisor refuses the broken file itself')
      write(app(a, '    mem_limit: 128m\n') + app(b))
      const unknown = await contain(['up', '-d', 'nope', b], dir, env)
      t.equal(unknown.exitCode, 125)
      t.match(unknown.stderr, /no app named "nope"/)
      const unknownDirect = await callControl(controlSocket(join(dir, 'state')), 'apply', {apps: ['nope', a], recreate: 'always'}).then(
        () => undefined,
        (error: Error) => error,
      )
      t.match(unknownDirect?.message, /no app named "nope"/)
      const still = await ps(dir, env)
      t.same([still[a]?.pid, still[b]?.pid], [after[a]?.pid, after[b]?.pid], 'a broken file or an unknown app stopped nothing')
      t.same([still[a]?.state, still[b]?.state], ['running', 'running'])

      // up APP: only that app; --no-recreate leaves a change alone.
      write(app(a, '    mem_limit: 96m\n') + app(b, '    mem_limit: 96m\n'))
      const kept = await contain(['up', '-d', '--no-recreate'], dir, env)
      t.equal(kept.exitCode, 0, kept.stderr)
      t.match(kept.stdout, new RegExp(`^${a}: changed, not recreated \\(--no-recreate\\): mem_limit 128m -> 96m$`, 'm'))
      const one = await contain(['up', '-d', b], dir, env)
      t.equal(one.stdout, `${b}: recreated (mem_limit unset -> 96m)`)
      const last = await ps(dir, env)
      t.equal(last[a]?.pid, after[a]?.pid, `${a} was not named: left alone`)
      t.not(last[b]?.pid, after[b]?.pid, `${b} recreated`)
    } finally {
      const down = await contain(['down'], dir, env)
      t.equal(down.exitCode, 0, down.all)
    }
    t.same(
      readdirSync(join(dir, 'state'), {recursive: true}).filter(name => /(state\.json|control\.sock|lock)$/.test(String(name))),
      [],
      'down leaves no state',
    )
  })

  t.test('a foreground up in another terminal: its only app recreated, it keeps supervising', async t => {
    const name = `deployfg${mark}`
    const dir = t.testdir({state: {}})
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    writeFileSync(join(dir, 'contain.yml'), `apps:\n${app(name, '    mem_limit: 64m\n')}`)
    const foreground = execa(process.execPath, [containBin, 'up', '--no-color'], {cwd: dir, env, reject: false, all: true})
    try {
      const deadline = Date.now() + 20_000
      while ((await ps(dir, env))[name]?.state !== 'running') {
        if (Date.now() > deadline) throw new Error('the foreground up did not start its app')
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      const before = await ps(dir, env)
      writeFileSync(join(dir, 'contain.yml'), `apps:\n${app(name, '    mem_limit: 80m\n')}`)
      const applied = await contain(['up'], dir, env)
      t.equal(applied.exitCode, 0, applied.stderr)
      t.equal(applied.stdout, `${name}: recreated (mem_limit 64m -> 80m)`)
      const after = await ps(dir, env)
      t.equal(after[name]?.state, 'running')
      t.not(after[name]?.pid, before[name]?.pid, 'a new pid')
      t.equal((await memoryLimit(name, dir, env)).limit, String(80 * 2 ** 20))
      t.equal(foreground.exitCode, null, 'the foreground up runs on: its only app was recreated, not ended')
    } finally {
      await contain(['down'], dir, env)
    }
    const ended = await foreground
    t.equal(ended.exitCode, 0, `the foreground up ends with down: ${ended.all}`)
  })
}
