// openProject (issue 13 item 5): client commands find a project by its directory's state, never by
// checking contain.yml against the host.
import {chmodSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {projectNameOf} from '../../../src/config/project.js'
import {processStartTime} from '../../../src/process.js'
import {openProject} from '../../../src/supervisor/client.js'
import {projectDir, writeState, type ProjectState} from '../../../src/supervisor/state.js'

/** A project directory and a state root of its own (CONTAIN_STATE_DIR for the test's duration). */
function project(t: Test, yml: string): {dir: string; file: string} {
  const dir = t.testdir({'contain.yml': yml, state: {}})
  chmodSync(dir, 0o755)
  const saved = process.env.CONTAIN_STATE_DIR
  process.env.CONTAIN_STATE_DIR = join(dir, 'state')
  chmodSync(join(dir, 'state'), 0o700)
  t.teardown(() => (saved === undefined ? delete process.env.CONTAIN_STATE_DIR : (process.env.CONTAIN_STATE_DIR = saved)))
  return {dir, file: join(dir, 'contain.yml')}
}

function running(file: string, name: string): ProjectState {
  const stateDir = projectDir(file)
  const state: ProjectState = {
    project: name,
    file,
    supervisor: {pid: process.pid, startTime: processStartTime(process.pid) ?? ''},
    socket: join(stateDir, 'control.sock'),
    logsDir: join(stateDir, 'logs'),
    startedAt: new Date().toISOString(),
  }
  writeState(stateDir, state)
  return state
}

t.test('a project that does not run: its name from contain.yml, nothing else of the file read or checked', async t => {
  const {dir} = project(t, 'name: owners-shop\napps:\n  web:\n    command: sleep 1\n    env_file: deleted.env\n    memory: not-a-size\n')
  const handle = await openProject(dir)
  t.equal(handle.name, 'owners-shop')
  t.equal(handle.state, undefined)
  writeFileSync(join(dir, 'contain.yml'), '{ not yaml')
  t.equal((await openProject(dir)).name, projectNameOf(dir), "a file that is not YAML: the directory's name")
})

t.test("a running project is its state's, even with env files or contain.yml itself gone", async t => {
  const {dir, file} = project(t, 'name: owners-run\napps:\n  web:\n    command: sleep 1\n    env_file: app.env\n')
  const state = running(file, 'owners-run')
  const handle = await openProject(dir)
  t.same(handle.state, state)
  t.equal(handle.name, 'owners-run')
  rmSync(file)
  t.same((await openProject(dir)).state, state, 'found by the directory')
  t.same((await openProject(dir, 'contain.yml')).state, state, 'and with -f')
})

t.test('no project file and nothing running here: the error says how to start one', async t => {
  const {dir, file} = project(t, 'apps: {}\n')
  rmSync(file)
  await t.rejects(openProject(dir), {message: `no contain.yml, contain.yaml or Procfile in ${dir}`})
})
