/**
 * A project's file: what a loaded project is, where the file is found, and reading it as text
 * (bounded, and refused when it is not text). Shared by the contain.yml and Procfile loaders.
 */
import {statSync} from 'node:fs'
import {availableParallelism, hostname} from 'node:os'
import {basename, join} from 'node:path'
import {FileError} from '../errors.js'
import type {HostFacts, RunOptions} from '../launch/options.js'
import type {OptionNaming} from './naming.js'
import {MAX_HOST_FILE_BYTES, readFileUpTo} from '../trusted-file.js'
import type {OptionInput} from './schema.js'
import type {SupervisionConfig} from './supervision.js'

export interface AppConfig {
  /** The app's key under apps: (or the Procfile process type). */
  name: string
  command: string[]
  /** The option values as the file gives them, by option id (apply.ts names what changed in them). */
  input: OptionInput
  /** The app's options, resolved and validated against this host: what planApps plans from. */
  options: RunOptions
  /** How this file names each option, and where its value is: errors found later are told with it. */
  naming: OptionNaming
  supervision: SupervisionConfig
  /** Env files read into input.environment, lowest precedence first (absolute paths). */
  envFiles: string[]
  /** Where the app is defined: its key in contain.yml, its line in a Procfile. */
  location: {line: number; column: number}
}

export interface Project {
  /** The file the project was read from, absolute. */
  file: string
  /** Its directory: relative paths in the file start here, and apps run here by default. */
  dir: string
  /** The top-level name:, or the directory's basename made safe (as compose does). */
  name: string
  apps: AppConfig[]
}

/** The resolver (config/resolve.ts), or a stand-in of a test. */
export type ResolveOptions = (input: OptionInput, command: string[], host: HostFacts, naming: OptionNaming) => Promise<RunOptions>

export interface LoadOptions {
  /** Reads a UTF-8 file: contain.yml, .env, env_file, /etc/passwd. Default: the real filesystem. */
  readFile?: (path: string) => string
  /** The host environment: the lowest layer of each app's environment. Default: process.env. */
  env?: Record<string, string | undefined>
  /** Host facts for value validation (CPU count, users). Default: this host, cwd = the project dir. */
  host?: HostFacts
  /** Resolves one app's options as `contain run` would. Default: resolveRunOptions. */
  resolve?: ResolveOptions
}

/** contain reads config files up to this size: a contain.yml is a few kB; more is the wrong file. */
export const MAX_CONFIG_BYTES = 2 ** 20

/** The file names `contain up` looks for, in order. */
export const PROJECT_FILES = ['contain.yml', 'contain.yaml', 'Procfile'] as const

export {APP_NAME_PATTERN} from '../names.js'

/** compose's project name rule, at most 63 characters (a cgroup and lock name, with a hash). */
export const PROJECT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/

function errnoCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error)
}

/**
 * A config file's text, refused when it is not one: over 1 MiB (checked before reading), NUL
 * bytes or invalid UTF-8 (binary data). `display` is the name used in messages.
 */
export function readConfigText(file: string, readFile?: (path: string) => string, display = file): string {
  const tooLarge = (bytes?: number) =>
    new FileError(display, `is ${bytes === undefined ? 'larger than 1 MiB' : `${(bytes / 2 ** 20).toFixed(1)} MiB`}; contain reads config files up to 1 MiB`, {
      fix: 'check that this is the right file: a contain.yml or Procfile is a few kB',
    })
  const notText = (what: string) => new FileError(display, `is not a text file (${what})`, {fix: 'give the path of a YAML contain.yml or a Procfile'})
  const cannotRead = (error: unknown) =>
    new FileError(display, errnoCode(error) === 'ENOENT' ? 'does not exist' : `cannot be read (${errnoCode(error)})`, {
      fix: errnoCode(error) === 'ENOENT' ? 'run contain init to write one, or give the path of an existing file' : 'give the path of a readable file',
      cause: error,
    })
  let text: string
  if (readFile) {
    try {
      text = readFile(file)
    } catch (error) {
      throw error instanceof FileError ? error : cannotRead(error)
    }
    if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw tooLarge(Buffer.byteLength(text))
  } else {
    let bytes: Buffer
    try {
      const stat = statSync(file)
      if (stat.isDirectory()) throw new FileError(display, 'is a directory', {fix: `give the path of the file in it, e.g. ${join(file, 'contain.yml')}`})
      if (stat.size > MAX_CONFIG_BYTES) throw tooLarge(stat.size)
      // Bounded: a device or FIFO reports size 0 and may never end (-f /dev/zero).
      bytes = readFileUpTo(file, MAX_CONFIG_BYTES)
    } catch (error) {
      if (errnoCode(error) === 'EFBIG') throw tooLarge()
      throw error instanceof FileError ? error : cannotRead(error)
    }
    if (bytes.length > MAX_CONFIG_BYTES) throw tooLarge(bytes.length)
    if (bytes.includes(0)) throw notText('it holds NUL bytes')
    try {
      text = new TextDecoder('utf-8', {fatal: true}).decode(bytes)
    } catch {
      throw notText('it is not UTF-8')
    }
  }
  if (text.includes('\0')) throw notText('it holds NUL bytes')
  return text
}

/** The project file in `dir`: contain.yml, contain.yaml, else Procfile; undefined when none exists. */
export function findProjectFile(
  dir: string,
  exists: (path: string) => boolean = path => statSync(path, {throwIfNoEntry: false})?.isFile() ?? false,
): string | undefined {
  const found = PROJECT_FILES.map(name => join(dir, name)).filter(path => exists(path))
  if (found.length > 1 && basename(found[1]) === 'contain.yaml') {
    throw new FileError(found[1], 'sits next to contain.yml, so it is unclear which one holds the project', {fix: 'keep one of contain.yml and contain.yaml'})
  }
  return found[0]
}

/**
 * compose's project name: the directory's basename, lowercased, other characters dropped; at most
 * 63 characters, as a `name:`, since it names a cgroup and a lock (with a hash, within NAME_MAX).
 */
export function projectNameOf(dir: string): string {
  return (
    basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, '')
      .replace(/^[_-]+/, '')
      .slice(0, 63) || 'default'
  )
}

/** The host facts validation uses by default: this host, with relative paths from the project dir. */

/**
 * The host facts options are resolved with by default: this host, with relative paths from the
 * project dir. An app's stdin is closed and its output goes through pipes: no terminal, so no TERM.
 */
export function defaultHost(dir: string, env: Record<string, string | undefined>, readFile: (path: string) => string): HostFacts {
  return {cpus: availableParallelism(), env, cwd: dir, readFile, terminal: false, hostname: hostname()}
}

export const readUtf8 = (path: string): string => readFileUpTo(path, MAX_HOST_FILE_BYTES).toString('utf8')
