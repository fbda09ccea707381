import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import t from 'tap'
import {FOREMAN_BASE_PORT, loadProcfile, parseProcfile} from '../../../src/config/procfile.js'
import {loadProject, type LoadOptions} from '../../../src/config/project.js'
import {defaultSupervision} from '../../../src/config/supervision.js'
import {FileError, InvalidValueError} from '../../../src/errors.js'
import type {HostFacts} from '../../../src/launch/options.js'
import {rejection, thrown} from '../helpers/errors.js'
import type {TestContext} from '../helpers/tap.js'

const fixtures = fileURLToPath(new URL('../fixtures/config/', import.meta.url))

function options(dir: string, env: Record<string, string | undefined> = {}): LoadOptions {
  const host: HostFacts = {cpus: 2, env, cwd: dir, readFile: path => readFileSync(path, 'utf8')}
  return {env, host}
}

/** Writes a Procfile (and `files`) to a fresh dir, removed after the test; returns its path. */
function procfile(t: TestContext, text: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'contain-procfile-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  for (const [name, content] of Object.entries({Procfile: text, ...files})) writeFileSync(join(dir, name), content)
  return join(dir, 'Procfile')
}

/** The FileError a Procfile fails with: [message after the file name, fix]. */
function parseError(text: string): [string, string | undefined] {
  const error = thrown(() => parseProcfile('Procfile', text))
  if (!(error instanceof FileError)) throw error
  return [error.message.replace(/^Procfile:/, ''), error.fix]
}

t.test("one app per process type, in order, with foreman's ports", async t => {
  const file = join(fixtures, 'Procfile')
  const project = await loadProcfile(file, options(fixtures))
  t.equal(project.file, file)
  t.equal(project.dir, fixtures.replace(/\/$/, ''))
  t.equal(project.name, 'config')
  t.strictSame(
    project.apps.map(app => [app.name, app.command, app.input.environment, app.location]),
    [
      ['web', ['sh', '-c', 'bundle exec rails s -p $PORT'], {PORT: '5000'}, {line: 2, column: 1}],
      ['worker', ['sh', '-c', 'bundle exec sidekiq'], {PORT: '5100'}, {line: 4, column: 1}],
      ['clock', ['sh', '-c', 'bundle exec clockwork clock.rb'], {PORT: '5200'}, {line: 5, column: 1}],
    ],
  )
  t.equal(FOREMAN_BASE_PORT, 5000)
  for (const app of project.apps) {
    t.equal(app.input.name, app.name)
    t.equal(app.input.workdir, project.dir, "apps run in the Procfile's directory")
    t.strictSame(app.supervision, defaultSupervision())
    t.strictSame(app.envFiles, [])
  }
})

t.test("the environment: the host's < .env < PORT", async t => {
  const file = procfile(t, 'web: rackup\nworker: sidekiq\n', {'.env': 'RACK_ENV=production\nPORT=3000\n'})
  const project = await loadProcfile(file, options(join(file, '..'), {PORT: '8000'}))
  t.strictSame(
    project.apps.map(app => app.input.environment),
    [
      {RACK_ENV: 'production', PORT: '3000'},
      {RACK_ENV: 'production', PORT: '3100'},
    ],
    '.env PORT is the first port, as foreman takes it',
  )
  t.strictSame(project.apps[0].envFiles, [join(file, '../.env')])
})

t.test("the host's PORT is the first port when .env has none", async t => {
  const file = procfile(t, 'web: rackup\nworker: sidekiq\n')
  const project = await loadProcfile(file, options(join(file, '..'), {PORT: '8000'}))
  t.strictSame(
    project.apps.map(app => app.input.environment),
    [{PORT: '8000'}, {PORT: '8100'}],
  )
})

t.test('a PORT that is not a port is an error', async t => {
  const file = procfile(t, 'web: rackup\n', {'.env': 'PORT=http\n'})
  const error = await rejection(loadProcfile(file, options(join(file, '..'))))
  t.equal(error.message, `${join(file, '../.env')}: PORT is not a port number (got "http")`)
  t.match((error as FileError).fix, /1 to 65535/)
})

t.test('parsing', async t => {
  t.test('comments, blank lines, CRLF and spacing', async t => {
    const entries = parseProcfile('Procfile', '# comment\r\n\r\n  web:bundle exec puma  \r\n\t# indented comment\nrelease:   rake db:migrate\n')
    t.strictSame(entries, [
      {name: 'web', command: 'bundle exec puma', line: 3, column: 7},
      {name: 'release', command: 'rake db:migrate', line: 5, column: 12},
    ])
  })

  t.test('a colon in the command is kept', async t => {
    t.equal(parseProcfile('Procfile', 'web: echo a:b\n')[0].command, 'echo a:b')
  })

  t.test('errors carry the line', async t => {
    t.strictSame(parseError('web: rackup\nthis is not a process\n'), [
      '2:1: not a process line ("this is not a process")',
      'write NAME: COMMAND, e.g. web: bundle exec rails s -p $PORT; start comments with #',
    ])
    t.strictSame(parseError('web: rackup\n  worker:\n'), ['2:10: worker: has no command', 'write the command after "worker:"'])
    t.strictSame(parseError('web: a\nworker: b\nweb: c\n'), ['3:1: web: duplicate process type (first at line 1)', 'give each process type its own name'])
    t.strictSame(parseError('-web: a\n')[0], '1:1: "-web" is not a valid process name')
    t.strictSame(parseError(`${'w'.repeat(64)}: a\n`)[0], `1:1: "${'w'.repeat(64)}" is not a valid process name`)
  })

  t.test('a Procfile with no processes is an error', async t => {
    for (const text of ['', '# only comments\n\n'])
      t.strictSame(parseError(text), [' has no processes', 'add one NAME: COMMAND line per process, e.g. web: bundle exec rails s -p $PORT'])
  })
})

t.test('binary data and huge files are refused, as for contain.yml', async t => {
  const binary = procfile(t, 'web: a\0b\n')
  t.equal((await rejection(loadProcfile(binary, options(join(binary, '..'))))).message, `${binary}: is not a text file (it holds NUL bytes)`)
  const huge = procfile(t, `web: a\n${'#'.repeat(2 ** 20)}\n`)
  t.match((await rejection(loadProcfile(huge, options(join(huge, '..'))))).message, /contain reads config files up to 1 MiB$/)
})

t.test('loadProject reads a file named Procfile as one', async t => {
  const file = procfile(t, 'web: rackup\n')
  t.strictSame(
    (await loadProject(file, options(join(file, '..')))).apps.map(app => app.command),
    [['sh', '-c', 'rackup']],
  )
})

t.test('values contain run refuses are reported at the line', async t => {
  const file = procfile(t, '# web\nweb: rackup\n')
  const resolve: LoadOptions['resolve'] = async (_input, _command, _host, naming) => {
    throw new InvalidValueError(naming.name('workdir'), '/gone', 'is not an existing directory', 'create the directory first')
  }
  const error = await rejection(loadProcfile(file, {...options(join(file, '..')), resolve}))
  t.type(error, FileError)
  t.equal(error.message, `${file}:2:6: web: working_dir: is not an existing directory (got "/gone")`)
  t.equal((error as FileError).fix, 'create the directory first')
})
