/**
 * oclif's view of the command table (commands/table.ts), for help, completion and every command
 * bin/run.js does not start from its own bundle. dist/commands.js is this module: oclif's explicit
 * command strategy reads `commands` from it, without scanning a directory at start. oclif's flags
 * and args here only describe the grammar: each command parses its line with cli/parse.ts, as the
 * fast entry does (test/unit/cli/grammar.test.ts holds oclif's reading of the examples equal).
 */
import {Args, Command, Flags, type Interfaces} from '@oclif/core'
import type {CommandSpec, FlagSpec} from '../commands/spec.js'
import {COMMANDS} from '../commands/table.js'
import {renderError} from '../errors.js'
import {parseCommandLine} from './parse.js'

/** Turns every failure into contain's one message format and exit code. */
abstract class ContainCommand extends Command {
  protected override async catch(error: Error & {oclif?: {exit?: number}}): Promise<void> {
    // oclif signals help, version and this.exit() with errors; those are not failures.
    if (error.oclif?.exit !== undefined && error.name === 'ExitError') throw error
    const {message, exitCode} = error.oclif
      ? {message: `contain: ${error.message}\n  fix: see contain ${(this.id ?? '').replaceAll(':', ' ')} --help`, exitCode: 125}
      : renderError(error, process.env.CONTAIN_DEBUG === '1')
    process.stderr.write(`${message}\n`)
    process.exitCode = exitCode
  }
}

function oclifFlag(flag: FlagSpec): Interfaces.FlagInput[string] {
  const common = {char: flag.char as Interfaces.AlphabetLowercase | undefined, description: flag.description, hidden: flag.hidden}
  const valued = {...common, helpValue: flag.helpValue, exclusive: flag.exclusive ? [...flag.exclusive] : undefined}
  switch (flag.kind) {
    case 'boolean':
      return Flags.boolean({...common, exclusive: valued.exclusive})
    case 'integer':
      return Flags.integer({...valued, min: flag.min})
    case 'option':
      return Flags.option({...valued, options: [...(flag.options ?? [])]})()
    case 'string':
      // One value per occurrence, as cli/parse.ts takes it (oclif would otherwise read on).
      return flag.multiple
        ? Flags.string({...valued, multiple: true, multipleNonGreedy: true, default: flag.default === undefined ? undefined : [flag.default]})
        : Flags.string({...valued, default: flag.default})
  }
}

export function oclifFlags(spec: CommandSpec): Interfaces.FlagInput {
  return Object.fromEntries(Object.entries(spec.flags).map(([name, flag]) => [name, oclifFlag(flag)]))
}

/** The named args, then the apps a command takes (oclif reads them past the declared one as argv, strict off). */
export function oclifArgs(spec: CommandSpec): Interfaces.ArgInput {
  const args = (spec.args ?? []).map(arg => [arg.name, Args.string({description: arg.description, required: arg.required})] as const)
  if (spec.rest?.kind === 'apps') args.push([spec.rest.name.toLowerCase(), Args.string({description: spec.rest.description, required: spec.rest.required})])
  return Object.fromEntries(args)
}

/** An oclif command for a row of the table: help from the row, the line read by cli/parse.ts, the row's handler. */
export function commandClass(spec: CommandSpec): Command.Class {
  const words = spec.id.replaceAll(':', ' ')
  return class extends ContainCommand {
    static override summary = spec.summary
    static override description = spec.description
    static override usage = spec.usage
    static override examples = spec.examples.map(example => `<%= config.bin %> ${words} ${example}`.trimEnd())
    static override strict = spec.rest === undefined
    static override flags = oclifFlags(spec)
    static override args = oclifArgs(spec)

    async run(): Promise<void> {
      const input = parseCommandLine(spec, this.argv)
      const {default: handler} = await spec.load()
      const exitCode = await handler(input, {stdout: text => this.log(text), stderr: text => this.logToStderr(text)})
      if (exitCode !== undefined) process.exitCode = exitCode
    }
  }
}

/** oclif's explicit command strategy (package.json: oclif.commands). */
export const commands: Record<string, Command.Class> = Object.fromEntries(COMMANDS.map(spec => [spec.id, commandClass(spec)]))
