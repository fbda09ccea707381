import {Flags, type Interfaces} from '@oclif/core'
import {parseRunArgv} from '../config/run-argv.js'
import {describeOption, RUN_OPTIONS, type OptionSpec} from '../config/schema.js'
import {runFlags} from '../config/run-flags.js'
import {ContainCommand} from './base.js'

function toOclifFlag(spec: OptionSpec): Interfaces.FlagInput[string] {
  const common = {description: describeOption(spec, id => `--${id}`), char: spec.char as Interfaces.AlphabetLowercase | undefined}
  if (spec.kind === 'boolean') return Flags.boolean(common)
  return spec.multiple ? Flags.string({...common, helpValue: spec.helpValue, multiple: true}) : Flags.string({...common, helpValue: spec.helpValue})
}

export default class Run extends ContainCommand {
  static override summary = 'Run one command isolated and limited, in the foreground'
  static override description =
    "Creates a cgroup below contain's own with the given limits, new namespaces through util-linux unshare, and runs the command under a small PID 1. Exits with the command's status (128+N when it died of signal N, 137 when OOM-killed)."
  static override usage = 'run [FLAGS] [--] COMMAND [ARG...]'
  static override examples = [
    '<%= config.bin %> run --cpus 0.5 --memory 512m -- bundle exec rails s',
    '<%= config.bin %> run --hostname web --read-only --tmpfs /tmp -- sh -c "hostname; ps"',
    '<%= config.bin %> run --dry-run --memory 64m -- true',
  ]
  static override strict = false
  static override flags: Interfaces.FlagInput = Object.fromEntries(RUN_OPTIONS.map(spec => [spec.flag, toOclifFlag(spec)]))

  /**
   * The fast path's grammar (config/run-argv.ts), not oclif's: one grammar whatever the entry. The
   * flags above are oclif's help and completion, read from the same table.
   */
  async run(): Promise<void> {
    const {flags, command} = parseRunArgv(this.argv)
    process.exitCode = await runFlags(flags, command, {stdout: text => this.log(text), stderr: text => this.logToStderr(text)})
  }
}
