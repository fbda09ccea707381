import {run} from '../commands/table.js'
import {runCommand} from './fast.js'

/** dist/run.cjs's entry (bin/run.js): `contain run`, without oclif. */
export const runFast = (argv: string[]): Promise<number> => runCommand(run, argv)
