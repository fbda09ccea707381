import {cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import t from 'tap'
import {parse as parseYaml} from 'yaml'
import {containJsonSchema, JSON_SCHEMA_DRAFT, renderJsonSchema, type JsonSchema} from '../../../src/config/json-schema.js'
import {appKeys, BACKOFF_KEYS, FILE_OPTIONS, HEALTHCHECK_KEYS, loadProject, LOGGING_KEYS, type LoadOptions} from '../../../src/config/project.js'
import {DURATION_PATTERN, parseDuration} from '../../../src/config/supervision.js'
import {resolveRunOptions} from '../../../src/config/resolve.js'
import {heldCapabilities} from '../../../src/launch/security.js'
import {packageRoot} from '../../../src/paths.js'
import type {TestContext} from '../helpers/tap.js'

const templates = join(packageRoot(), 'templates')
const schemaFile = join(templates, 'contain.schema.json')
const templateFile = join(templates, 'contain.yml')

/** cap_add needs contain to hold the capability; where it does not (non-root), skip that check. */
const canGrant = heldCapabilities().includes('CAP_NET_BIND_SERVICE')

function options(dir: string): LoadOptions {
  return {
    env: {},
    host: {cpus: 4, env: {}, cwd: dir, readFile: path => readFileSync(path, 'utf8')},
    resolve: (input, command, host, naming) => resolveRunOptions(canGrant ? input : {...input, 'cap-add': undefined}, command, host, naming),
  }
}

/** A project dir with what the template's settings point at: tmp/, log/ and .env.production. */
function projectDir(t: TestContext, containYml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'contain-schema-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  mkdirSync(join(dir, 'tmp'))
  mkdirSync(join(dir, 'log'))
  writeFileSync(join(dir, '.env.production'), 'RAILS_ENV=production\n')
  writeFileSync(join(dir, 'contain.yml'), containYml)
  return dir
}

async function loads(t: TestContext, containYml: string, message: string) {
  const dir = projectDir(t, containYml)
  try {
    return await loadProject(join(dir, 'contain.yml'), options(dir))
  } catch (error) {
    t.fail(`${message}: ${(error as Error).message}`)
    return undefined
  }
}

/** Lines such as "    #cpus: 0.5" are settings; "# text" lines are explanations. */
function uncommentSettings(text: string): string {
  return text.replace(/^(\s*)#(?=[^\s#])/gm, '$1')
}

/**
 * The draft-07 keywords contain's schema uses, checked the way a YAML language server checks
 * them: enough to show the schema accepts what the loader accepts and rejects what it rejects.
 */
function validate(schema: JsonSchema, value: unknown, root: JsonSchema = schema, at = '$'): string[] {
  const errors: string[] = []
  const fail = (problem: string) => errors.push(`${at}: ${problem}`)
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v)
  if (schema.$ref) return validate((root.definitions as Record<string, JsonSchema>)[(schema.$ref as string).split('/').at(-1) as string], value, root, at)
  if (schema.type) {
    const types = [schema.type].flat() as string[]
    const type = typeOf(value)
    if (!types.includes(type) && !(type === 'integer' && types.includes('number'))) fail(`is ${type}, not ${types.join('|')}`)
  }
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) fail(`not one of ${JSON.stringify(schema.enum)}`)
  if ('const' in schema && schema.const !== value) fail(`is not ${JSON.stringify(schema.const)}`)
  if (schema.anyOf && !(schema.anyOf as JsonSchema[]).some(branch => validate(branch, value, root, at).length === 0)) fail('matches no anyOf branch')
  for (const branch of (schema.allOf as JsonSchema[] | undefined) ?? []) errors.push(...validate(branch, value, root, at))
  if (typeof value === 'string') {
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) fail(`does not match ${schema.pattern}`)
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) fail('is too short')
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) fail(`is below ${schema.minimum}`)
    if (typeof schema.maximum === 'number' && value > schema.maximum) fail(`is above ${schema.maximum}`)
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) fail('has too few items')
    value.forEach((item, index) => {
      const itemSchema = Array.isArray(schema.items)
        ? ((schema.items[index] as JsonSchema | undefined) ?? (schema.additionalItems as JsonSchema | undefined))
        : (schema.items as JsonSchema | undefined)
      if (itemSchema) errors.push(...validate(itemSchema, item, root, `${at}[${index}]`))
    })
  }
  if (typeOf(value) === 'object') {
    const map = value as Record<string, unknown>
    const properties = (schema.properties as Record<string, JsonSchema> | undefined) ?? {}
    const patterns = Object.entries((schema.patternProperties as Record<string, JsonSchema> | undefined) ?? {})
    for (const key of (schema.required as string[] | undefined) ?? []) if (!(key in map)) fail(`lacks ${key}`)
    if (typeof schema.minProperties === 'number' && Object.keys(map).length < schema.minProperties) fail('has too few keys')
    for (const [key, item] of Object.entries(map)) {
      if (schema.propertyNames) errors.push(...validate(schema.propertyNames as JsonSchema, key, root, `${at}.${key} (name)`))
      const matched = patterns.filter(([pattern]) => new RegExp(pattern, 'u').test(key))
      if (key in properties) errors.push(...validate(properties[key], item, root, `${at}.${key}`))
      for (const [, patternSchema] of matched) errors.push(...validate(patternSchema, item, root, `${at}.${key}`))
      if (!(key in properties) && matched.length === 0) {
        if (schema.additionalProperties === false) fail(`has unknown key ${key}`)
        else if (typeof schema.additionalProperties === 'object')
          errors.push(...validate(schema.additionalProperties as JsonSchema, item, root, `${at}.${key}`))
      }
    }
  }
  return errors
}

