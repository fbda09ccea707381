/**
 * Every host path contain itself decides: where its package (templates, the native helper) is,
 * where supervisors keep their state, where compiled filters are cached. Anything else that needs
 * one of these asks here, so that a packager (or a test) changes it in one place.
 */
import {accessSync, constants, existsSync} from 'node:fs'
import {homedir} from 'node:os'
import {delimiter, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

let ownRoot: string | undefined

/** The package root: the nearest folder above this module that holds package.json (looked up once). */
export function packageRoot(): string {
  if (ownRoot !== undefined) return ownRoot
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return (ownRoot = dir)
}

/** A file of contain's templates/ (contain.yml, systemd units, the default seccomp profile). */
export function templatePath(name: string, root = packageRoot()): string {
  return join(root, 'templates', name)
}

/** The profile `--seccomp default` (and no --seccomp at all) means. */
export function defaultSeccompProfile(root = packageRoot()): string {
  return templatePath('seccomp/default.json', root)
}

/** contain's native helper; CONTAIN_INIT overrides it (for packagers). */
export function initPath(): string {
  return process.env.CONTAIN_INIT ?? join(packageRoot(), 'native/build/contain-init')
}

/** $CONTAIN_STATE_DIR, else /run/contain for root, else the user's runtime directory. */
export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CONTAIN_STATE_DIR) return env.CONTAIN_STATE_DIR
  if (process.getuid?.() === 0) return '/run/contain'
  return join(env.XDG_RUNTIME_DIR ?? `/tmp/contain-${process.getuid?.()}`, 'contain')
}

/** Compiled seccomp filters are kept where only this user can write: a cached filter is loaded as it is. */
export function seccompCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.getuid?.() === 0) return '/var/cache/contain/seccomp'
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'contain/seccomp')
}

/** A program's path as execvp would find it, or undefined. */
export function findOnPath(program: string, path = process.env.PATH ?? '/usr/bin:/bin'): string | undefined {
  for (const dir of path.split(delimiter)) {
    const candidate = join(dir, program)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // Not here.
    }
  }
  return undefined
}
