/**
 * Part 5 of the hardening suite: names and paths. App names cannot hold `/`, `..` or control
 * characters; state paths stay inside the state root whatever the project directory is called;
 * the state directory is 0700 and the socket 0600, owned by the user; a running project is not
 * started twice, and a SIGKILLed supervisor's stale state does not block the next start.
 */
import {lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import t from 'tap'
import {cli, figure, requireRoot, settledLeftovers, stateFiles, token, until} from './helpers.js'

/** The state root's project directories: beside them, names/ holds one lock per project name. */
const projectEntries = (stateRoot: string) => readdirSync(stateRoot).filter(name => name !== 'names')

const mark = token('np')

if (requireRoot(t)) {
  t.test('app names with /, .. or control characters are refused, by --name and in every file', async t => {
    const dir = t.testdir({})
    let refused = 0
    const bad = ['a/b', '../x', 'a..b', 'a\nb', 'a\tb', 'a\u0007b', '.', '..']
    for (const name of bad) {
      const run = await cli(['run', '--name', name, '--', 'true'])
      t.equal(run.exitCode, 125, `--name ${JSON.stringify(name)}: ${run.stderr.split('\n')[0]}`)
      const project = join(dir, `y${refused}`)
      mkdirSync(project)
      writeFileSync(join(project, 'contain.yml'), `apps:\n  ${JSON.stringify(name)}:\n    command: sleep 1\n`)
      const up = await cli(['up'], {cwd: project, env: {CONTAIN_STATE_DIR: join(dir, 'state')}})
      t.equal(up.exitCode, 125, `contain.yml app ${JSON.stringify(name)}: ${up.stderr.split('\n')[0]}`)
      refused += Number(run.exitCode === 125) + Number(up.exitCode === 125)
    }
    figure(t, `names: ${bad.length * 2} bad app names tried, ${refused} refused`)
  })

  t.test('state stays in the state root, 0700 and 0600 and owned by the user; a second up starts nothing; stale state recovers', async t => {
    // A project directory whose name holds a space, a newline and dots: the state directory still
    // has to be one plain entry of the state root.
    const root = t.testdir({})
    const stateRoot = join(root, 'state')
    const cwd = join(root, `we ird\n..name-${mark}`)
    mkdirSync(cwd)
    writeFileSync(join(cwd, 'contain.yml'), `apps:\n  n${mark}:\n    command: sleep 60\n`)
    const env = {CONTAIN_STATE_DIR: stateRoot}
    try {
      const up = await cli(['up', '-d'], {cwd, env})
      t.equal(up.exitCode, 0, up.stderr)
      const [project] = projectEntries(stateRoot)
      t.match(project, /^we-ird-\.\.name-[a-z0-9]+-[0-9a-f]{8}$/, `one safe entry in the state root: ${JSON.stringify(project)}`)
      const stateDir = join(stateRoot, project)
      const socket = join(stateDir, 'control.sock')
      for (const [path, mode] of [
        [stateRoot, 0o700],
        [stateDir, 0o700],
        [socket, 0o600],
        [join(stateDir, 'state.json'), 0o600],
      ] as const) {
        const stat = lstatSync(path)
        t.equal((stat.mode & 0o777).toString(8), mode.toString(8), `${path.slice(root.length)} is ${mode.toString(8)}`)
        t.equal(stat.uid, process.getuid?.(), `${path.slice(root.length)} belongs to the invoking user`)
      }
      // And the project name's lock: names/<name>/lock, as private as the state directory.
      const names = join(stateRoot, 'names')
      for (const file of stateFiles(stateRoot)) {
        if (dirname(dirname(file)) === names) {
          t.equal(basename(file), 'lock', `${file.slice(root.length)} is the name's lock`)
          t.equal((lstatSync(dirname(file)).mode & 0o777).toString(8), '700', `${dirname(file).slice(root.length)} is 700`)
        } else {
          t.equal(dirname(file), stateDir, `${file.slice(root.length)} is inside the project's state directory`)
        }
      }

      // Since issue 12 a second up applies the file to the supervisor that runs: one supervisor still.
      const second = await cli(['up', '-d'], {cwd, env})
      t.equal(second.exitCode, 0, `a second up applies the unchanged file: ${second.stderr}`)
      t.equal(second.stdout.trim(), `n${mark}: unchanged`)
      t.same(
        readdirSync(stateRoot).filter(name => name !== 'names'),
        [project],
        'still one state directory (names/ holds the name locks)',
      )

      // Stale-lock recovery: the supervisor is SIGKILLed, its state stays; the next up starts anyway.
      const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8'))
      process.kill(state.supervisor.pid, 'SIGKILL')
      await until(() => {
        try {
          return /^\S+ \(\S+\) [ZX]/.test(readFileSync(`/proc/${state.supervisor.pid}/stat`, 'utf8'))
        } catch {
          return true
        }
      }, 'the supervisor to die')
      const again = await cli(['up', '-d'], {cwd, env})
      t.equal(again.exitCode, 0, `up after a SIGKILLed supervisor: ${again.stderr}`)
      const ps = JSON.parse((await cli(['ps', '--json'], {cwd, env})).stdout || '[]')
      t.match(ps, [{name: `n${mark}`, state: 'running'}], 'the project runs again')
    } finally {
      await cli(['down'], {cwd, env})
    }
    t.same(await settledLeftovers(mark, stateRoot), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
  })

  t.test('a state directory another user could write to is refused', async t => {
    const root = t.testdir({'contain.yml': `apps:\n  o${mark}:\n    command: sleep 60\n`})
    const open = join(root, 'open')
    mkdirSync(open, {mode: 0o777})
    const {chmodSync} = await import('node:fs')
    chmodSync(open, 0o777)
    const up = await cli(['up'], {cwd: root, env: {CONTAIN_STATE_DIR: join(open, 'state')}})
    t.equal(up.exitCode, 125, 'refused')
    t.match(up.stderr, /is writable by other users, so another user could reach the control socket/, up.stderr.split('\n')[0])
    t.same(await settledLeftovers(mark, join(open, 'state')), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
  })
}
