import {renderError} from '../errors.js'
import {runApp} from '../launch/run.js'
import {parseRunArgv} from './run-argv.js'

/**
 * `contain run` without loading oclif: starting a Node CLI framework costs more than the whole
 * kernel side of a launch. It reads the same option table as the oclif command.
 */
export async function runFast(argv: string[]): Promise<number> {
  try {
    const {flags, command} = parseRunArgv(argv)
    return await runApp(flags, command, {stdout: text => process.stdout.write(`${text}\n`), stderr: text => process.stderr.write(`${text}\n`)})
  } catch (error) {
    const {message, exitCode} = renderError(error, process.env.CONTAIN_DEBUG === '1')
    process.stderr.write(`${message}\n`)
    return exitCode
  }
}
