/**
 * `contain run` from its flags: the one resolver, then the launch. Errors found after the values
 * were read (a cgroup controller missing at plan time) are told with the flags' names here, the
 * only place that knows the values came from a command line.
 */
import {hostFacts, runApp, type RunIo} from '../launch/run.js'
import {flagNaming, nameFields} from './naming.js'
import {resolveRunOptions} from './resolve.js'
import type {RawRunFlags} from './schema.js'

export async function runFlags(flags: RawRunFlags, command: string[], io: RunIo): Promise<number> {
  const host = hostFacts()
  try {
    const options = await resolveRunOptions(flags, command, host, flagNaming)
    return await runApp(options, {dryRun: flags['dry-run'], json: flags.json}, io, host)
  } catch (error) {
    throw nameFields(error, flagNaming)
  }
}
