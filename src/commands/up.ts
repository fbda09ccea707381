import {Args, Flags, type Interfaces} from '@oclif/core'
import {UP_FLAGS, type UpFlagSpec} from '../cli/up-argv.js'
import {upFast} from '../cli/up-fast.js'
import {ContainCommand} from './base.js'

function toOclifFlag(spec: UpFlagSpec): Interfaces.FlagInput[string] {
  const common = {char: spec.short, description: spec.description, hidden: spec.hidden}
  return spec.type === 'boolean' ? Flags.boolean(common) : Flags.string({...common, helpValue: spec.helpValue})
}

export default class Up extends ContainCommand {
  static override summary = 'Start the apps of contain.yml and supervise them'
  static override description =
    "Runs in the foreground with every app's output prefixed by its name, until every app has ended or you press Ctrl-C (a second Ctrl-C kills). With -d the supervisor keeps running in the background. On a project that runs, applies contain.yml as compose does: new apps started, removed ones stopped, changed ones recreated, the rest left alone; one line per app says which."
  static override examples = [
    '<%= config.bin %> up',
    '<%= config.bin %> up web',
    '<%= config.bin %> up -d',
    '<%= config.bin %> up -f deploy/contain.yml',
    '<%= config.bin %> up -d --json',
    '<%= config.bin %> up -d --no-recreate',
    '<%= config.bin %> up --reload --file /srv/shop/contain.yml web',
  ]
  static override strict = false
  static override args = {apps: Args.string({description: 'Apps to start (default: all)'})}
  static override flags: Interfaces.FlagInput = Object.fromEntries(Object.entries(UP_FLAGS).map(([name, spec]) => [name, toOclifFlag(spec)]))

  /** bin/run.js starts `up` without oclif (src/cli/up-fast.ts); this is the same path, for main(). */
  async run(): Promise<void> {
    await this.parse(Up)
    process.exitCode = await upFast(this.argv)
  }
}
