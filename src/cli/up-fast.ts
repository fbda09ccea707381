import {renderError} from '../errors.js'
import {up} from '../supervisor/up.js'
import {systemdServiceManager} from '../systemd/service-manager.js'
import {parseUpArgv} from './up-argv.js'

/**
 * `contain up` without loading oclif, as `contain run` does: the apps start that much sooner.
 * The flags are the oclif command's (src/commands/up.ts, which renders --help).
 */
export async function upFast(argv: string[]): Promise<number> {
  try {
    // First: under systemd's ExecReload= the variables are the unit's, never this process's to answer.
    const serviceManager = systemdServiceManager()
    const args = parseUpArgv(argv)
    const print = (text: string) => void process.stdout.write(`${text}\n`)
    return await up({
      cwd: process.cwd(),
      file: args.file,
      apps: args.apps,
      detach: args.detach,
      recreate: args.recreate,
      json: args.json,
      reload: args.reload,
      supervise: args.supervise,
      print: args.supervise ? undefined : print,
      color: !args.noColor && process.stdout.isTTY === true,
      progress: !args.supervise && !args.json && process.stdout.isTTY === true,
      serviceManager,
    })
  } catch (error) {
    const {message, exitCode} = renderError(error, process.env.CONTAIN_DEBUG === '1')
    process.stderr.write(`${message}\n`)
    return exitCode
  }
}
