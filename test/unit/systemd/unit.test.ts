/**
 * The unit `contain systemd` renders: the settings the issue asks for, who restarts, timeouts
 * from the apps' supervision, system and user units, and values systemd would otherwise read
 * as specifiers, variables or escapes. (systemd-analyze verify runs on it in
 * test/integration/systemd.test.ts.)
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {Command, Config} from '@oclif/core'
import {fileURLToPath} from 'node:url'
import {commands} from '../../../src/cli/oclif.js'
import {loadProject, type Project} from '../../../src/config/project.js'
import {ContainError, FileError} from '../../../src/errors.js'
import {systemdUnit} from '../../../src/systemd/generate.js'
import {execArgument, renderUnit, startTimeoutSeconds, stopTimeoutSeconds} from '../../../src/systemd/unit.js'
import {rejection} from '../helpers/errors.js'
import type {TestContext} from '../helpers/tap.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const NODE = '/usr/bin/node'
const BIN = '/opt/contain/bin/run.js'

const YAML = `name: shop
apps:
  web:
    command: bundle exec rails s -p 3000
    env_file: .env.production
    restart: on-failure:3
    stop_grace_period: 20s
    healthcheck: {test: {http: "http://127.0.0.1:3000/up"}, interval: 10s, timeout: 5s, retries: 5, start_period: 60s}
  worker:
    command: ruby worker.rb
    restart: always
`

async function project(t: TestContext, yaml = YAML, files: Record<string, string> = {'.env.production': 'RAILS_ENV=production\n'}): Promise<Project> {
  const dir = t.testdir({'contain.yml': yaml, ...files})
  return loadProject(join(dir, 'contain.yml'))
}

/** The value of each `Key=` line of a unit, by key (keys that repeat collect every value). */
function settings(text: string): Record<string, string[]> {
  const found: Record<string, string[]> = {}
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line)
    if (match) (found[match[1]] ??= []).push(match[2])
  }
  return found
}

