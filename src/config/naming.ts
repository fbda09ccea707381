/**
 * Where each option value came from, so every message names what the user wrote: `--memory` on a
 * command line, `mem_limit` in contain.yml (and, for an error, its line and column). The resolver
 * and the errors found later (a cgroup controller that is missing at plan time) take an
 * OptionNaming instead of spelling a flag or a key.
 */
import {FileError, HostError, OptionFieldsError, type ContainError, type InvalidValueError} from '../errors.js'
import {optionSpec, RUN_OPTIONS} from './schema.js'

/** Plain functions (no `this`): resolve.ts takes `name` apart from the rest. */
export interface OptionNaming {
  /** How the option with this id reads in a message: `--memory` or `mem_limit`. */
  name: (id: string) => string
  /** The error to report for an invalid value (its ref says which option and item): a flag's as it is, a file's at its line and column. */
  at: (error: InvalidValueError) => ContainError
  /** The error to report for a sentence about options `ids` (already named in `message`), found after their values were read. */
  about: (ids: readonly string[], message: string, fix: string, cause: ContainError) => ContainError
  /** A file's naming written down (NamingRecord), to go with resolved options to another process. */
  record?: () => NamingRecord
}

/**
 * A file's naming as data: how each option reads and where its value is (or the app's key, for
 * one it does not set). The supervisor of `up -d` and `contain exec` get it with the resolved
 * project instead of the file, and still tell a late error at its line and column.
 */
export interface NamingRecord {
  /** The file as messages name it. */
  file: string
  /** What each message about the app begins with: `apps.web`, or a Procfile's process type. */
  prefix: string
  names: Record<string, string>
  positions: Record<string, Position>
  /** The app's own key: for an option without a position. */
  app: Position
}

interface Position {
  line: number
  column: number
}

/** Every option id a late error may be about. */
export const RECORDED_OPTIONS: readonly string[] = ['command', ...RUN_OPTIONS.map(spec => spec.flag)]

/** A naming from its record (see NamingRecord): messages as the file's own naming words them. */
export function namingFromRecord(record: NamingRecord): OptionNaming {
  const position = (id: string | undefined) => (id === undefined ? undefined : record.positions[id]) ?? record.app
  return {
    name: id => record.names[id] ?? id,
    at: error => new FileError(record.file, `${record.prefix}: ${error.message}`, {...position(error.ref?.option), fix: error.fix, cause: error}),
    about: (ids, message, fix, cause) => new FileError(record.file, `${record.prefix}: ${message}`, {...position(ids[0]), fix, cause}),
    record: () => record,
  }
}

/** The command line's naming: options are their flags. */
export const flagNaming: OptionNaming = {
  name: id => (optionSpec(id) ? `--${id}` : id),
  at: error => error,
  about: (_ids, message, fix, cause) => new HostError(message, {fix, cause, exitCode: cause.exitCode}),
}

/** The cgroup limit fields each option sets (config/resolve.ts fills CgroupLimits from these). */
const LIMIT_OPTIONS: Record<string, string> = {
  cpuQuotaMicros: 'cpus',
  cpuPeriodMicros: 'cpus',
  cpuShares: 'cpu-shares',
  cpusetCpus: 'cpuset-cpus',
  memoryBytes: 'memory',
  memorySwapBytes: 'memory-swap',
  memoryReservationBytes: 'memory-reservation',
  pidsMax: 'pids-limit',
}

/** The options that set these RunOptions fields (cgroup limit fields), without repeats. */
export function optionsOfFields(fields: readonly string[]): string[] {
  return [...new Set(fields.map(field => LIMIT_OPTIONS[field] ?? field))]
}

/**
 * An error raised below config/ about some option fields (OptionFieldsError), told in the user's
 * words: `--memory needs the memory cgroup controller`, or at mem_limit's line in contain.yml.
 * Other errors pass unchanged.
 */
export function nameFields(error: unknown, naming: OptionNaming): unknown {
  if (!(error instanceof OptionFieldsError)) return error
  const ids = optionsOfFields(error.fields)
  const names = ids.map(id => naming.name(id))
  const {problem, fix} = error.tell(names)
  return naming.about(ids, `${names.join(', ')} ${problem}`, fix, error)
}
