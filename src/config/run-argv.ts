import {parseArgs, type ParseArgsConfig} from 'node:util'
import {RUN_OPTIONS, type RawRunFlags} from './schema.js'
import {InvalidValueError} from '../errors.js'

const PARSE_OPTIONS: NonNullable<ParseArgsConfig['options']> = Object.fromEntries(
  RUN_OPTIONS.map(spec => [spec.flag, {type: spec.kind, multiple: 'multiple' in spec, ...('char' in spec ? {short: spec.char} : {})}]),
)

const VALUE_FLAGS = new Map<string, string>(
  RUN_OPTIONS.filter(spec => spec.kind === 'string').flatMap(spec => [
    [`--${spec.flag}`, spec.flag],
    ...('char' in spec ? [[`-${spec.char}`, spec.flag] as [string, string]] : []),
  ]),
)

/**
 * A flag that takes a value takes the next word whatever it starts with, as Docker's parser
 * does (`--memory-swap -1`, `--namespaces -ipc`); node's parseArgs would refuse a leading dash.
 */
function joinFlagValues(argv: string[]): string[] {
  const joined: string[] = []
  for (let index = 0; index < argv.length; index++) {
    const word = argv[index]
    const flag = VALUE_FLAGS.get(word)
    if (word === '--' || !word.startsWith('-')) return [...joined, ...argv.slice(index)]
    if (flag !== undefined && index + 1 < argv.length) joined.push(`--${flag}=${argv[++index]}`)
    else joined.push(word)
  }
  return joined
}

/**
 * Splits `contain run` arguments into flags and the app's command. As with `docker run`, the
 * command starts at the first word that is not a flag (or after `--`), so `contain run ls -la` works.
 */
export function parseRunArgv(argv: string[]): {flags: RawRunFlags; command: string[]} {
  const args = joinFlagValues(argv)
  const {tokens} = parseArgs({args, options: PARSE_OPTIONS, strict: false, allowPositionals: true, tokens: true})
  const first = tokens.find(token => token.kind === 'positional' || token.kind === 'option-terminator')
  const flagArgs = first ? args.slice(0, first.index) : args
  const command = first ? args.slice(first.kind === 'option-terminator' ? first.index + 1 : first.index) : []
  try {
    const {values} = parseArgs({args: flagArgs, options: PARSE_OPTIONS, strict: true, allowPositionals: false})
    return {flags: values, command}
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify.*$/s, '')
    const flag = /'(?:-[^-' ], )?(-[^' ]+)/.exec(message)?.[1] ?? 'contain run'
    throw new InvalidValueError(flag, flagArgs.join(' '), message.replace(/^Option /, ''), 'see contain run --help for the flags and their values')
  }
}
