/**
 * Part 2 of the hardening suite, property-based: the config loader (loadProject, with an injected
 * readFile) either returns a project or throws a ContainError — never a TypeError, RangeError or
 * anything else that would reach the user as "internal error" with a stack trace. Needs no root.
 */
import fc from 'fast-check'
import {join} from 'node:path'
import t from 'tap'
import {stringify} from 'yaml'
import {appKeys, loadProject, type LoadOptions} from '../../src/config/project.js'
import {ContainError} from '../../src/errors.js'
import {figure} from './helpers.js'

/** Fixed, printed: a failure names the seed and the shrunk counterexample, so it reproduces. */
const seed = Number(process.env.CONTAIN_FUZZ_SEED ?? 20261129)
const numRuns = Number(process.env.CONTAIN_FUZZ_RUNS ?? (process.env.CONTAIN_SOAK === '1' ? 20_000 : 1500))
/** A real directory (apps run there by default, and it must exist); the files in it are injected. */
const dir = '/tmp'
const file = join(dir, 'contain.yml')

/** Values that look like what each key takes, and the shapes a mistake produces. */
const scalar = fc.oneof(
  fc.constantFrom(
    '512m',
    '6m',
    '0',
    '-1',
    '1e3',
    '0.5',
    '99999999999999999999g',
    'max',
    '10s',
    '1h30m',
    '-5s',
    '',
    ' ',
    'on-failure:3',
    'SIGTERM',
    'ALL',
    'default',
    'unconfined',
    '/dev/zero',
    '.env',
    '../../etc',
    'a\nb',
    '\u0000',
    'http://127.0.0.1:3000/up',
    '127.0.0.1:99999',
    'root',
    '4294967296',
    'nobody:nogroup',
    'true',
    'none',
    '+net,-pid',
    '__proto__',
    'constructor',
  ),
  fc.string({maxLength: 20}),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
)
const value: fc.Arbitrary<unknown> = fc.letrec(tie => ({
  value: fc.oneof(
    {depthSize: 'small', withCrossShrink: true},
    scalar,
    fc.array(tie('value'), {maxLength: 4}),
    fc.dictionary(
      fc.oneof(
        fc.constantFrom('http', 'tcp', 'test', 'interval', 'max_size', 'path', 'required', 'initial', 'factor', 'options', 'max-size', '<<'),
        fc.string({maxLength: 8}),
      ),
      tie('value'),
      {maxKeys: 4},
    ),
  ),
})).value
// Mostly keys contain knows, so the values reach the deep validation; now and then a stray one.
const appKey = fc.oneof(
  {arbitrary: fc.constantFrom(...appKeys()), weight: 12},
  fc.constantFrom('image', 'ports', 'x-extra', 'mem_limt', 'cmd', 'memory'),
  fc.string({maxLength: 10}),
)
const appName = fc.oneof(
  {arbitrary: fc.constantFrom('web', 'worker'), weight: 6},
  fc.constantFrom('a..b', '../x', 'a/b', '.hidden', 'x'.repeat(70), '1', 'a\nb', '__proto__'),
  fc.string({maxLength: 12}),
)
const command = fc.oneof({arbitrary: fc.constantFrom('sleep 1', ['sleep', '1'], 'true'), weight: 6}, value)
const app = fc.tuple(command, fc.dictionary(appKey, value, {maxKeys: 4})).map(([run, keys]) => ({command: run, ...keys}))
const apps = fc.oneof({arbitrary: fc.dictionary(appName, fc.oneof({arbitrary: app, weight: 8}, value), {minKeys: 1, maxKeys: 3}), weight: 8}, value)
const extras = fc.record(
  {
    name: fc.oneof(fc.constantFrom('shop', 'Bad Name', '../x'), fc.string({maxLength: 8})),
    services: value,
    version: value,
  },
  {requiredKeys: []},
)
// Mostly a plain apps: map, so that the apps' values are what varies.
const project = fc.oneof(
  {arbitrary: apps.map(entries => ({apps: entries})), weight: 5},
  fc.tuple(apps, extras).map(([entries, rest]) => ({apps: entries, ...rest})),
)

