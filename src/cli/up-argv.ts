import {parseArgs} from 'node:util'
import {InvalidValueError} from '../errors.js'
import type {RecreatePolicy} from '../supervisor/apply.js'

export interface UpArgs {
  file?: string
  detach: boolean
  supervise: boolean
  noColor: boolean
  /** --no-recreate: never; --force-recreate: always; default: the changed apps. */
  recreate: RecreatePolicy
  json: boolean
  reload: boolean
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
export const UP_FLAGS: Readonly<Record<'file' | 'detach' | 'supervise' | 'no-color' | 'no-recreate' | 'force-recreate' | 'reload' | 'json', UpFlagSpec>> = {
  file: {type: 'string', short: 'f', description: PROJECT_FILE_DESCRIPTION, helpValue: 'FILE'},
  detach: {type: 'boolean', short: 'd', description: 'Run the supervisor in the background'},
  supervise: {type: 'boolean', hidden: true, description: 'Be the detached supervisor (started by up -d)'},
  'no-color': {type: 'boolean', description: 'Do not color the app prefixes'},
  'no-recreate': {type: 'boolean', description: 'On a project that runs: start new apps, stop removed ones, but leave changed ones as they run'},
  'force-recreate': {type: 'boolean', description: 'On a project that runs: recreate every app, changed or not'},
  reload: {type: 'boolean', description: "Only apply the file to the project that runs, never start it: exit 125 when it does not run (systemd's ExecReload)"},
  json: {type: 'boolean', description: 'Print what was done to each app (started, recreated, unchanged, removed) as JSON'},
}

const PARSE_OPTIONS = Object.fromEntries(Object.entries(UP_FLAGS).map(([name, {type, short}]) => [name, short ? {type, short} : {type}]))

/** `contain up [-f FILE] [-d] [--no-color] [APP...]`: flags and app names in any order, as oclif takes them. */
export function parseUpArgv(argv: string[]): UpArgs {
  try {
    const {values, positionals} = parseArgs({args: argv, options: PARSE_OPTIONS, strict: true, allowPositionals: true})
    const file = values.file
    if (values['no-recreate'] === true && values['force-recreate'] === true)
      throw new InvalidValueError(
        '--force-recreate',
        '--no-recreate --force-recreate',
        'cannot be given with --no-recreate',
        'give one of them: --no-recreate leaves changed apps alone, --force-recreate recreates them all',
      )
    const recreate: RecreatePolicy = values['no-recreate'] === true ? 'never' : values['force-recreate'] === true ? 'always' : 'changed'
    return {
      file: typeof file === 'string' ? file : undefined,
      detach: values.detach === true,
      supervise: values.supervise === true,
      noColor: values['no-color'] === true,
      recreate,
      json: values.json === true,
      reload: values.reload === true,
      apps: positionals,
    }
  } catch (error) {
    if (error instanceof InvalidValueError) throw error
    const message = (error as Error).message.replace(/\. To specify.*$/s, '')
    const flag = /'(?:-[^-' ], )?(-[^' ]+)/.exec(message)?.[1] ?? 'contain up'
    throw new InvalidValueError(flag, argv.join(' '), message.replace(/^Option /, ''), 'see contain up --help for the flags')
  }
}
