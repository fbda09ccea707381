import {parseArgs, type ParseArgsConfig} from 'node:util'
import {RUN_OPTIONS, type RawRunFlags} from '../config/schema.js'
import {InvalidValueError} from '../errors.js'

const PARSE_OPTIONS: NonNullable<ParseArgsConfig['options']> = Object.fromEntries(
  RUN_OPTIONS.map(spec => [spec.flag, {type: spec.kind, multiple: 'multiple' in spec, ...('char' in spec ? {short: spec.char} : {})}]),
)

/**
 * Splits `contain run` arguments into flags and the app's command. As with `docker run`, the
 * command starts at the first word that is not a flag (or after `--`), so `contain run ls -la` works.
 */
export function parseRunArgv(argv: string[]): {flags: RawRunFlags; command: string[]} {
  const {tokens} = parseArgs({args: argv, options: PARSE_OPTIONS, strict: false, allowPositionals: true, tokens: true})
  const first = tokens.find(token => token.kind === 'positional' || token.kind === 'option-terminator')
  const flagArgs = first ? argv.slice(0, first.index) : argv
  const command = first ? argv.slice(first.kind === 'option-terminator' ? first.index + 1 : first.index) : []
  try {
    const {values} = parseArgs({args: flagArgs, options: PARSE_OPTIONS, strict: true, allowPositionals: false})
    return {flags: values as RawRunFlags, command}
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify.*$/s, '')
    const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? 'contain run'
    throw new InvalidValueError(flag, flagArgs.join(' '), message.replace(/^Option /, ''), 'see contain run --help for the flags and their values')
  }
}
