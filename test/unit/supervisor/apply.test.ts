/**
 * contain up on a running project: which app is started, recreated, left alone or removed, and
 * how each change is described. Configurations come from real contain.yml files through the
 * loader; the plans are stand-ins (only their equality matters here).
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {loadProject, type AppConfig} from '../../../src/config/project.js'
import type {AppSpec} from '../../../src/supervisor/app.js'
import {decideActions, describeChanges, environmentChange, formatOutcome, stableJson, type AppVersion, type DeployedApp} from '../../../src/supervisor/apply.js'

async function configs(t: Test, yaml: string, files: Record<string, string> = {}): Promise<Map<string, AppConfig>> {
  const dir = t.testdir({...files})
  writeFileSync(join(dir, 'contain.yml'), yaml)
  const project = await loadProject(join(dir, 'contain.yml'), {env: {HOME: '/root', PASSED: 'from-host'}})
  return new Map(project.apps.map(app => [app.name, app]))
}

/** A version whose plan is `plan` (a stand-in: the decision only compares plans). */
function version(config: AppConfig, plan: Record<string, unknown> = {argv: config.command, env: {}}): AppVersion {
  const {restart, backoff, healthcheck, stopSignal, stopGraceMs} = config.supervision
  const spec = {name: config.name, plan, restart, backoff, healthcheck, stopSignal, stopGraceMs} as unknown as AppSpec
  return {config, spec}
}

function deployed(versions: AppVersion[], up = true): Map<string, DeployedApp> {
  return new Map(versions.map(v => [v.config.name, {...v, up}]))
}

const BEFORE = `
apps:
  web:
    command: bundle exec puma
    mem_limit: 512m
    environment: {RAILS_ENV: production, SECRET_KEY_BASE: old-secret}
    stop_grace_period: 20s
  worker:
    command: bundle exec sidekiq
  old:
    command: sleep 60
`

const AFTER = `
apps:
  web:
    command: bundle exec puma
    mem_limit: 1g
    environment: {RAILS_ENV: production, SECRET_KEY_BASE: new-secret, WEB_CONCURRENCY: "2"}
    stop_grace_period: 20s
  worker:
    command: bundle exec sidekiq
  cron:
    command: sleep 3600
`

t.test('compose semantics: changed recreated, unchanged left, new started, removed stopped', async t => {
  const before = await configs(t, BEFORE)
  const after = await configs(t, AFTER)
  const current = deployed([...before.values()].map(config => version(config)))
  const next = [...after.values()].map(config => version(config))
  const outcomes = decideActions(current, next, {all: true, recreate: 'changed'})
  t.same(outcomes, [
    {name: 'web', action: 'recreated', changes: ['mem_limit 512m -> 1g', 'environment: SECRET_KEY_BASE changed; WEB_CONCURRENCY added']},
    {name: 'worker', action: 'unchanged', changes: []},
    {name: 'cron', action: 'started', changes: []},
    {name: 'old', action: 'removed', changes: []},
  ])
  t.same(outcomes.map(formatOutcome), [
    'web: recreated (mem_limit 512m -> 1g, environment: SECRET_KEY_BASE changed; WEB_CONCURRENCY added)',
    'worker: unchanged',
    'cron: started',
    'old: removed',
  ])
  t.notMatch(JSON.stringify(outcomes), /secret/, 'values of the environment are never shown, only names')
})

t.test('--no-recreate and --force-recreate', async t => {
  const before = await configs(t, BEFORE)
  const after = await configs(t, AFTER)
  const current = deployed([...before.values()].map(config => version(config)))
  const next = [...after.values()].map(config => version(config))
  const never = decideActions(current, next, {all: true, recreate: 'never'})
  t.match(never[0], {name: 'web', action: 'kept', changes: ['mem_limit 512m -> 1g', /environment/]})
  t.equal(
    formatOutcome(never[0]),
    'web: changed, not recreated (--no-recreate): mem_limit 512m -> 1g, environment: SECRET_KEY_BASE changed; WEB_CONCURRENCY added',
  )
  t.same(
    never.slice(1).map(outcome => outcome.action),
    ['unchanged', 'started', 'removed'],
    'new apps start and removed ones go all the same',
  )
  const always = decideActions(current, next, {all: true, recreate: 'always'})
  t.same(
    always.map(outcome => `${outcome.name} ${outcome.action}`),
    ['web recreated', 'worker recreated', 'cron started', 'old removed'],
  )
  t.same(always[1].changes, ['--force-recreate'], 'recreated though unchanged: says why')
})

