import {up} from '../commands/table.js'
import {runCommand} from './fast.js'

/** dist/up.cjs's entry (bin/run.js): `contain up`, without oclif, so that the apps start that much sooner. */
export const upFast = (argv: string[]): Promise<number> => runCommand(up, argv)
