/**
 * contain's one command-line grammar, read from a command's row of the table (commands/table.ts),
 * whichever entry runs it: bin/run.js's fast bundles and the oclif commands both parse here, and
 * oclif's own parser only ever renders help. Docker's forms, for every command:
 * - flags anywhere among the positional words, `--flag value`, `--flag=value`, `-f value`, `-fvalue`,
 *   and short booleans grouped (`-dt`);
 * - a flag that takes a value takes the next word whatever it starts with (`--memory-swap -1`);
 * - a command line (`contain run`, `contain exec APP`) starts at the first positional word after the
 *   named arguments, or after `--`: what follows is the app's, flags included;
 * - elsewhere, after `--` every word is positional.
 */
import type {CommandSpec, FlagSpec, FlagValue, Parsed} from '../commands/spec.js'
import {ContainError, InvalidValueError} from '../errors.js'

/** Help for the command, as the fix of a usage error. */
const seeHelp = (spec: CommandSpec) => `see contain ${spec.id.replaceAll(':', ' ')} --help for its flags and arguments`

/** `value`: the words at fault, never the whole line (the app's command may hold what it alone should see). */
function usageError(spec: CommandSpec, field: string, value: string, problem: string): InvalidValueError {
  return new InvalidValueError(field, value, problem, seeHelp(spec))
}

/** The flag a word names, by long name or char; undefined when the command has none such. */
function flagNamed(spec: CommandSpec, word: string): [string, FlagSpec] | undefined {
  if (word.startsWith('--')) {
    const name = word.slice(2)
    return Object.hasOwn(spec.flags, name) ? [name, spec.flags[name]] : undefined
  }
  return Object.entries(spec.flags).find(([, flag]) => flag.char === word.slice(1))
}

/** A value as its flag's kind reads it. */
function flagValue(spec: CommandSpec, display: string, flag: FlagSpec, text: string): string | number {
  if (flag.kind === 'integer') {
    const value = Number(text)
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) throw new InvalidValueError(display, text, 'must be a whole number', seeHelp(spec))
    if (flag.min !== undefined && value < flag.min) throw new InvalidValueError(display, text, `must be ${flag.min} or more`, seeHelp(spec))
    return value
  }
  if (flag.kind === 'option' && !flag.options?.includes(text))
    throw new InvalidValueError(display, text, `must be one of ${flag.options?.join(', ')}`, `use one of ${flag.options?.join(', ')}`)
  return text
}

export function parseCommandLine(spec: CommandSpec, argv: readonly string[]): Parsed {
  const flags: Record<string, FlagValue> = {}
  const positionals: string[] = []
  const named = spec.args?.length ?? 0
  let command: string[] | undefined

  const set = (name: string, flag: FlagSpec, display: string, text: string | true) => {
    if (text === true) flags[name] = true
    else if (flag.multiple) flags[name] = [...((flags[name] as string[] | undefined) ?? []), text]
    else flags[name] = flagValue(spec, display, flag, text)
  }

  for (let index = 0; index < argv.length; index++) {
    const word = argv[index]
    if (word === '--') {
      const after = argv.slice(index + 1)
      if (spec.rest?.kind === 'command') {
        const missing = Math.max(0, named - positionals.length)
        positionals.push(...after.slice(0, missing))
        command = after.slice(missing)
      } else positionals.push(...after)
      break
    }
    if (word.length < 2 || !word.startsWith('-')) {
      if (spec.rest?.kind === 'command' && positionals.length === named) {
        command = argv.slice(index)
        break
      }
      positionals.push(word)
      continue
    }
    if (word.startsWith('--')) {
      const equals = word.indexOf('=')
      const display = equals === -1 ? word : word.slice(0, equals)
      const found = flagNamed(spec, display)
      if (found === undefined) throw usageError(spec, display, word, `Unknown option '${display}'`)
      const [name, flag] = found
      if (flag.kind === 'boolean') {
        if (equals !== -1) throw usageError(spec, display, word, `Option '${display}' does not take an argument`)
        set(name, flag, display, true)
      } else if (equals !== -1) set(name, flag, display, word.slice(equals + 1))
      else if (index + 1 < argv.length) set(name, flag, display, argv[++index])
      else throw usageError(spec, display, word, `Option '${display} <value>' argument missing`)
      continue
    }
    // Short flags: booleans may be grouped (-dt); one that takes a value takes the rest of the
    // word (-m64m) or the next word.
    for (let at = 1; at < word.length; at++) {
      const display = `-${word[at]}`
      const found = flagNamed(spec, display)
      if (found === undefined) throw usageError(spec, display, word, `Unknown option '${display}'`)
      const [name, flag] = found
      if (flag.kind === 'boolean') {
        set(name, flag, display, true)
        continue
      }
      const long = `--${name}`
      if (at + 1 < word.length) set(name, flag, long, word.slice(at + 1))
      else if (index + 1 < argv.length) set(name, flag, long, argv[++index])
      else throw usageError(spec, long, word, `Option '${display}, ${long} <value>' argument missing`)
      break
    }
  }

  checkFlags(spec, flags)
  return {flags, ...bindPositionals(spec, positionals, command)}
}

/** Flags that exclude each other, then the defaults of those not given. */
function checkFlags(spec: CommandSpec, flags: Record<string, FlagValue>): void {
  for (const [name, flag] of Object.entries(spec.flags)) {
    const clash = flags[name] === undefined ? undefined : flag.exclusive?.find(other => flags[other] !== undefined)
    if (clash !== undefined) throw usageError(spec, `--${name}`, `--${name} --${clash}`, `cannot be given with --${clash}`)
  }
  for (const [name, flag] of Object.entries(spec.flags)) if (flags[name] === undefined && flag.default !== undefined) flags[name] = flag.default
}

/** The positional words to the named args, in order, and the rest (the apps, or the app's command). */
function bindPositionals(spec: CommandSpec, positionals: string[], command: string[] | undefined): Pick<Parsed, 'args' | 'rest'> {
  const declared = spec.args ?? []
  const missing = declared.slice(positionals.length).filter(arg => arg.required)
  if (missing.length > 0) throw missingArgs(spec, missing)
  const args = Object.fromEntries(declared.slice(0, positionals.length).map((arg, index) => [arg.name, positionals[index]]))
  const extra = positionals.slice(declared.length)
  if (spec.rest?.kind !== 'apps' && extra.length > 0) throw usageError(spec, extra[0], extra[0], `Unexpected argument '${extra[0]}'`)
  const rest = command ?? extra
  if (spec.rest?.required && rest.length === 0) throw missingArgs(spec, [spec.rest])
  return {args, rest}
}

function missingArgs(spec: CommandSpec, missing: readonly {name: string}[]): ContainError {
  const names = missing.map(arg => arg.name.toUpperCase()).join(', ')
  return new ContainError(`Missing ${missing.length} required arg${missing.length === 1 ? '' : 's'}: ${names}`, {fix: seeHelp(spec)})
}
