import {Command} from '@oclif/core'
import {renderError} from '../errors.js'

/** Turns every failure into contain's one message format and exit code. */
export abstract class ContainCommand extends Command {
  protected override async catch(error: Error & {oclif?: {exit?: number}}): Promise<void> {
    // oclif signals help, version and this.exit() with errors; those are not failures.
    if (error.oclif?.exit !== undefined && error.name === 'ExitError') throw error
    const {message, exitCode} = error.oclif
      ? {message: `contain: ${error.message}\n  fix: see contain ${(this.id ?? '').replaceAll(':', ' ')} --help`, exitCode: 125}
      : renderError(error, process.env.CONTAIN_DEBUG === '1')
    process.stderr.write(`${message}\n`)
    process.exitCode = exitCode
  }
}