/** A filesystem of one contain.yml and whatever else the case holds; everything else does not exist. */
function loadOptions(text: string, others: Record<string, string> = {}, path = file): LoadOptions {
  const files: Record<string, string> = {[path]: text, ...others}
  const readFile = (path: string) => {
    if (path in files) return files[path]
    throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), {code: 'ENOENT'})
  }
  return {readFile, env: {HOME: '/root', PATH: '/usr/bin:/bin'}, host: {cpus: 2, env: {PATH: '/usr/bin:/bin'}, cwd: dir, readFile}}
}

let outcomes = {loaded: 0, containErrors: 0, crashes: 0}
/** A Node warning (process.emitWarning) would reach the user's terminal as "(node:PID) Warning: ...". */
let warning: string | undefined
process.on('warning', emitted => (warning ??= emitted.message))
/** The warning so far (read through a call: TypeScript cannot see the listener set it after `warning = undefined`). */
const nodeWarning = (): string | undefined => warning

/** The property: nothing but a ContainError ever comes out. Returns false (a counterexample) otherwise. */
async function onlyContainErrors(text: string, others?: Record<string, string>, path = file): Promise<boolean> {
  warning = undefined
  try {
    await loadProject(path, loadOptions(text, others, path))
    await new Promise(resolve => setImmediate(resolve))
    const warned = nodeWarning()
    if (warned) throw new Error(`loadProject made Node print a warning: ${warned}`)
    outcomes.loaded++
    return true
  } catch (error) {
    await new Promise(resolve => setImmediate(resolve))
    const warned = nodeWarning()
    if (warned) throw new Error(`loadProject made Node print a warning: ${warned}`, {cause: error})
    if (error instanceof ContainError) {
      outcomes.containErrors++
      return true
    }
    outcomes.crashes++
    throw new Error(`loadProject threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`, {cause: error})
  }
}

t.test(`the config loader throws only ContainErrors (seed ${seed}, ${numRuns} runs per property)`, async t => {
  outcomes = {loaded: 0, containErrors: 0, crashes: 0}
  const settings = {seed, numRuns, endOnFailure: true}
  figure(t, `config fuzz: seed ${seed} (CONTAIN_FUZZ_SEED=${seed} reproduces it)`)

  await fc.assert(
    fc.asyncProperty(project, async config => onlyContainErrors(stringify(config))),
    settings,
  )
  t.pass('structured contain.yml files')

  await fc.assert(
    fc.asyncProperty(project, fc.string({maxLength: 200}), async (config, dotenv) =>
      onlyContainErrors(stringify(config), {[join(dir, '.env')]: dotenv, [join(dir, '.env.production')]: dotenv}),
    ),
    {...settings, numRuns: Math.ceil(numRuns / 3)},
  )
  t.pass('with random .env files')

  await fc.assert(
    fc.asyncProperty(fc.string({maxLength: 300}), async text => onlyContainErrors(text)),
    settings,
  )
  t.pass('arbitrary text')

  const yamlish = fc
    .array(
      fc.constantFrom(
        'apps:',
        '  web:',
        '    command: sleep 1',
        '    cpus: [',
        '- ',
        '&a ',
        '*a',
        '<<: *a',
        '!!binary',
        '{',
        '}',
        '"',
        "'",
        '#',
        '---',
        '\t',
        ': ',
        '?',
        '|',
        '>',
      ),
      {maxLength: 30},
    )
    .map(parts => parts.join(''))
  await fc.assert(
    fc.asyncProperty(yamlish, async text => onlyContainErrors(text)),
    settings,
  )
  t.pass('YAML syntax soup')

  await fc.assert(
    fc.asyncProperty(fc.string({maxLength: 200}), async text => onlyContainErrors(text, {}, join(dir, 'Procfile'))),
    {...settings, numRuns: Math.ceil(numRuns / 3)},
  )
  t.pass('Procfiles')

  figure(
    t,
    `config fuzz: ${outcomes.loaded + outcomes.containErrors + outcomes.crashes} inputs, ${outcomes.loaded} loaded, ${outcomes.containErrors} ContainErrors, ${outcomes.crashes} crashes`,
  )
  t.equal(outcomes.crashes, 0, 'no crash')
})