t.test('a system unit for one app: notify, delegation, mixed kill, timeouts from its supervision', async t => {
  const shop = await project(t)
  const unit = renderUnit({project: shop, apps: ['web'], user: false, node: NODE, containBin: BIN})
  t.equal(unit.name, 'contain-shop-web.service')
  const s = settings(unit.text)
  t.same(s.ExecStart, [`${NODE} ${BIN} up --file ${shop.file} web`], 'contain up in the foreground, the app named')
  t.same(
    s.ExecReload,
    [`${NODE} ${BIN} up --reload --file ${shop.file} web`],
    'systemctl reload: contain up --reload applies the file to the supervisor that runs',
  )
  t.same(s.Type, ['notify'])
  t.same(s.NotifyAccess, ['main'])
  t.same(s.Delegate, ['yes'])
  t.same(s.KillMode, ['mixed'])
  t.same(s.WorkingDirectory, [shop.dir])
  t.same(s.EnvironmentFile, [`-${join(shop.dir, '.env.production')}`])
  t.same(s.TimeoutStopSec, ['35s'], 'stop_grace_period 20s + 15s for contain itself')
  t.same(s.TimeoutStartSec, ['165s'], 'start_period 60s + 5 x (10s + 5s) + 30s')
  t.same(s.Restart, ['on-abnormal'], 'systemd restarts contain only when contain itself dies')
  t.same(s.OOMPolicy, ['continue'])
  t.same(s.WatchdogSec, ['30s'])
  t.same(s.WantedBy, ['multi-user.target'])
  t.same(s.After, ['network-online.target'])
  t.match(unit.text, /Who restarts: contain, never both\. contain restarts the app by its restart: policy\n# \(web: on-failure:3\)/)
  t.match(unit.text, /app's cgroup after stop_grace_period \(web 20s\)/)
  t.match(unit.text, /puma does\) is dropped by systemd/)
  t.notMatch(unit.text, /\{\{|\}\}/, 'every placeholder filled')
})

t.test('one unit for several apps, and a user unit', async t => {
  const shop = await project(t)
  const both = renderUnit({project: shop, apps: ['web', 'worker'], user: false, node: NODE, containBin: BIN})
  t.equal(both.name, 'contain-shop.service')
  t.same(settings(both.text).ExecStart, [`${NODE} ${BIN} up --file ${shop.file} web worker`])
  t.same(
    settings(both.text).ExecReload,
    [`${NODE} ${BIN} up --reload --file ${shop.file} web worker`],
    "the reload names the unit's apps: others of the file are not its to start",
  )
  t.match(both.text, /\(web: on-failure:3, worker: always\)/)

  const user = renderUnit({project: shop, apps: ['worker'], user: true, node: NODE, containBin: BIN})
  const s = settings(user.text)
  t.same(s.NotifyAccess, ['all'], "a user cannot send in contain's name: its helper sends as itself")
  t.same(s.WantedBy, ['default.target'])
  t.notOk(s.After, 'a user manager does not order against system targets')
  t.notOk(s.EnvironmentFile, 'the worker reads no env file of its own')
  t.same(s.TimeoutStartSec, ['90s'], "systemd's default at least")
  t.match(user.text, /systemctl --user daemon-reload && systemctl --user enable --now contain-shop-worker\.service/)
  t.match(user.text, /journalctl --user -u contain-shop-worker\.service/)
})

t.test('timeouts', async t => {
  t.equal(stopTimeoutSeconds([10_000]), 25)
  t.equal(stopTimeoutSeconds([1500, 90_000]), 105, 'the longest grace period counts')
  const shop = await project(t)
  t.equal(startTimeoutSeconds(shop, ['worker']), 90)
  t.equal(startTimeoutSeconds(shop, ['web', 'worker']), 165)
})

t.test('a long stop_grace_period lengthens TimeoutStartSec, which bounds a reload that waits it out', async t => {
  const dir = t.testdir({'contain.yml': 'apps:\n  slow:\n    command: sleep 1\n    stop_grace_period: 2m\n'})
  const slow = await loadProject(join(dir, 'contain.yml'))
  const s = settings(renderUnit({project: slow, apps: ['slow'], user: false, node: NODE, containBin: BIN}).text)
  t.same(s.TimeoutStopSec, ['135s'])
  t.same(s.TimeoutStartSec, ['165s'], 'TimeoutStopSec + 30s for the new version to start')
})

t.test('ExecStart words: specifiers, variables, escapes and blanks are taken literally', async t => {
  t.equal(execArgument('/usr/bin/node'), '/usr/bin/node')
  t.equal(execArgument('/srv/my app/contain.yml'), '"/srv/my app/contain.yml"')
  t.equal(execArgument('/srv/100%/contain.yml'), '/srv/100%%/contain.yml')
  t.equal(execArgument('/srv/$HOME/x'), '/srv/$$HOME/x')
  t.equal(execArgument('/srv/a\\b'), '/srv/a\\\\b')
  t.equal(execArgument('say "hi"'), '"say \\"hi\\""')
  t.equal(execArgument(';'), '";"')
  t.equal(execArgument(''), '""')
  t.throws(() => execArgument('a\nb'), ContainError)
})

t.test('a project in a directory with blanks and % renders them escaped', async t => {
  const dir = join(t.testdir({'my shop 100%': {'contain.yml': 'apps:\n  web:\n    command: sleep 1\n'}}), 'my shop 100%')
  const shop = await loadProject(join(dir, 'contain.yml'))
  const unit = renderUnit({project: shop, apps: ['web'], user: false, node: NODE, containBin: BIN})
  const s = settings(unit.text)
  t.same(s.WorkingDirectory, [dir.replace('%', '%%')])
  t.same(s.ExecStart, [`${NODE} ${BIN} up --file "${join(dir, 'contain.yml').replace('%', '%%')}" web`])
  t.same(s.ExecReload, [`${NODE} ${BIN} up --reload --file "${join(dir, 'contain.yml').replace('%', '%%')}" web`])
})

t.test('systemdUnit: apps are checked, --output is written whole', async t => {
  const shop = await project(t)
  t.match((await rejection(systemdUnit({cwd: shop.dir, apps: ['db'], user: false}))).message, `no app named "db" in ${shop.file}`)
  t.match((await rejection(systemdUnit({cwd: shop.dir, apps: [], user: false}))).message, 'no app given')
  const printed = await systemdUnit({cwd: shop.dir, apps: ['web', 'web'], user: false, node: NODE, containBin: BIN})
  t.equal(printed.file, undefined)
  t.same(settings(printed.text).ExecStart, [`${NODE} ${BIN} up --file ${shop.file} web`], 'each app once')

  const written = await systemdUnit({cwd: shop.dir, apps: ['web'], user: false, output: 'unit/contain-shop-web.service'}).catch(error => error as Error)
  t.type(written, FileError, 'a missing directory is an error with the fix')
  t.match((written as FileError).fix, /mkdir -p/)
  const file = await systemdUnit({cwd: shop.dir, apps: ['web'], user: false, output: 'contain-shop-web.service'})
  t.equal(file.file, join(shop.dir, 'contain-shop-web.service'))
  t.equal(readFileSync(file.file as string, 'utf8'), file.text)
  t.same(settings(file.text).ExecStart, [`${process.execPath} ${join(ROOT, 'bin/run.js')} up --file ${shop.file} web`], 'this contain, run by this Node.js')
})

t.test('the command: prints the unit, or writes it and says how to start it', async t => {
  const config = await Config.load({root: ROOT})
  const shop = await project(t)
  const run = async (argv: string[]) => {
    const stdout = t.capture(Command.prototype, 'log')
    const stderr = t.capture(process.stderr, 'write', () => true)
    try {
      await commands.systemd.run(argv, config)
    } finally {
      stdout.restore()
      stderr.restore()
    }
    const exitCode = Number(process.exitCode ?? 0)
    process.exitCode = undefined
    return {
      stdout: stdout
        .args()
        .map(args => String(args[0]))
        .join('\n'),
      stderr: stderr
        .args()
        .map(args => String(args[0]))
        .join(''),
      exitCode,
    }
  }
  const printed = await run(['-f', shop.file, 'web'])
  t.equal(printed.exitCode, 0, printed.stderr)
  t.match(printed.stdout, /^# contain-shop-web\.service: web of /)
  t.match(printed.stdout, /\nWantedBy=multi-user\.target$/)

  const output = join(shop.dir, 'user.service')
  const written = await run(['-f', shop.file, 'worker', '--user', '--output', output])
  t.equal(
    written.stdout,
    `contain: wrote ${output}; start it with: systemctl --user daemon-reload && systemctl --user enable --now contain-shop-worker.service`,
  )
  t.match(readFileSync(output, 'utf8'), /NotifyAccess=all/)

  const unknown = await run(['-f', shop.file, 'db'])
  t.equal(unknown.exitCode, 125)
  t.match(unknown.stderr, /contain: no app named "db".*\n {2}fix: use one of: web, worker/)
})
