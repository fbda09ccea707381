/**
 * `contain systemd`: the unit for some apps of a project, printed or written to a file.
 */
import {renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import {loadProject, loadProjectIn, type Project} from '../config/project.js'
import {ContainError, FileError} from '../errors.js'
import {packageRoot} from '../paths.js'
import {renderUnit, type RenderedUnit} from './unit.js'

export interface SystemdOptions {
  cwd: string
  /** The project file (default: the one in cwd). */
  file?: string
  apps: string[]
  user: boolean
  /** Write the unit here instead of returning it for printing. */
  output?: string
  /** The Node.js binary and bin/run.js the unit runs (default: this contain's). */
  node?: string
  containBin?: string
  /** Also write a .socket unit for the apps' listen: addresses, beside the service (socket-unit.ts). */
  socketUnits?: boolean
}

export interface SystemdResult extends RenderedUnit {
  /** The file written, absolute; undefined when the unit is to be printed. */
  file?: string
  /** The .socket unit's file, written beside it (same directory, its own name). */
  socketFile?: string
}

function checkApps(project: Project, apps: string[]): void {
  const known = project.apps.map(app => app.name)
  if (apps.length === 0)
    throw new ContainError('no app given', {
      fix: `name the app(s) the unit runs, e.g. contain systemd ${known[0]} (apps of ${project.file}: ${known.join(', ')})`,
    })
  const unknown = apps.filter(app => !known.includes(app))
  if (unknown.length > 0)
    throw new ContainError(`no app named ${unknown.map(app => JSON.stringify(app)).join(', ')} in ${project.file}`, {fix: `use one of: ${known.join(', ')}`})
}

/** Written next to its final name, then renamed: systemd never reads half a unit. */
function writeUnit(file: string, text: string): void {
  const dir = dirname(file)
  if (!statSync(dir, {throwIfNoEntry: false})?.isDirectory())
    throw new FileError(file, `cannot be written: ${dir} is not a directory`, {fix: `create it first (mkdir -p ${dir}) or give another --output`})
  const temporary = join(dir, `.${basename(file)}.${process.pid}.tmp`)
  try {
    writeFileSync(temporary, text, {mode: 0o644})
    renameSync(temporary, file)
  } catch (error) {
    rmSync(temporary, {force: true})
    throw new FileError(file, `cannot be written (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      fix: 'give a path you may write, or run as root for /etc/systemd/system',
      cause: error,
    })
  }
}

export async function systemdUnit(options: SystemdOptions): Promise<SystemdResult> {
  const project = options.file ? await loadProject(resolve(options.cwd, options.file)) : await loadProjectIn(options.cwd)
  const apps = [...new Set(options.apps)]
  checkApps(project, apps)
  const unit = renderUnit({
    project,
    apps,
    user: options.user,
    node: options.node ?? process.execPath,
    containBin: options.containBin ?? join(packageRoot(), 'bin/run.js'),
    socketUnits: options.socketUnits,
  })
  if (options.socketUnits && !unit.socket)
    throw new ContainError(`--socket-units: no app of ${apps.join(', ')} has listen: addresses`, {
      fix: 'add listen: to the app (listen: ["tcp://127.0.0.1:3000"]), or leave --socket-units out',
    })
  if (options.output === undefined) return unit
  const file = resolve(options.cwd, options.output)
  // The socket first: a service written alone would name a socket unit that is not there.
  const socketFile = unit.socket ? join(dirname(file), unit.socket.name) : undefined
  if (unit.socket && socketFile) writeUnit(socketFile, unit.socket.text)
  writeUnit(file, unit.text)
  return {...unit, file, socketFile}
}
