/**
 * Loads contain.yml for `contain up`: each app's option keys read into the resolver's input
 * (app-options.ts), its environment from its layers (env-layers.ts), its supervision keys
 * (supervision-keys.ts), and its options resolved by the same resolver as `contain run`'s flags,
 * with a naming that reports every bad value at its line and column before anything starts.
 * The loader only reads: it creates, writes and starts nothing.
 */
import {basename, dirname, resolve} from 'node:path'
import {ContainError, FileError, InvalidValueError} from '../errors.js'
import {APP_NAME_RULE, isAppName} from '../names.js'
import {COMPOSE_REPLICA_KEYS, COMPOSE_SERVICE_KEYS, COMPOSE_UNSUPPORTED, KEY_ALIASES, TOP_KEYS, appKeys} from './app-keys.js'
import {readOptionInput, yamlNaming} from './app-options.js'
import {parseCommand} from './command.js'
import {parseEnvironment, readProjectDotenv, type EnvLayers} from './env-layers.js'
import {
  defaultHost,
  findProjectFile,
  PROJECT_NAME_PATTERN,
  projectNameOf,
  readConfigText,
  readUtf8,
  type AppConfig,
  type LoadOptions,
  type Project,
  type ResolveOptions,
} from './project-file.js'
import {resolveRunOptions} from './resolve.js'
import {parseSupervision} from './supervision-keys.js'
import {checkKeys, expectMap, expectString, isPlainMap, parseYaml, type YamlSource} from './yaml-source.js'
import type {HostFacts} from '../launch/options.js'

export {APP_KEYS, BACKOFF_KEYS, ENV_FILE_KEYS, HEALTHCHECK_KEYS, LOGGING_KEYS, LOGGING_OPTION_KEYS, TOP_KEYS, appKeys, type KeyDoc} from './app-keys.js'
export {splitCommand} from './command.js'
export {readProjectDotenv} from './env-layers.js'
export {
  APP_NAME_PATTERN,
  MAX_CONFIG_BYTES,
  PROJECT_FILES,
  PROJECT_NAME_PATTERN,
  findProjectFile,
  projectNameOf,
  readConfigText,
  type AppConfig,
  type LoadOptions,
  type Project,
  type ResolveOptions,
} from './project-file.js'
export {FILE_OPTIONS} from './schema.js'
export {closestKey, formatPath} from './yaml-source.js'

async function loadApp(
  source: YamlSource,
  appsKey: string,
  name: string,
  value: unknown,
  context: {dir: string; layers: EnvLayers; host: HostFacts; resolve: ResolveOptions},
): Promise<AppConfig> {
  const appPath = [appsKey, name]
  const location = source.locate(appPath, 'key')
  if (!isAppName(name)) {
    source.fail(appPath, 'not a valid app name', APP_NAME_RULE, 'key')
  }
  if (value === null) source.fail(appPath, 'is empty', 'give the app a command, e.g. command: bundle exec rails s', 'key')
  const app = expectMap(source, appPath, value, `${name}: {command: bundle exec rails s}`)
  checkKeys(source, appPath, app, [...appKeys(), ...Object.keys(COMPOSE_REPLICA_KEYS)], {
    extensions: true,
    unsupported: COMPOSE_UNSUPPORTED,
    foreign: COMPOSE_SERVICE_KEYS,
    aliases: KEY_ALIASES,
  })
  const command = parseCommand(source, appPath, app.command)
  const input = {name, ...readOptionInput(source, appPath, app, context.dir)}
  const {env, files} = parseEnvironment(source, appPath, app, context.layers)
  if (Object.keys(env).length > 0) input.environment = env
  const supervision = parseSupervision(source, appPath, app, context.dir)
  const naming = yamlNaming(source, appPath, app, input)
  let options
  try {
    options = await context.resolve(input, command, context.host, naming)
  } catch (error) {
    if (error instanceof InvalidValueError) throw naming.at(error)
    throw error
  }
  return {name, command, input, options, naming, supervision, envFiles: files, location}
}

/**
 * Reads contain.yml (or a Procfile, by its name) into apps with resolved options. Every problem is a FileError
 * `FILE:LINE:COLUMN: apps.web.cpus: PROBLEM` with the fix; the first one found is thrown.
 */
export async function loadProject(file: string, options: LoadOptions = {}): Promise<Project> {
  if (basename(file) === 'Procfile') return (await import('./procfile.js')).loadProcfile(file, options)
  const absolute = resolve(file)
  const dir = dirname(absolute)
  const text = readConfigText(file, options.readFile)
  const source = parseYaml(file, text)
  let root: unknown
  try {
    root = source.doc.toJS({maxAliasCount: 1000})
  } catch (error) {
    throw new FileError(file, `cannot be expanded: ${(error as Error).message}`, {fix: 'use fewer YAML aliases (*name)', cause: error})
  }
  const example = 'apps: {web: {command: bundle exec rails s}}'
  if (root === null || root === undefined) {
    throw new FileError(file, 'is empty', {fix: `describe the apps, e.g. ${example} (contain init writes a commented template)`})
  }
  const top = expectMap(source, [], root, example)
  checkKeys(source, [], top, Object.keys(TOP_KEYS), {extensions: true})
  if (top.apps !== undefined && top.services !== undefined)
    source.fail(['services'], "repeats apps (services is compose's name for them)", 'put every app under apps', 'key')
  const appsKey = top.services !== undefined ? 'services' : 'apps'
  if (top[appsKey] === undefined) throw new FileError(file, 'has no apps', {fix: `add an apps: section, e.g. ${example}`})
  if (top[appsKey] === null || (isPlainMap(top[appsKey]) && Object.keys(top[appsKey]).length === 0)) {
    source.fail([appsKey], 'has no apps', 'add at least one app with its command under it', 'key')
  }
  const apps = expectMap(source, [appsKey], top[appsKey], example)
  let name = projectNameOf(dir)
  if (top.name !== undefined) {
    name = expectString(source, ['name'], top.name, 'name: shop', false)
    if (!PROJECT_NAME_PATTERN.test(name))
      source.fail(
        ['name'],
        `not a valid project name (${JSON.stringify(name)})`,
        'use lowercase letters, digits, _ and -, starting with a letter or digit, at most 63 characters',
      )
  }
  const hostEnv = options.env ?? options.host?.env ?? process.env
  const readFile = options.readFile ?? readUtf8
  const host = options.host ?? defaultHost(dir, hostEnv, readFile)
  const layers: EnvLayers = {dotenv: readProjectDotenv(dir, readFile), hostEnv, readFile, dir}
  const context = {dir, layers, host, resolve: options.resolve ?? resolveRunOptions}
  const loaded: AppConfig[] = []
  for (const appName of source.keysInOrder([appsKey], apps)) {
    loaded.push(await loadApp(source, appsKey, appName, apps[appName], context))
  }
  return {file: absolute, dir, name, apps: loaded}
}

/** The project in `dir`: contain.yml, contain.yaml or a Procfile. */
export async function loadProjectIn(dir: string, options: LoadOptions = {}): Promise<Project> {
  const file = findProjectFile(dir)
  if (!file) {
    throw new ContainError(`no contain.yml, contain.yaml or Procfile in ${dir}`, {
      fix: 'run contain init to write a contain.yml, or run contain up in the directory of your project',
    })
  }
  return loadProject(file, options)
}
