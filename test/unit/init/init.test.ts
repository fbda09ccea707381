/**
 * `contain init` on temp dirs: a Rails app, a Procfile, both, an empty directory, the example
 * app; the file it writes loads as `contain up` loads it, and nothing is written over.
 */
import {cpSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import t from 'tap'
import {parse} from 'yaml'
import {loadProject, splitCommand} from '../../../src/config/project.js'
import {ContainError, FileError} from '../../../src/errors.js'
import {detectProject} from '../../../src/init/detect.js'
import {initProject} from '../../../src/init/init.js'
import {commandFromProcfile, renderProject} from '../../../src/init/render.js'
import {rejection} from '../helpers/errors.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const EXAMPLE = join(ROOT, 'examples/rails-app')

type Tree = {[name: string]: string | Tree}

const RAILS_FILES: Tree = {
  Gemfile: 'source "https://rubygems.org"\n\ngem "rails", "~> 7.1"\ngem "puma"\n',
  'config.ru': 'require_relative "config/environment"\nrun Rails.application\n',
  bin: {rails: '#!/usr/bin/env ruby\n'},
  config: {'routes.rb': 'Rails.application.routes.draw do\n  get "up" => "rails/health#show", as: :rails_health_check\nend\n'},
  tmp: {pids: {}, cache: {}},
  log: {},
}

t.test('a Rails app: web with limits, a read-only root, tmp/pids a tmpfs, the /up check', async t => {
  const dir = t.testdir(RAILS_FILES)
  const result = await initProject({dir, force: false})
  t.same(result, {
    file: join(dir, 'contain.yml'),
    replaced: false,
    apps: [{name: 'web', from: 'rails'}],
    detected: {rails: ['Gemfile names rails', 'config.ru', 'bin/rails'], procfile: undefined},
  })
  const text = readFileSync(result.file, 'utf8')
  t.match(text, /^# yaml-language-server: \$schema=\/.*templates\/contain\.schema\.json$/m, 'editors find the schema')
  t.match(text, /It found a Rails app \(Gemfile names rails, config\.ru, bin\/rails\)\./)
  t.notMatch(text, /no \/up route/, 'the app has /up')
  t.match(text, /^ {2}#worker:$/m, 'a worker is proposed, commented out')

  const project = await loadProject(result.file)
  t.equal(project.apps.length, 1)
  const [web] = project.apps
  t.strictSame(web.command, ['bundle', 'exec', 'rails', 's', '-b', '127.0.0.1', '-p', '3000'])
  t.match(web.input, {cpus: '1', memory: '512m', 'pids-limit': '200', seccomp: 'default', 'read-only': true})
  t.strictSame(web.input.tmpfs, ['/tmp', join(dir, 'tmp/pids')])
  t.strictSame(web.input.writable, [join(dir, 'tmp'), join(dir, 'log')])
  t.match(web.supervision, {
    restart: {policy: 'on-failure'},
    healthcheck: {kind: 'http', target: 'http://127.0.0.1:3000/up', intervalMs: 5000, startPeriodMs: 30_000},
    stopGraceMs: 10_000,
  })
})

/** `tree` without the entries named. */
function without(tree: Tree, ...names: string[]): Tree {
  return Object.fromEntries(Object.entries(tree).filter(([name]) => !names.includes(name)))
}

t.test('a Rails app without tmp/, log/ or an /up route (a fresh clone): what is missing is said, and contain makes it', async t => {
  const dir = t.testdir({...without(RAILS_FILES, 'log'), tmp: {}, config: {'routes.rb': 'Rails.application.routes.draw do\nend\n'}})
  const result = await initProject({dir, force: false})
  const text = readFileSync(result.file, 'utf8')
  t.match(text, /config\/routes\.rb has no \/up route/)
  t.match(text, /log, tmp\/pids do not exist yet: contain makes them at the first start, owned by the app's user/)
  const [web] = (await loadProject(result.file)).apps
  t.strictSame(web.input.tmpfs, ['/tmp', join(dir, 'tmp/pids')])
  t.strictSame(web.input.writable, [join(dir, 'tmp'), join(dir, 'log')])

  const bare = t.testdir(without(RAILS_FILES, 'tmp', 'log'))
  const [noTmp] = (await loadProject((await initProject({dir: bare, force: false})).file)).apps
  t.ok(noTmp.input['read-only'], 'read_only even without tmp/: contain makes tmp/ writable at the first start')
  t.strictSame(noTmp.input.writable, [join(bare, 'tmp'), join(bare, 'log')])
})

t.test('not a Rails app: a Gemfile naming rails alone, or rails commented out', async t => {
  t.notOk(detectProject(t.testdir({Gemfile: 'gem "rails"\n'})).rails, 'no config.ru and no bin/rails')
  t.notOk(detectProject(t.testdir({Gemfile: '# gem "rails"\ngem "sinatra"\n', 'config.ru': ''})).rails)
  t.same(detectProject(t.testdir({Gemfile: "gem 'railties', '6.1'\n", 'config.ru': ''})).rails?.evidence, ['Gemfile names railties', 'config.ru'])
})

t.test('a Procfile: one app per process type, $PORT as foreman sets it, release left out', async t => {
  const dir = t.testdir({Procfile: 'web: bundle exec puma -p $PORT\nworker: ruby worker.rb\nrelease: rake db:migrate\nclock: sh -c "sleep 1 && echo tick"\n'})
  const result = await initProject({dir, force: false})
  t.same(result.apps, [
    {name: 'web', from: 'procfile'},
    {name: 'worker', from: 'procfile'},
    {name: 'clock', from: 'procfile'},
  ])
  t.same(result.detected, {rails: undefined, procfile: ['web', 'worker', 'release', 'clock']})
  const text = readFileSync(result.file, 'utf8')
  t.match(text, /release left out: it runs once per deploy/)
  t.match(text, /#healthcheck: \{test: \{http: "http:\/\/127\.0\.0\.1:5000\/up"\}/, 'web gets a health check to fill in')

  const [web, worker, clock] = (await loadProject(result.file)).apps
  t.strictSame(web.command, ['sh', '-c', 'exec bundle exec puma -p $PORT'], 'a shell for $PORT; exec so that puma gets the stop signal')
  t.equal(web.input.environment?.PORT, '5000', "foreman's first port")
  t.strictSame(worker.command, ['ruby', 'worker.rb'], 'no shell where none is needed')
  t.notOk(worker.input.environment && 'PORT' in worker.input.environment, 'no PORT for a command that does not use it')
  t.strictSame(clock.command, ['sh', '-c', 'sleep 1 && echo tick'], "quoted operators need no shell of contain's")
})

t.test('commands from a Procfile', async t => {
  t.equal(commandFromProcfile('bundle exec sidekiq -C config/sidekiq.yml'), 'bundle exec sidekiq -C config/sidekiq.yml')
  t.equal(commandFromProcfile('bin/rails server -p $PORT -e $RAILS_ENV'), '["sh", "-c", "exec bin/rails server -p $PORT -e $RAILS_ENV"]')
  t.equal(
    commandFromProcfile('bundle exec rake jobs:work && echo done'),
    '["sh", "-c", "bundle exec rake jobs:work && echo done"]',
    'no exec in front of a list of commands',
  )
  t.equal(commandFromProcfile("ruby -e 'puts 1'"), '"ruby -e \'puts 1\'"', 'quotes kept: the words are split as a shell would')
})

t.test("a Rails app with a Procfile: web is the Rails app with the Procfile's command", async t => {
  const dir = t.testdir({...RAILS_FILES, Procfile: 'web: bin/rails server -p $PORT\nworker: bundle exec sidekiq\n'})
  const result = await initProject({dir, force: false})
  t.same(result.apps, [
    {name: 'web', from: 'rails'},
    {name: 'worker', from: 'procfile'},
  ])
  const [web, worker] = (await loadProject(result.file)).apps
  t.strictSame(web.command, ['sh', '-c', 'exec bin/rails server -p $PORT'])
  t.equal(web.input.environment?.PORT, '3000', 'the port the /up check uses')
  t.equal(web.supervision.healthcheck?.target, 'http://127.0.0.1:3000/up')
  t.strictSame(worker.command, ['bundle', 'exec', 'sidekiq'])
  t.notMatch(readFileSync(result.file, 'utf8'), /#worker:/, 'no example worker when the Procfile has one')
})

t.test('an empty directory: one app to fill in, which says so when run', async t => {
  const dir = t.testdir({})
  const result = await initProject({dir, force: false})
  t.same(result.apps, [{name: 'app', from: 'placeholder'}])
  t.match(readFileSync(result.file, 'utf8'), /It found neither a Rails app nor a Procfile\./)
  const [app] = (await loadProject(result.file)).apps
  t.match(app.command.join(' '), /replace this command with the one that starts your app/)
})

t.test('never writes over a project file without --force', async t => {
  const dir = t.testdir({'contain.yml': 'apps: {web: {command: sleep 1}}\n'})
  const error = await rejection(initProject({dir, force: false}))
  t.type(error, ContainError)
  t.equal((error as ContainError).exitCode, 125)
  t.match(error.message, `${join(dir, 'contain.yml')} already exists`)
  t.match((error as ContainError).fix, /--force/)
  t.equal(readFileSync(join(dir, 'contain.yml'), 'utf8'), 'apps: {web: {command: sleep 1}}\n', 'untouched')

  const forced = await initProject({dir, force: true})
  t.equal(forced.replaced, true)
  t.match(readFileSync(join(dir, 'contain.yml'), 'utf8'), /written by `contain init`/)

  const yaml = t.testdir({'contain.yaml': 'apps: {web: {command: sleep 1}}\n'})
  t.match((await rejection(initProject({dir: yaml, force: false}))).message, 'contain.yaml already exists')
  t.equal((await initProject({dir: yaml, force: true})).file, join(yaml, 'contain.yaml'), '--force replaces the contain.yaml that is there')
  t.notOk(existsSync(join(yaml, 'contain.yml')), 'no second project file next to it')
})

t.test('a broken Procfile is reported with its line, and nothing is written', async t => {
  const dir = t.testdir({Procfile: 'web: rails s\nthis is not a process line\n'})
  const error = await rejection(initProject({dir, force: false}))
  t.type(error, FileError)
  t.match(error.message, `${join(dir, 'Procfile')}:2:1: not a process line`)
  t.notOk(existsSync(join(dir, 'contain.yml')))
})

t.test('the example app: init refuses its contain.yml, and on a copy proposes what it holds', async t => {
  t.match((await rejection(initProject({dir: EXAMPLE, force: false}))).message, 'already exists')
  const dir = t.testdir({})
  for (const path of ['Gemfile', 'config.ru', 'bin', 'config', 'app', 'worker.rb']) cpSync(join(EXAMPLE, path), join(dir, path), {recursive: true})
  mkdirSync(join(dir, 'tmp/pids'), {recursive: true})
  const result = await initProject({dir, force: false})
  t.same(result.detected.rails, ['Gemfile names railties', 'config.ru', 'bin/rails'])
  const [proposed] = (await loadProject(result.file)).apps
  // The example is read as YAML: loading it needs its tmp/, which only setup.sh makes.
  const example = (
    parse(readFileSync(join(EXAMPLE, 'contain.yml'), 'utf8')) as {
      apps: {web: {command: string; healthcheck: {test: {http: string}}; restart: string; read_only: boolean; mem_limit: string; cpus: number; seccomp: string}}
    }
  ).apps.web
  t.strictSame(proposed.command, splitCommand(example.command), 'the same command as the example')
  t.equal(proposed.supervision.healthcheck?.target, example.healthcheck.test.http, 'the same health check')
  t.equal(proposed.supervision.restart.policy, example.restart)
  t.same(
    [proposed.input['read-only'], proposed.input.memory, proposed.input.cpus, proposed.input.seccomp],
    [example.read_only, example.mem_limit, String(example.cpus), example.seccomp],
    'the same limits and isolation',
  )
  writeFileSync(join(dir, 'Procfile'), 'worker: ruby worker.rb\n')
  const withWorker = await initProject({dir, force: true})
  t.same(
    withWorker.apps.map(app => app.name),
    ['web', 'worker'],
  )
})

t.test('an app below /tmp gets the tmpfs at /tmp too: its directory stays visible below it', async t => {
  const detection = {dir: '/tmp/shop', rails: {evidence: ['Gemfile names rails', 'config.ru'], upRoute: true}, writable: ['tmp', 'log'], pidsDir: true}
  const options = {cpus: 4, schema: '/schema.json', reference: '/contain.yml'}
  t.match(renderProject(detection, options).text, /tmpfs: \["\/tmp", "\/tmp\/shop\/tmp\/pids"\]/)
  t.match(renderProject({...detection, dir: '/srv/shop'}, options).text, /tmpfs: \["\/tmp", "\/srv\/shop\/tmp\/pids"\]/)
  t.match(renderProject({...detection, dir: '/srv/shop'}, {...options, cpus: 0.5}).text, /cpus: 0\.5/, 'never more CPUs than the host has')
})

t.test("every proposed app names its user: the directory's owner, whom contain would pick anyway", async t => {
  const options = {cpus: 4, schema: '/schema.json', reference: '/contain.yml'}
  const rails = {dir: '/srv/shop', rails: {evidence: ['Gemfile names rails', 'config.ru'], upRoute: true}, writable: ['tmp', 'log'], pidsDir: true}
  t.match(renderProject({...rails, owner: {uid: 1000, gid: 1000, name: 'shop'}}, options).text, /\n {4}user: shop\n/)
  t.match(
    renderProject({...rails, owner: {uid: 4242, gid: 4343}}, options).text,
    /\n {4}user: "4242:4343"\n/,
    'uid:gid without a passwd entry (a bare uid would get group 0)',
  )
  const root = renderProject({...rails, owner: {uid: 0, gid: 0, name: 'root'}}, options).text
  t.match(root, /root's, so the app runs as host root[^\n]*\n[^\n]*useradd[^\n]*\n {4}user: root\n/, 'root said out loud, with the better way')
  const procfile = {
    dir: '/srv/shop',
    procfile: {file: '/srv/shop/Procfile', entries: [{name: 'worker', command: 'ruby worker.rb', line: 1, column: 1}]},
    writable: [],
    pidsDir: false,
    owner: {uid: 1000, gid: 1000, name: 'shop'},
  }
  t.match(renderProject(procfile, options).text, /worker:\n {4}command: ruby worker\.rb\n( {4}#[^\n]*\n)? {4}user: shop\n/)
  t.match(
    renderProject({dir: '/srv/shop', writable: [], pidsDir: false, owner: {uid: 1000, gid: 1000, name: 'shop'}}, options).text,
    /\n {4}user: shop\n/,
    'the placeholder too',
  )
  t.notMatch(renderProject(rails, options).text, /\n {4}user:/, 'no owner known, no line')
})

t.test("detection reads the directory's owner and its name from /etc/passwd", async t => {
  const dir = t.testdir({})
  const detection = detectProject(dir, {
    read: path => (path === '/etc/passwd' ? 'root:x:0:0::/root:/bin/sh\nshop:x:1000:1000::/srv/shop:/bin/sh\n' : undefined),
    isFile: () => false,
    isDirectory: () => false,
    owner: () => ({uid: 1000, gid: 1000}),
  })
  t.strictSame(detection.owner, {uid: 1000, gid: 1000, name: 'shop'})
})
