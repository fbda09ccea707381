/**
 * Every failure contain reports is one of these classes. Each carries what it acted on and the
 * fix, and `renderError` is the one place that turns them into a message and an exit code.
 */

/** Exit codes, as Docker uses them for the same failures. */
export const ExitCode = {
  /** contain itself failed: bad flag or config, cgroup or namespace setup, missing helper. */
  containFailed: 125,
  /** The command was found but could not be executed. */
  cannotExecute: 126,
  /** The command was not found. */
  commandNotFound: 127,
} as const

export interface ErrorDetails {
  /** What the user should do about it, as one sentence. */
  fix?: string
  exitCode?: number
  cause?: unknown
}

export class ContainError extends Error {
  readonly fix?: string
  readonly exitCode: number

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, {cause: details.cause})
    this.name = new.target.name
    this.fix = details.fix
    this.exitCode = details.exitCode ?? ExitCode.containFailed
  }
}

/** Which option a value belongs to (its id in config/schema.ts), and which item of a list. */
export interface OptionRef {
  option: string
  index?: number
}

/**
 * A flag or config field has a value contain cannot use. `field` is `--cpus` or `apps.web.cpus`
 * (what the user wrote, as an OptionNaming names it); `ref` says which option it was, so
 * contain.yml's loader can point at the value's line and column.
 */
export class InvalidValueError extends ContainError {
  /** The message without the field: what is wrong, and the value. */
  readonly problem: string

  constructor(
    readonly field: string,
    readonly value: unknown,
    problem: string,
    fix: string,
    public ref?: OptionRef,
  ) {
    super(`${field}: ${problem} (got ${formatValue(value)})`, {fix})
    this.problem = `${problem} (got ${formatValue(value)})`
  }
}

/** A file (contain.yml, env file, seccomp profile) cannot be read or parsed. */
export class FileError extends ContainError {
  constructor(
    readonly file: string,
    problem: string,
    details: ErrorDetails & {line?: number; column?: number} = {},
  ) {
    // A newline in a path would look like a line of the message.
    const at = details.line === undefined ? printable(file) : `${printable(file)}:${details.line}${details.column === undefined ? '' : `:${details.column}`}`
    super(`${at}: ${problem}`, details)
  }
}

/** The kernel refused a cgroup operation. Carries the file and the value written. */
export class CgroupError extends ContainError {
  constructor(
    readonly path: string,
    problem: string,
    details: ErrorDetails = {},
  ) {
    super(`cgroup ${path}: ${problem}`, details)
  }
}

/** The host lacks something contain needs (a tool, a kernel feature, privileges). */
export class HostError extends ContainError {}

/**
 * A problem found below config/ (at plan time, by the cgroup layer) with some options, known there
 * only by the RunOptions fields they set (`memoryBytes`). config/naming.ts tells it again with
 * the names the user wrote (`--memory`, or mem_limit at its line). `tell` words the problem for
 * the names it is given, which are the fields themselves until then.
 */
export class OptionFieldsError extends HostError {
  constructor(
    readonly fields: readonly string[],
    readonly tell: (names: readonly string[]) => {problem: string; fix: string},
    details: ErrorDetails = {},
  ) {
    const {problem, fix} = tell(fields)
    super(`${fields.join(', ')} ${problem}`, {...details, fix})
  }
}

/** `contain up` of a project whose supervisor already runs (or is starting): the project's lock is held. */
export class AlreadyRunningError extends ContainError {
  constructor(
    readonly project: string,
    readonly supervisorPid?: number,
    since?: string,
  ) {
    const holder = supervisorPid === undefined ? 'another contain up is starting it' : `supervisor pid ${supervisorPid}${since ? `, since ${since}` : ''}`
    super(`${project} is already running (${holder})`, {fix: 'see contain ps; stop it first with contain down'})
  }
}

/** Another directory's project runs under the same name: two projects on a host never share one. */
export class ProjectNameTakenError extends ContainError {
  constructor(
    readonly project: string,
    readonly dir: string,
    readonly file: string,
    readonly otherDir?: string,
    otherPid?: number,
  ) {
    const other = otherDir === undefined ? 'another directory (it is starting)' : `${otherDir}${otherPid === undefined ? '' : ` (supervisor pid ${otherPid})`}`
    super(`project name ${JSON.stringify(project)} is already used by ${other}; ${dir} cannot run under the same name`, {
      fix: `give one of them its own name: (e.g. name: ${project}-2 in ${file}), or stop the other first (contain down${otherDir === undefined ? '' : ` in ${otherDir}`})`,
    })
  }
}

/**
 * The app could not be started: argv and the reason. `permanent` says a retry cannot fix it (the
 * same configuration on the same host gets the same answer): a supervisor then marks the app
 * failed at once instead of restarting it by its policy.
 */
export class LaunchError extends ContainError {
  readonly permanent: boolean

  constructor(
    readonly argv: readonly string[],
    problem: string,
    details: ErrorDetails & {permanent?: boolean} = {},
  ) {
    super(`${argv[0] ?? '(no command)'}: ${problem}`, details)
    this.permanent = details.permanent ?? false
  }
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}

/**
 * Paths and values in messages come from users and files: control characters are shown escaped,
 * so an escape sequence in a file name cannot drive the terminal. `keepLines` keeps line breaks
 * (a message relayed from the supervisor holds its "fix:" line).
 */
export function printable(text: string, keepLines = false): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, char =>
    char === '\n' ? (keepLines ? char : '\\n') : char === '\t' ? '\\t' : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
  )
}

/** An error's cause for --verbose: an Error as Node names it, any other object as JSON. */
function describeCause(cause: unknown): string {
  if (cause instanceof Error || typeof cause !== 'object' || cause === null) return String(cause)
  return JSON.stringify(cause)
}

/** The message a user sees for any error, and the exit code to leave with. */
export function renderError(error: unknown, verbose = false): {message: string; exitCode: number} {
  if (error instanceof ContainError) {
    const lines = [`contain: ${printable(error.message, true)}`]
    if (error.fix) lines.push(`  fix: ${printable(error.fix, true)}`)
    if (verbose && error.cause) lines.push(`  cause: ${describeCause(error.cause)}`)
    return {message: lines.join('\n'), exitCode: error.exitCode}
  }
  // A bug in contain, not a user error: keep the stack so it can be reported.
  const text = error instanceof Error ? (verbose ? (error.stack ?? error.message) : printable(error.message)) : printable(String(error))
  return {message: `contain: internal error: ${text}\n  fix: rerun with CONTAIN_DEBUG=1 and report it`, exitCode: ExitCode.containFailed}
}
