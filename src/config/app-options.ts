/**
 * An app's option keys in contain.yml read into the resolver's input (by option id, values as
 * the user wrote them), and the naming that tells the resolver's errors at their line and column.
 */
import {resolve} from 'node:path'
import type {ContainError, InvalidValueError} from '../errors.js'
import {anchoredProfile} from '../seccomp/profile-file.js'
import {RECORDED_OPTIONS, type OptionNaming} from './naming.js'
import {FILE_OPTIONS, optionSpec, type OptionInput} from './schema.js'
import {
  checkKeys,
  describe,
  expectBoolean,
  expectMap,
  expectString,
  expectStringList,
  formatPath,
  typeError,
  type Path,
  type YamlMap,
  type YamlSource,
} from './yaml-source.js'

/** Options whose keys are read elsewhere: working_dir first (paths start there), the environment by its layers (env-layers.ts). */
const READ_ELSEWHERE: ReadonlySet<string> = new Set(['workdir', 'env', 'env-file'])

/**
 * The app's option keys as the resolver's input, by option id: scalars as the text the user
 * wrote (0.5 -> "0.5"), lists as lists. Relative paths start at the project's directory.
 */
export function readOptionInput(source: YamlSource, appPath: Path, app: YamlMap, dir: string): OptionInput {
  const input: Record<string, unknown> = {}
  const workdir = app.working_dir === undefined ? dir : resolve(dir, expectString(source, [...appPath, 'working_dir'], app.working_dir, 'working_dir: .'))
  input.workdir = workdir
  for (const option of FILE_OPTIONS) {
    const value = app[option.key]
    if (value === undefined || READ_ELSEWHERE.has(option.flag)) continue
    const path = [...appPath, option.key]
    const example = `${option.key}: ${option.example}`
    if (option.kind === 'boolean') {
      input[option.flag] = expectBoolean(source, path, value, example)
    } else if (option.flag === 'volume') {
      input[option.flag] = parseVolumes(source, path, value)
    } else if (option.multiple) {
      let list = expectStringList(source, path, value, example)
      // Paths in the project (tmp/pids, log) are relative to its working directory; absolute ones stay.
      if (option.flag === 'writable' || option.flag === 'tmpfs') list = list.map(entry => resolve(workdir, entry))
      if (option.flag === 'security-opt')
        list = list.map(entry => entry.replace(/^(seccomp[=:])(.+)$/s, (_, prefix: string, profile: string) => prefix + anchoredProfile(profile, dir)))
      input[option.flag] = list
    } else if (option.flag === 'namespaces' && Array.isArray(value)) {
      input[option.flag] = expectStringList(source, path, value, example)
    } else {
      const text = expectString(source, path, value, example)
      input[option.flag] = option.flag === 'seccomp' ? anchoredProfile(text, dir) : text
    }
  }
  return input
}

/**
 * How one app of contain.yml names its options (by their keys), and where an error about one
 * points: the value of its key, or the item of a list the error names; the app's key when the
 * app does not set the option (a default that does not fit another option's value).
 */
export function yamlNaming(source: YamlSource, appPath: Path, app: YamlMap, input: OptionInput): OptionNaming {
  const pathOf = (id: string | undefined, value?: unknown, index?: number): Path => {
    if (id === 'command') return app.command === undefined ? appPath : [...appPath, 'command']
    const key = id === undefined ? undefined : optionSpec(id)?.key
    if (key === undefined || id === undefined) return appPath
    if (app[key] === undefined) {
      // The environment's values come from its layers: an env_file when environment: is absent.
      return id === 'env' && app.env_file !== undefined ? [...appPath, 'env_file'] : appPath
    }
    const values = (input as Record<string, unknown>)[id]
    const item = index ?? (Array.isArray(values) && Array.isArray(app[key]) ? values.indexOf(value) : -1)
    return item === -1 ? [...appPath, key] : [...appPath, key, item]
  }
  const name = (id: string) => optionSpec(id)?.key ?? id
  return {
    name,
    record: () => ({
      file: source.display,
      prefix: formatPath(appPath),
      names: Object.fromEntries(RECORDED_OPTIONS.map(id => [id, name(id)])),
      positions: Object.fromEntries(RECORDED_OPTIONS.map(id => [id, source.locate(pathOf(id))])),
      app: source.locate(appPath, 'key'),
    }),
    at(error: InvalidValueError): ContainError {
      const id = error.ref?.option
      const path = pathOf(id, error.value, error.ref?.index)
      // `security_opt no-new-privileges=x`: what follows the option's name says which entry.
      const named = id === undefined ? '' : name(id)
      const rest = id !== undefined && error.field.startsWith(named) ? error.field.slice(named.length).trim() : error.field
      return source.error(path, rest ? `${rest}: ${error.problem}` : error.problem, error.fix ?? '', source.locate(path), error)
    },
    about(ids: readonly string[], message: string, fix: string, cause: ContainError): ContainError {
      return source.error(appPath, message, fix, source.locate(pathOf(ids[0])), cause)
    },
  }
}

/** compose's long form of a volume, as far as contain has it: a bind mount. */
const VOLUME_KEYS = ['type', 'source', 'target', 'read_only']

/**
 * volumes: compose's short form (HOST:CONTAINER[:ro|rw], HOST relative to contain.yml) stays as
 * the -v flag takes it; the long form {type: bind, source, target, read_only} is turned into it.
 */
function parseVolumes(source: YamlSource, path: Path, value: unknown): string[] {
  const example = 'volumes: ["./data:/srv/data:ro"]'
  if (!Array.isArray(value)) return typeError(source, path, value, 'a list of HOST:CONTAINER[:ro|rw] or {type: bind, source, target}', example)
  return value.map((item, index) => {
    const at = [...path, index]
    if (typeof item === 'string') return item
    const map = expectMap(source, at, item, '"./data:/srv/data:ro", or {type: bind, source: ./data, target: /srv/data, read_only: true}')
    checkKeys(source, at, map, VOLUME_KEYS)
    if (map.type !== undefined && map.type !== 'bind')
      source.fail([...at, 'type'], `contain has only bind volumes, not ${describe(map.type)}`, 'write type: bind (a tmpfs goes under tmpfs:)')
    for (const key of ['source', 'target']) if (map[key] === undefined) source.fail(at, `has no ${key}`, `add ${key}:`)
    const from = expectString(source, [...at, 'source'], map.source, 'source: ./data', false)
    const to = expectString(source, [...at, 'target'], map.target, 'target: /srv/data', false)
    const readOnly = map.read_only === undefined ? false : expectBoolean(source, [...at, 'read_only'], map.read_only, 'read_only: true')
    // A bare relative name is a path here (compose's long form type: bind), not a named volume.
    const host = /^(\/|\.|~)/.test(from) ? from : `./${from}`
    return `${host}:${to}:${readOnly ? 'ro' : 'rw'}`
  })
}