t.test('templates/contain.schema.json is the generated schema', async t => {
  const generated = renderJsonSchema()
  if (process.env.CONTAIN_UPDATE_SCHEMA === '1') writeFileSync(schemaFile, generated)
  let committed = ''
  try {
    committed = readFileSync(schemaFile, 'utf8')
  } catch {
    // Reported by the comparison.
  }
  t.equal(committed, generated, 'regenerate it with: CONTAIN_UPDATE_SCHEMA=1 npx tap test/unit/config/json-schema.test.ts')
})

t.test('the schema', async t => {
  const schema = containJsonSchema()
  const app = (schema.definitions as Record<string, JsonSchema>).app
  const properties = app.properties as Record<string, JsonSchema>

  t.test('is draft-07, the draft the YAML language server supports', async t => {
    t.equal(schema.$schema, JSON_SCHEMA_DRAFT)
    t.equal(JSON_SCHEMA_DRAFT, 'http://json-schema.org/draft-07/schema#')
  })

  t.test('has exactly the keys the loader reads, each described', async t => {
    // compose's scale and deploy (replicas) are read too, but left out of the template: one spelling is enough there.
    t.strictSame(Object.keys(properties), [...appKeys(), 'scale', 'deploy'])
    for (const [key, property] of Object.entries(properties))
      t.ok(typeof property.description === 'string' && property.description.length > 10, `${key} has a description`)
    t.match(properties.memswap_limit.description, /twice mem_limit/, 'flag names in descriptions become keys')
    t.match(properties.cpus.description, /\(contain run --cpus\)$/)
  })

  t.test("accepts the brief's example and the full template", async t => {
    const example: unknown = parseYaml(readFileSync(new URL('../fixtures/config/rails/contain.yml', import.meta.url), 'utf8'))
    t.strictSame(validate(schema, example), [])
    t.strictSame(validate(schema, parseYaml(uncommentSettings(readFileSync(templateFile, 'utf8')))), [])
  })

  t.test('rejects what the loader rejects', async t => {
    const bad: [unknown, RegExp][] = [
      [{apps: {web: {command: 'x', cpu: 1}}}, /unknown key cpu/],
      [{apps: {web: {cpus: 1}}}, /lacks command/],
      [{apps: {web: {command: 'x', read_only: 'yes'}}}, /read_only: is string, not boolean/],
      [{apps: {web: {command: 'x', restart: 'sometimes'}}}, /restart: matches no anyOf/],
      [{apps: {web: {command: 'x', network_mode: 'bridge'}}}, /network_mode: not one of/],
      [{apps: {web: {command: 'x', stop_grace_period: '10'}}}, /stop_grace_period: matches no anyOf/],
      [{apps: {web: {command: 'x', healthcheck: {test: {http: 'https://x'}}}}}, /test: matches no anyOf/],
      [{apps: {web: {command: 'x', backoff: {jitter: 2}}}}, /jitter: is above 1/],
      [{apps: {'web/1': {command: 'x'}}}, /\(name\): does not match/],
      [{apps: {'a..b': {command: 'x'}}}, /\(name\): does not match/],
      [{apps: {}}, /has too few keys/],
      [{name: 'shop'}, /matches no anyOf/],
      [{apps: {web: {command: 'x'}}, image: 'ruby'}, /unknown key image/],
    ]
    for (const [doc, problem] of bad) t.match(validate(schema, doc).join('\n'), problem, JSON.stringify(doc))
    t.strictSame(validate(schema, {'x-base': {cpus: 1}, services: {web: {command: ['a', 1], 'x-note': 'n', cap_add: 'sys_admin', environment: {A: null}}}}), [])
  })

  t.test('durations match what parseDuration takes', async t => {
    for (const text of ['10s', '1m30s', '500ms', '2.5s', '1h', '.5s', '100us']) {
      t.match(text, DURATION_PATTERN, text)
      t.type(parseDuration('d', text), 'number')
    }
    for (const text of ['10', '1d', 's', '1m 30s', '-1s']) t.notMatch(text, DURATION_PATTERN, text)
  })
})

