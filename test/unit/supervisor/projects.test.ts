import {chmodSync, existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {ProjectNameTakenError} from '../../../src/errors.js'
import {acquireNameLock, checkNameFree, listProjects, projectStateDirs} from '../../../src/supervisor/projects.js'
import {processStartTime} from '../../../src/process.js'
import {stateFile, writeState, type ProjectState} from '../../../src/supervisor/state.js'
import {thrown} from '../helpers/errors.js'

function state(overrides: Partial<ProjectState> = {}): ProjectState {
  return {
    project: 'shop',
    file: '/srv/shop/contain.yml',
    supervisor: {pid: process.pid, startTime: processStartTime(process.pid) ?? ''},
    socket: '/unused',
    logsDir: '/unused',
    startedAt: '2026-12-07T01:00:00.000Z',
    ...overrides,
  }
}

t.test('projectStateDirs: only <name>-<8 hex> directories, never the names locks or a link', async t => {
  const root = t.testdir({'shop-0123abcd': {}, 'blog-89abcdef': {}, names: {shop: {}}, 'stray-file-01234567': 'x', nohash: {}})
  t.strictSame(projectStateDirs(root), [join(root, 'blog-89abcdef'), join(root, 'shop-0123abcd')])
  t.strictSame(projectStateDirs(join(root, 'missing')), [], 'no state root: no projects')
})

t.test('listProjects: a killed supervisor is listed as killed and its state removed; an untrusted directory is named and left out', async t => {
  const root = t.testdir({})
  const dead = join(root, 'blog-89abcdef')
  // pid 1 with a start time it never had: a supervisor that is gone.
  writeState(dead, state({project: 'blog', file: '/srv/blog/contain.yml', supervisor: {pid: 1, startTime: '0'}}))
  const open = join(root, 'shop-0123abcd')
  writeState(open, state())
  chmodSync(open, 0o777)
  const {projects, warnings} = await listProjects(root)
  t.strictSame(
    projects.map(project => [project.project, project.dir, project.killed, project.apps]),
    [['blog', '/srv/blog', true, []]],
  )
  t.notOk(existsSync(stateFile(dead)), "the killed supervisor's state is removed")
  t.equal(warnings.length, 1)
  t.match(warnings[0], `${open}: is writable by other users`)
})

t.test('acquireNameLock: a second directory under a held name is refused, naming both and the name: fix', async t => {
  const root = t.testdir({})
  const env = {CONTAIN_STATE_DIR: root}
  const shop = {name: 'shop', dir: '/srv/shop', file: '/srv/shop/contain.yml'}
  const other = {name: 'shop', dir: '/srv/staging/shop', file: '/srv/staging/shop/contain.yml'}
  const lock = acquireNameLock(shop, env)
  try {
    // The holder's state, as its supervisor writes it.
    mkdirSync(join(root, 'shop-0123abcd'))
    writeState(join(root, 'shop-0123abcd'), state())
    const error = thrown(() => acquireNameLock(other, env))
    t.type(error, ProjectNameTakenError)
    t.equal(error.message, `project name "shop" is already used by /srv/shop (supervisor pid ${process.pid}); /srv/staging/shop cannot run under the same name`)
    t.match((error as ProjectNameTakenError).fix, 'name: shop-2 in /srv/staging/shop/contain.yml')
    t.equal((error as ProjectNameTakenError).exitCode, 125)
    t.type(
      thrown(() => checkNameFree(other, env)),
      ProjectNameTakenError,
      'up -d checks it before it starts a supervisor',
    )
  } finally {
    lock.release()
  }
  t.doesNotThrow(() => checkNameFree(other, env), 'free again once released')
  acquireNameLock(other, env).release()
  writeFileSync(join(root, 'unused'), '')
})
