/**
 * An app's environment from contain.yml's layers: the project's .env, env_file files, and
 * environment:, each checked and reported at its line.
 */
import {join, resolve} from 'node:path'
import {EnvFileError, readEnvFile} from '../env-file.js'
import {FileError} from '../errors.js'
import {ENV_KEY_PATTERN} from '../names.js'
import {ENV_FILE_KEYS} from './app-keys.js'
import {checkKeys, expectBoolean, expectMap, expectString, isPlainMap, typeError, type Path, type YamlMap, type YamlSource} from './yaml-source.js'

/** Reads one dotenv file (env-file.ts); undefined when it does not exist and is optional. */
function readEnvFileFor(
  path: string,
  readFile: (path: string) => string,
  optional: boolean,
  report: (problem: string, fix: string, cause?: unknown) => never,
): Record<string, string> | undefined {
  try {
    return readEnvFile(path, readFile)
  } catch (error) {
    if (!(error instanceof EnvFileError)) throw error
    if (error.failure === 'missing' && optional) return undefined
    if (error.failure === 'untrusted') return report(error.message, error.fix ?? '')
    if (error.failure === 'too-large' || error.failure === 'not-text') return report(error.message, 'give a dotenv file of KEY=VALUE lines')
    if (error.code === 'ENOENT')
      return report(
        error.message,
        'create the file or fix the path (relative paths start at the directory of contain.yml), or mark it required: false',
        error.cause,
      )
    return report(`cannot read ${path} (${error.code})`, 'make the file readable', error.cause)
  }
}

export interface EnvLayers {
  /** The project's .env, when it exists. */
  dotenv?: {path: string; values: Record<string, string>}
  hostEnv: Record<string, string | undefined>
  readFile: (path: string) => string
  dir: string
}

interface EnvFileEntry {
  path: string
  required: boolean
  at: Path
}

function parseEnvFileEntries(source: YamlSource, path: Path, value: unknown): EnvFileEntry[] {
  const example = 'env_file: [.env.production]'
  const entry = (item: unknown, at: Path): EnvFileEntry => {
    if (typeof item === 'string') return {path: item, required: true, at}
    const map = expectMap(source, at, item, '.env.local, or {path: .env.local, required: false}')
    checkKeys(source, at, map, Object.keys(ENV_FILE_KEYS))
    if (map.path === undefined) source.fail(at, 'has no path', 'add path: followed by the file')
    const required = map.required === undefined ? true : expectBoolean(source, [...at, 'required'], map.required, 'required: false')
    return {path: expectString(source, [...at, 'path'], map.path, 'path: .env.local', false), required, at: [...at, 'path']}
  }
  if (typeof value === 'string') return [entry(value, path)]
  if (!Array.isArray(value)) return typeError(source, path, value, 'a path or a list of paths', example)
  return value.map((item, index) => entry(item, [...path, index]))
}

/**
 * The app's environment, lowest precedence first: the host's < the project's .env (read when it
 * exists, as compose and foreman do) < env_file files in order < environment. Only the last three
 * go into flags.env: resolveRunOptions starts from the host environment itself, and -e flags given
 * to `contain up` come after these and win. `KEY` without a value (KEY: ~ or - KEY) takes the host's
 * value, and leaves the lower layers alone when the host has none (Docker's -e KEY).
 */
export function parseEnvironment(source: YamlSource, appPath: Path, app: YamlMap, layers: EnvLayers): {env: Record<string, string>; files: string[]} {
  const env: Record<string, string> = {...layers.dotenv?.values}
  const files = layers.dotenv ? [layers.dotenv.path] : []
  if (app.env_file !== undefined) {
    for (const entry of parseEnvFileEntries(source, [...appPath, 'env_file'], app.env_file)) {
      const file = resolve(layers.dir, entry.path)
      const report = (problem: string, fix: string, cause?: unknown): never => {
        throw source.error(entry.at, problem, fix, source.locate(entry.at), cause)
      }
      const values = readEnvFileFor(file, layers.readFile, !entry.required, report)
      if (values === undefined) continue
      Object.assign(env, values)
      if (!files.includes(file)) files.push(file)
    }
  }
  const path = [...appPath, 'environment']
  const set = (key: string, value: string | undefined, at: Path) => {
    if (!ENV_KEY_PATTERN.test(key))
      source.fail(at, `has no variable name (${JSON.stringify(key)})`, "write KEY=VALUE, or KEY to pass the host's value through", 'value')
    if (value !== undefined) env[key] = value
    else if (layers.hostEnv[key] !== undefined) env[key] = layers.hostEnv[key]
  }
  const value = app.environment
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      const entry = expectString(source, [...path, index], item, 'RAILS_ENV=production', false)
      const separator = entry.indexOf('=')
      set(separator === -1 ? entry : entry.slice(0, separator), separator === -1 ? undefined : entry.slice(separator + 1), [...path, index])
    })
  } else if (isPlainMap(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (item !== null && typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
        typeError(source, [...path, key], item, 'a string, a number, true or false', `${key}: "value"`)
      }
      set(key, item === null ? undefined : String(item), [...path, key])
    }
  } else if (value !== undefined) {
    typeError(source, path, value, 'a map of KEY: value, or a list of KEY=VALUE', 'environment: {RAILS_ENV: production}')
  }
  return {env, files}
}

/** The project's .env: read when it exists; other failures (a directory, no permission) are errors. */
export function readProjectDotenv(dir: string, readFile: (path: string) => string): {path: string; values: Record<string, string>} | undefined {
  const path = join(dir, '.env')
  const values = readEnvFileFor(path, readFile, true, (problem, fix, cause) => {
    throw new FileError(path, problem, {fix, cause})
  })
  return values && {path, values}
}