t.test('every example in the key tables loads', async t => {
  // Keys that need another to be valid.
  const companions: Record<string, string> = {memswap_limit: 'mem_limit: 512m', writable: 'read_only: true'}
  for (const option of FILE_OPTIONS) {
    const yaml = `apps:\n  web:\n    command: rails s\n    ${option.key}: ${option.example}\n${companions[option.key] ? `    ${companions[option.key]}\n` : ''}`
    await loads(t, yaml, option.key)
  }
  const map = (keys: Record<string, {example?: string}>, skip: string[] = []) =>
    `{${Object.entries(keys)
      .filter(([key, doc]) => doc.example !== undefined && !skip.includes(key))
      .map(([key, doc]) => `${key}: ${doc.example}`)
      .join(', ')}}`
  const project = await loads(
    t,
    `apps:\n  web:\n    command: rails s\n    restart: on-failure:3\n    stop_signal: SIGINT\n    stop_grace_period: 30s\n    healthcheck: ${map(HEALTHCHECK_KEYS, ['disable'])}\n    logging: ${map(LOGGING_KEYS, ['driver'])}\n    backoff: ${map(BACKOFF_KEYS)}\n`,
    'supervision keys',
  )
  t.match(project?.apps[0].supervision, {
    healthcheck: {kind: 'http', intervalMs: 5000, timeoutMs: 2000, retries: 3, startPeriodMs: 10_000},
    logging: {maxFiles: 5},
  })
})

t.test('templates/contain.yml', async t => {
  const text = readFileSync(templateFile, 'utf8')

  t.test('points editors at the schema', async t => {
    t.match(text.split('\n')[0], /^# yaml-language-server: \$schema=\.\/contain\.schema\.json$/)
  })

  t.test('loads cleanly as it is', async t => {
    const project = await loadProject(templateFile, options(templates))
    t.strictSame(
      project.apps.map(app => [app.name, app.command]),
      [['web', ['bundle', 'exec', 'rails', 's', '-p', '3000']]],
    )
  })

  t.test('shows every key, and loads with every setting uncommented', async t => {
    const full = uncommentSettings(text)
    for (const key of appKeys()) t.match(full, new RegExp(`^ {4}${key}:`, 'm'), `${key} is in the template`)
    const project = await loads(t, full, 'the uncommented template')
    t.strictSame(
      project?.apps.map(app => app.name),
      ['web', 'worker'],
    )
  })

  t.test('a copy in another directory loads the same way (paths are relative to it)', async t => {
    const dir = mkdtempSync(join(tmpdir(), 'contain-template-'))
    t.teardown(() => rmSync(dir, {recursive: true, force: true}))
    cpSync(templateFile, join(dir, 'contain.yml'))
    const project = await loadProject(join(dir, 'contain.yml'), options(dir))
    t.equal(project.apps[0].input.workdir, dir)
  })
})