t.test('up APP: only the apps named, nothing removed; a stopped app is started', async t => {
  const before = await configs(t, BEFORE)
  const after = await configs(t, AFTER)
  const current = deployed(
    [...before.values()].map(config => version(config)),
    false,
  )
  const outcomes = decideActions(current, [version(after.get('worker') as AppConfig)], {all: false, recreate: 'changed'})
  t.same(outcomes, [{name: 'worker', action: 'started', changes: []}], 'stopped and unchanged: started (compose starts what is stopped)')
  const kept = decideActions(current, [version(after.get('web') as AppConfig)], {all: false, recreate: 'never'})
  t.match(
    kept,
    [{name: 'web', action: 'started', changes: ['mem_limit 512m -> 1g', /environment/]}],
    'stopped, changed, --no-recreate: its old configuration starts',
  )
})

t.test("each kind of change, in contain.yml's words", async t => {
  const before = await configs(
    t,
    `
apps:
  web:
    command: [puma, -p, "3000"]
    restart: on-failure:3
    cpus: 0.5
    volumes: ["/usr/share:/a:ro"]
    healthcheck: {test: {http: "http://127.0.0.1:3000/up"}}
    environment: [GONE=1, KEPT=1, PASSED]
`,
  )
  const after = await configs(
    t,
    `
apps:
  web:
    command: [puma, -p, "3001"]
    restart: always
    volumes: ["/usr/share:/a:ro", "/usr/lib:/b"]
    healthcheck: {test: {http: "http://127.0.0.1:3001/up"}}
    stop_signal: SIGINT
    environment: [KEPT=1]
`,
  )
  const changes = describeChanges(version(before.get('web') as AppConfig), version(after.get('web') as AppConfig))
  t.same(changes, [
    'command puma -p 3000 -> puma -p 3001',
    'cpus 0.5 -> unset',
    'environment: GONE PASSED removed',
    'volumes [/usr/share:/a:ro] -> [/usr/share:/a:ro, /usr/lib:/b]',
    'restart on-failure:3 -> always',
    'healthcheck',
    'stop_signal SIGTERM -> SIGINT',
  ])
})

t.test('a change only the plan shows (an env file, a seccomp profile) is named by the part it changed', async t => {
  const [config] = (await configs(t, 'apps:\n  web:\n    command: puma\n')).values()
  const base = {argv: ['puma'], env: {A: '1', B: 'x'}, seccompFilter: Buffer.from([1, 2, 3])}
  t.same(describeChanges(version(config, base), version(config, {...base})), [], 'equal plans: unchanged')
  t.same(describeChanges(version(config, base), version(config, {...base, env: {A: '2', B: 'x'}})), ['environment: A changed'])
  t.same(describeChanges(version(config, base), version(config, {...base, seccompFilter: Buffer.from([1, 2, 4])})), ['seccomp filter'])
  t.same(describeChanges(version(config, base), version(config, {...base, argv: ['/usr/bin/puma']})), ['resolved command'])
  t.same(describeChanges(version(config, base), version(config, {...base, namespaces: ['pid']})), ['resolved namespaces'])
})

t.test('stableJson: key order does not matter, Buffers compare by content', async t => {
  t.equal(stableJson({b: 1, a: {d: [2, {f: 1, e: 0}], c: Buffer.from('hi')}}), stableJson({a: {c: Buffer.from('hi'), d: [2, {e: 0, f: 1}]}, b: 1}))
  t.not(stableJson({a: Buffer.from('hi')}), stableJson({a: Buffer.from('ho')}))
  t.not(stableJson({a: [1, 2]}), stableJson({a: [2, 1]}), 'arrays keep their order')
})

t.test('environmentChange names variables, never values', async t => {
  t.equal(environmentChange({A: '1'}, {A: '1'}), undefined)
  t.equal(environmentChange({A: '1', B: '2'}, {A: 'secret', C: '3'}), 'environment: A changed; C added; B removed')
})

t.test('an outcome that could not start says so', async t => {
  t.equal(
    formatOutcome({name: 'web', action: 'recreated', changes: ['mem_limit 512m -> 1g'], error: 'command not found: pumaa'}),
    'web: recreated (mem_limit 512m -> 1g), but it could not be started: command not found: pumaa',
  )
})
