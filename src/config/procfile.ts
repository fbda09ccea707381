/**
 * A foreman Procfile as a project, for apps that have one and no contain.yml: one app per
 * `name: command` line, run through `sh -c` so $PORT and the rest expand as under foreman.
 */
import {readFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {FileError, InvalidValueError, type ContainError} from '../errors.js'
import type {HostFacts} from '../launch/options.js'
import {APP_NAME_RULE, isAppName} from '../names.js'
import {readProjectDotenv} from './env-layers.js'
import {RECORDED_OPTIONS, type OptionNaming} from './naming.js'
import {defaultHost, projectNameOf, readConfigText, type AppConfig, type LoadOptions, type Project} from './project-file.js'
import {resolveRunOptions} from './resolve.js'
import {FILE_OPTIONS, type OptionInput} from './schema.js'
import {defaultSupervision} from './supervision.js'

/** One process type of a Procfile. */
export interface ProcfileEntry {
  name: string
  command: string
  line: number
  /** Column where the command starts, 1-based. */
  column: number
}

/** foreman's: the first process type gets 5000 (or $PORT), each next one 100 more. */
export const FOREMAN_BASE_PORT = 5000
export const FOREMAN_PORT_STEP = 100

const LINE_PATTERN = /^([^:\s]+):[ \t]*(.*)$/

/** Parses Procfile text: `name: command` lines; blank lines and # comments are skipped. */
export function parseProcfile(file: string, text: string): ProcfileEntry[] {
  const entries: ProcfileEntry[] = []
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1
    const trimmed = raw.trim()
    if (trimmed === '' || trimmed.startsWith('#')) return
    const indent = raw.length - raw.trimStart().length
    const match = LINE_PATTERN.exec(trimmed)
    if (!match) {
      throw new FileError(file, `not a process line (${JSON.stringify(trimmed.slice(0, 60))})`, {
        line,
        column: indent + 1,
        fix: 'write NAME: COMMAND, e.g. web: bundle exec rails s -p $PORT; start comments with #',
      })
    }
    const [, name, command] = match
    if (!isAppName(name)) {
      throw new FileError(file, `${JSON.stringify(name)} is not a valid process name`, {line, column: indent + 1, fix: APP_NAME_RULE})
    }
    const column = indent + trimmed.length - command.length + 1
    if (command.trim() === '') throw new FileError(file, `${name}: has no command`, {line, column, fix: `write the command after "${name}:"`})
    const first = entries.find(entry => entry.name === name)
    if (first)
      throw new FileError(file, `${name}: duplicate process type (first at line ${first.line})`, {
        line,
        column: indent + 1,
        fix: 'give each process type its own name',
      })
    entries.push({name, command: command.trim(), line, column})
  })
  if (entries.length === 0)
    throw new FileError(file, 'has no processes', {fix: 'add one NAME: COMMAND line per process, e.g. web: bundle exec rails s -p $PORT'})
  return entries
}

/** The port of the first process type: $PORT from .env or the host, as foreman reads it, else 5000. */
function basePort(file: string, dotenv: Record<string, string> | undefined, hostEnv: Record<string, string | undefined>): number {
  const text = dotenv?.PORT ?? hostEnv.PORT
  if (text === undefined) return FOREMAN_BASE_PORT
  const port = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN
  if (!(port >= 1 && port <= 65_535)) {
    throw new FileError(dotenv?.PORT === undefined ? file : resolve(dirname(file), '.env'), `PORT is not a port number (got ${JSON.stringify(text)})`, {
      fix: 'set PORT to a number from 1 to 65535, or unset it to start at 5000',
    })
  }
  return port
}

/**
 * A Procfile sets no options but the ones above: a problem with one (the environment, the
 * directory) is reported at the process's line, with contain.yml's key names.
 */
function procfileNaming(file: string, entry: ProcfileEntry): OptionNaming {
  const at = (message: string, fix: string | undefined, cause: ContainError) =>
    new FileError(file, `${entry.name}: ${message}`, {line: entry.line, column: entry.column, fix, cause})
  return {
    name: id => FILE_OPTIONS.find(option => option.flag === id)?.key ?? id,
    at: error => at(error.message, error.fix, error),
    about: (_ids, message, fix, cause) => at(message, fix, cause),
    record: () => {
      const position = {line: entry.line, column: entry.column}
      return {
        file,
        prefix: entry.name,
        names: Object.fromEntries(RECORDED_OPTIONS.map(id => [id, FILE_OPTIONS.find(option => option.flag === id)?.key ?? id])),
        positions: Object.fromEntries(RECORDED_OPTIONS.map(id => [id, position])),
        app: position,
      }
    },
  }
}

/**
 * Reads a Procfile into apps. Each app runs `sh -c COMMAND` in the Procfile's directory with
 * PORT set as foreman sets it; its environment is the host's < .env < PORT. Supervision takes the
 * defaults (foreman restarts nothing either).
 */
export async function loadProcfile(file: string, options: LoadOptions = {}): Promise<Project> {
  const absolute = resolve(file)
  const dir = dirname(absolute)
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'))
  const entries = parseProcfile(file, readConfigText(file, options.readFile))
  const hostEnv = options.env ?? options.host?.env ?? process.env
  const host: HostFacts = options.host ?? defaultHost(dir, hostEnv, readFile)
  const resolveOptions = options.resolve ?? resolveRunOptions
  const dotenv = readProjectDotenv(dir, readFile)
  const firstPort = basePort(file, dotenv?.values, hostEnv)
  const apps: AppConfig[] = []
  for (const [index, entry] of entries.entries()) {
    const port = firstPort + index * FOREMAN_PORT_STEP
    const input: OptionInput = {name: entry.name, workdir: dir, environment: {...dotenv?.values, PORT: String(port)}}
    const command = ['sh', '-c', entry.command]
    const naming = procfileNaming(file, entry)
    let resolved
    try {
      resolved = await resolveOptions(input, command, host, naming)
    } catch (error) {
      if (!(error instanceof InvalidValueError)) throw error
      throw naming.at(error)
    }
    apps.push({
      name: entry.name,
      command,
      input,
      options: resolved,
      naming,
      supervision: defaultSupervision(),
      envFiles: dotenv ? [dotenv.path] : [],
      location: {line: entry.line, column: 1},
    })
  }
  return {file: absolute, dir, name: projectNameOf(dir), apps}
}
