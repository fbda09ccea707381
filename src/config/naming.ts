/**
 * Where each option value came from, so every message names what the user wrote: `--memory` on a
 * command line, `mem_limit` in contain.yml (and, for an error, its line and column). The resolver
 * and the errors found later (a cgroup controller that is missing at plan time) take an
 * OptionNaming instead of spelling a flag or a key.
 */
import {HostError, OptionFieldsError, type ContainError, type InvalidValueError} from '../errors.js'
import {optionSpec} from './schema.js'

/** Plain functions (no `this`): resolve.ts takes `name` apart from the rest. */
export interface OptionNaming {
  /** How the option with this id reads in a message: `--memory` or `mem_limit`. */
  name: (id: string) => string
  /** The error to report for an invalid value (its ref says which option and item): a flag's as it is, a file's at its line and column. */
  at: (error: InvalidValueError) => ContainError
  /** The error to report for a sentence about options `ids` (already named in `message`), found after their values were read. */
  about: (ids: readonly string[], message: string, fix: string, cause: ContainError) => ContainError
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
