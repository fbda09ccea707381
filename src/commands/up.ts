import {InvalidValueError} from '../errors.js'
import type {RecreatePolicy} from '../supervisor/apply.js'
import {up} from '../supervisor/up.js'
import {systemdServiceManager} from '../systemd/service-manager.js'
import {booleanFlag, textFlag, type Handler, type Parsed} from './spec.js'

/** --no-recreate: never; --force-recreate: always; default: the changed apps. */
export function recreatePolicy(input: Parsed): RecreatePolicy {
  const never = booleanFlag(input, 'no-recreate')
  const always = booleanFlag(input, 'force-recreate')
  if (never && always)
    throw new InvalidValueError(
      '--force-recreate',
      '--no-recreate --force-recreate',
      'cannot be given with --no-recreate',
      'give one of them: --no-recreate leaves changed apps alone, --force-recreate recreates them all',
    )
  return never ? 'never' : always ? 'always' : 'changed'
}

const upCommand: Handler = async input => {
  // First: under systemd's ExecReload= the variables are the unit's, never this process's to answer.
  const serviceManager = systemdServiceManager()
  const supervise = booleanFlag(input, 'supervise')
  const json = booleanFlag(input, 'json')
  // The apps' output, as it comes: through the stream, which waits for a slow reader.
  const print = (text: string) => void process.stdout.write(`${text}\n`)
  return up({
    cwd: process.cwd(),
    file: textFlag(input, 'file'),
    apps: [...input.rest],
    detach: booleanFlag(input, 'detach'),
    recreate: recreatePolicy(input),
    json,
    reload: booleanFlag(input, 'reload'),
    supervise,
    print: supervise ? undefined : print,
    color: !booleanFlag(input, 'no-color') && process.stdout.isTTY === true,
    progress: !supervise && !json && process.stdout.isTTY === true,
    serviceManager,
  })
}
export default upCommand
