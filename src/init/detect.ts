/**
 * What `contain init` finds in a directory: a Rails app, a Procfile, and the directories a
 * read-only Rails app must keep writable. It only reads.
 */
import {readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {parseProcfile, type ProcfileEntry} from '../config/procfile.js'
import {readConfigText} from '../config/project.js'
import {passwdEntryOf} from '../launch/user.js'

/** The filesystem as detection sees it; tests hand in a temp dir, so the real one is the default. */
export interface DetectFs {
  /** A file's text, or undefined when it is not there. */
  read(path: string): string | undefined
  isFile(path: string): boolean
  isDirectory(path: string): boolean
  /** uid and gid of a path's owner, or undefined when it is not there. */
  owner?(path: string): {uid: number; gid: number} | undefined
}

export const hostDetectFs: DetectFs = {
  read: path => {
    try {
      return statSync(path).isFile() ? readFileSync(path, 'utf8') : undefined
    } catch {
      return undefined
    }
  },
  isFile: path => statSync(path, {throwIfNoEntry: false})?.isFile() ?? false,
  isDirectory: path => statSync(path, {throwIfNoEntry: false})?.isDirectory() ?? false,
  owner: path => {
    const stat = statSync(path, {throwIfNoEntry: false})
    return stat && {uid: stat.uid, gid: stat.gid}
  },
}

export interface RailsApp {
  /** What made it a Rails app: "Gemfile names railties", "config.ru", "bin/rails". */
  evidence: string[]
  /** config/routes.rb has an /up route (Rails 7.1's health check, or one of its own). */
  upRoute: boolean
}

export interface Detection {
  dir: string
  rails?: RailsApp
  procfile?: {file: string; entries: ProcfileEntry[]}
  /** Of tmp and log, those that exist: a read-only Rails app writes there. */
  writable: string[]
  /** tmp/pids exists, so it can be a tmpfs of its own (Rails' stale server.pid). */
  pidsDir: boolean
  /** The directory's owner, whom contain runs the app as when user: is left out; name from /etc/passwd. */
  owner?: {uid: number; gid: number; name?: string}
}

/** `gem "rails"` or `gem 'railties'`, at the start of a line, not commented out. */
const RAILS_GEM = /^[ \t]*gem[ \t(]+["'](rails|railties)["']/m
/** get "/up", get "up" => "rails/health#show", or any route to rails/health. */
const UP_ROUTE = /["']\/?up["']|rails\/health/

/** A Rails app: its Gemfile names rails or railties, and it has config.ru or bin/rails. */
function detectRails(dir: string, fs: DetectFs): RailsApp | undefined {
  const gem = RAILS_GEM.exec(fs.read(join(dir, 'Gemfile')) ?? '')?.[1]
  if (!gem) return undefined
  const evidence = [`Gemfile names ${gem}`, ...['config.ru', 'bin/rails'].filter(path => fs.isFile(join(dir, path)))]
  if (evidence.length === 1) return undefined
  return {evidence, upRoute: UP_ROUTE.test(fs.read(join(dir, 'config/routes.rb')) ?? '')}
}

function ownerOf(dir: string, fs: DetectFs): Detection['owner'] {
  const owner = fs.owner?.(dir)
  if (!owner) return undefined
  const name = passwdEntryOf(owner.uid, path => fs.read(path) ?? '')?.name
  return {...owner, name}
}

export function detectProject(dir: string, fs: DetectFs = hostDetectFs): Detection {
  const procfilePath = join(dir, 'Procfile')
  // A Procfile that is there but broken is reported (file, line, fix), not skipped.
  const procfile = fs.isFile(procfilePath)
    ? {
        file: procfilePath,
        entries: parseProcfile(
          procfilePath,
          readConfigText(procfilePath, path => fs.read(path) ?? ''),
        ),
      }
    : undefined
  return {
    dir,
    rails: detectRails(dir, fs),
    procfile,
    writable: ['tmp', 'log'].filter(path => fs.isDirectory(join(dir, path))),
    pidsDir: fs.isDirectory(join(dir, 'tmp/pids')),
    owner: ownerOf(dir, fs),
  }
}
