import {accessSync, constants, existsSync} from 'node:fs'
import {delimiter, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

let root: string | undefined

/** The package root: the nearest folder above this module that holds package.json (looked up once: a launch asks several times). */
export function packageRoot(): string {
  if (root !== undefined) return root
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return (root = dir)
}

/** contain's native helper; CONTAIN_INIT overrides it (for packagers). */
export function initPath(): string {
  return process.env.CONTAIN_INIT ?? join(packageRoot(), 'native/build/contain-init')
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
