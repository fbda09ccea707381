/**
 * A loaded project written down for another process: `contain up -d` hands it to the supervisor
 * it starts, which keeps it in the project's state directory for `contain exec`. Neither reads
 * contain.yml again, so what runs is what up -d checked, whatever the file says by then; each
 * app's naming goes along as data, so an error found later still names the key at its line.
 */
import {ContainError} from '../errors.js'
import {namingFromRecord, type NamingRecord} from './naming.js'
import type {AppConfig, Project} from './project-file.js'

/** Another contain version may write another shape: a record says which it is. */
const FORMAT = 'contain-resolved-project/1'

type AppRecord = Omit<AppConfig, 'naming'> & {naming: NamingRecord}

interface ProjectRecord {
  format: typeof FORMAT
  file: string
  dir: string
  name: string
  apps: AppRecord[]
}

/** The project as JSON, each app's naming with it. */
export function recordProject(project: Project): string {
  const apps = project.apps.map(({naming, ...app}): AppRecord => {
    const record = naming.record?.()
    // Only a command line's naming has no record, and a command line is no project.
    if (!record) throw new ContainError(`${app.name}: its options' naming cannot be written down`)
    return {...app, naming: record}
  })
  const record: ProjectRecord = {format: FORMAT, file: project.file, dir: project.dir, name: project.name, apps}
  return JSON.stringify(record)
}

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

function isAppRecord(app: unknown): app is AppRecord {
  if (!isMap(app) || !isMap(app.options) || !isMap(app.supervision) || !isMap(app.naming) || !isMap(app.input)) return false
  const naming = app.naming
  return (
    typeof app.name === 'string' &&
    Array.isArray(app.command) &&
    Array.isArray(app.envFiles) &&
    typeof naming.file === 'string' &&
    typeof naming.prefix === 'string' &&
    isMap(naming.names) &&
    isMap(naming.positions) &&
    isMap(naming.app)
  )
}

/**
 * The project a record holds. Its writer is this user's own contain (the up -d that started the
 * supervisor, or the supervisor itself): the shape is checked to catch another version's record,
 * not an attacker's, whom the record's place (a pipe, a private state directory) keeps out.
 */
export function readProjectRecord(text: string, origin: string): Project {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    value = undefined
  }
  const record = value as Partial<ProjectRecord> | undefined
  if (
    record?.format !== FORMAT ||
    typeof record.file !== 'string' ||
    typeof record.dir !== 'string' ||
    typeof record.name !== 'string' ||
    !Array.isArray(record.apps) ||
    !record.apps.every(isAppRecord)
  )
    throw new ContainError(`${origin} does not hold a project resolved by this version of contain`, {
      fix: 'restart the project with contain down and contain up -d: it was started by another version of contain',
    })
  return {file: record.file, dir: record.dir, name: record.name, apps: record.apps.map(app => ({...app, naming: namingFromRecord(app.naming)}))}
}
