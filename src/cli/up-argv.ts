import {parseArgs} from 'node:util'
import {InvalidValueError} from '../errors.js'

export interface UpArgs {
  file?: string
  detach: boolean
  supervise: boolean
  noColor: boolean
  apps: string[]
}

/** The same flags as the oclif command (src/commands/up.ts), which renders `contain up --help`. */
const OPTIONS = {
  file: {type: 'string', short: 'f'},
  detach: {type: 'boolean', short: 'd'},
  supervise: {type: 'boolean'},
  'no-color': {type: 'boolean'},
} as const

/** `contain up [-f FILE] [-d] [--no-color] [APP...]`: flags and app names in any order, as oclif takes them. */
export function parseUpArgv(argv: string[]): UpArgs {
  try {
    const {values, positionals} = parseArgs({args: argv, options: OPTIONS, strict: true, allowPositionals: true})
    return {file: values.file, detach: values.detach === true, supervise: values.supervise === true, noColor: values['no-color'] === true, apps: positionals}
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify.*$/s, '')
    const flag = /'(?:-[^-' ], )?(-[^' ]+)/.exec(message)?.[1] ?? 'contain up'
    throw new InvalidValueError(flag, argv.join(' '), message.replace(/^Option /, ''), 'see contain up --help for the flags')
  }
}
