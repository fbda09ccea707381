/**
 * What a command is, as data: its flags, arguments and help, and a handler loaded only when it
 * runs. The table (commands/table.ts) holds one of these per command; cli/parse.ts reads every
 * command line with it, and cli/oclif.ts builds oclif's help and completion from it, so the
 * grammar a user types and the one help describes are the same table.
 */

export interface FlagSpec {
  /** integer: a whole number (with `min`); option: one of `options`. */
  kind: 'boolean' | 'string' | 'integer' | 'option'
  char?: string
  description: string
  helpValue?: string
  /** Repeatable: each occurrence adds one value, in order. */
  multiple?: boolean
  hidden?: boolean
  default?: string
  min?: number
  options?: readonly string[]
  /** Flags that cannot be given with this one. */
  exclusive?: readonly string[]
}

export interface ArgSpec {
  /** As help shows it, and the key of Parsed.args. */
  name: string
  description: string
  required?: boolean
}

/**
 * The words after the named arguments. apps: more positional words, anywhere among the flags.
 * command: the app's own command line, from the first positional word (or after `--`) on, taken
 * verbatim, as `docker run` takes it: flags after it are the command's.
 */
export interface RestSpec {
  kind: 'apps' | 'command'
  name: string
  description: string
  /** The parser refuses a line without one. Left off where the handler says what is missing better. */
  required?: boolean
}

export type FlagValue = string | boolean | number | string[]

export interface Parsed {
  /** Only the flags given (and those with a default), by their long name. */
  flags: Readonly<Record<string, FlagValue | undefined>>
  args: Readonly<Record<string, string | undefined>>
  rest: readonly string[]
}

/** Where a handler prints: the fast entry writes straight to fds 1 and 2, oclif through its own. */
export interface CommandIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
}

/** A command's work once its line is parsed: returns the exit code (undefined: 0, or process.exitCode as set). */
export type Handler = (input: Parsed, io: CommandIo) => Promise<number | undefined>

export interface CommandSpec {
  /** oclif's id: topics joined by ':' (seccomp:check). */
  id: string
  summary: string
  description?: string
  /** Help's usage line, where the flags and args alone would not say it. */
  usage?: string
  /** Each the words after `contain <command>`, as a user would type them (a test parses every one). */
  examples: readonly string[]
  flags: Readonly<Record<string, FlagSpec>>
  args?: readonly ArgSpec[]
  rest?: RestSpec
  /** bin/run.js starts it from its own CommonJS bundle, without oclif (a test holds the two lists together). */
  hot?: true
  load: () => Promise<{default: Handler}>
}

/** A string flag's value (the last one given). */
export function textFlag(input: Parsed, name: string): string | undefined {
  const value = input.flags[name]
  return typeof value === 'string' ? value : undefined
}

export function booleanFlag(input: Parsed, name: string): boolean {
  return input.flags[name] === true
}

export function listFlag(input: Parsed, name: string): string[] | undefined {
  const value = input.flags[name]
  return Array.isArray(value) ? value : undefined
}

export function integerFlag(input: Parsed, name: string): number | undefined {
  const value = input.flags[name]
  return typeof value === 'number' ? value : undefined
}

/** A required argument: the parser has refused a line without it. */
export function requiredArg(input: Parsed, name: string): string {
  const value = input.args[name]
  if (value === undefined) throw new Error(`the parser let ${name} through missing`)
  return value
}
