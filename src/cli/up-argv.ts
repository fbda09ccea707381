import {parseArgs} from 'node:util'
import {InvalidValueError} from '../errors.js'

export interface UpArgs {
  file?: string
  detach: boolean
  supervise: boolean
  noColor: boolean
  apps: string[]
}

export interface UpFlagSpec {
  type: 'string' | 'boolean'
  short?: 'f' | 'd'
  description: string
  helpValue?: string
  hidden?: boolean
}

export const PROJECT_FILE_DESCRIPTION = 'The project file (default: contain.yml, contain.yaml or Procfile in this directory)'

/**
 * contain up's flags, read by both parsers: node:util's here (the fast path, without oclif) and
 * oclif's in src/commands/up.ts, which renders `contain up --help`.
 */
export const UP_FLAGS: Readonly<Record<'file' | 'detach' | 'supervise' | 'no-color', UpFlagSpec>> = {
  file: {type: 'string', short: 'f', description: PROJECT_FILE_DESCRIPTION, helpValue: 'FILE'},
  detach: {type: 'boolean', short: 'd', description: 'Run the supervisor in the background'},
  supervise: {type: 'boolean', hidden: true, description: 'Be the detached supervisor (started by up -d)'},
  'no-color': {type: 'boolean', description: 'Do not color the app prefixes'},
}

const PARSE_OPTIONS = Object.fromEntries(Object.entries(UP_FLAGS).map(([name, {type, short}]) => [name, short ? {type, short} : {type}]))

/** `contain up [-f FILE] [-d] [--no-color] [APP...]`: flags and app names in any order, as oclif takes them. */
export function parseUpArgv(argv: string[]): UpArgs {
  try {
    const {values, positionals} = parseArgs({args: argv, options: PARSE_OPTIONS, strict: true, allowPositionals: true})
    const file = values.file
    return {file: typeof file === 'string' ? file : undefined, detach: values.detach === true, supervise: values.supervise === true, noColor: values['no-color'] === true, apps: positionals}
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify.*$/s, '')
    const flag = /'(?:-[^-' ], )?(-[^' ]+)/.exec(message)?.[1] ?? 'contain up'
    throw new InvalidValueError(flag, argv.join(' '), message.replace(/^Option /, ''), 'see contain up --help for the flags')
  }
}
