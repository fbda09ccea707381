/**
 * `contain init`: writes a commented contain.yml for a directory from what it finds there (see
 * detect.ts and render.ts). It never writes over an existing project file without `force`, and
 * the file it writes has been loaded as `contain up` would load it.
 */
import {availableParallelism} from 'node:os'
import {renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {loadProject, type LoadOptions} from '../config/project.js'
import {ContainError} from '../errors.js'
import {packageRoot, templatePath} from '../paths.js'
import {detectProject, hostDetectFs, type DetectFs} from './detect.js'
import {renderProject, type AppOrigin} from './render.js'

export interface InitOptions {
  dir: string
  /** Write over an existing contain.yml (or contain.yaml). */
  force: boolean
  /** Injectable for tests: the filesystem detection reads, and how the result is loaded. */
  fs?: DetectFs
  cpus?: number
  load?: LoadOptions
}

export interface InitResult {
  file: string
  /** An existing file was replaced (--force). */
  replaced: boolean
  apps: {name: string; from: AppOrigin}[]
  detected: {rails?: string[]; procfile?: string[]}
}

/** contain.yaml when that is the project file already there; contain.yml otherwise. */
function targetFile(dir: string): {file: string; exists: boolean} {
  for (const name of ['contain.yml', 'contain.yaml']) {
    const file = join(dir, name)
    if (statSync(file, {throwIfNoEntry: false})) return {file, exists: true}
  }
  return {file: join(dir, 'contain.yml'), exists: false}
}

export async function initProject(options: InitOptions): Promise<InitResult> {
  const {file, exists} = targetFile(options.dir)
  if (exists && !options.force) {
    throw new ContainError(`${file} already exists; contain init writes over no file`, {
      fix: `edit it, or run contain init --force to replace it with a new one (move it away first to keep it)`,
    })
  }
  const detection = detectProject(options.dir, options.fs ?? hostDetectFs)
  const root = packageRoot()
  const {text, apps} = renderProject(detection, {
    cpus: options.cpus ?? availableParallelism(),
    schema: templatePath('contain.schema.json', root),
    reference: templatePath('contain.yml', root),
  })
  // Loaded before it replaces anything: a proposal contain up would refuse is a bug of init's.
  const temporary = join(options.dir, `.${basename(file)}.${process.pid}.tmp`)
  try {
    writeFileSync(temporary, text, {mode: 0o644})
    await loadProject(temporary, options.load)
    renameSync(temporary, file)
  } finally {
    rmSync(temporary, {force: true})
  }
  return {
    file,
    replaced: exists,
    apps,
    detected: {rails: detection.rails?.evidence, procfile: detection.procfile?.entries.map(entry => entry.name)},
  }
}
