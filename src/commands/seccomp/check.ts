import {Args, Flags} from '@oclif/core'
import {checkProfile, formatSummary} from '../../seccomp/summary.js'
import {ContainCommand} from '../base.js'

export default class Check extends ContainCommand {
  static override summary = 'Validate a seccomp profile and show what its filter does on each architecture'
  static override description =
    'Reads a Docker-format seccomp profile the way contain run does, applies includes/excludes for the capability set, compiles the filter for x86_64 and aarch64, and counts the syscalls it allows, denies, kills or leaves to the arguments. Exits 125 with the file, rule and field when the profile is invalid.'
  static override examples = [
    '<%= config.bin %> seccomp check default',
    '<%= config.bin %> seccomp check ./profile.json --strict',
    '<%= config.bin %> seccomp check ./profile.json --cap-add SYS_ADMIN --json',
  ]
  static override args = {
    profile: Args.string({required: true, description: 'Path to the profile (Docker JSON), or "default" for contain\'s own'}),
  }
  static override flags = {
    json: Flags.boolean({description: 'Print the summary as JSON'}),
    strict: Flags.boolean({description: 'Unknown syscall and architecture names are errors, not warnings'}),
    'cap-add': Flags.string({
      description: "Add a capability to contain's default set (Docker's 14 without NET_RAW, MKNOD, AUDIT_WRITE; includes/excludes test it)",
      multiple: true,
      multipleNonGreedy: true,
      helpValue: 'CAP',
    }),
    'cap-drop': Flags.string({description: "Drop a capability from contain's default set", multiple: true, multipleNonGreedy: true, helpValue: 'CAP'}),
    privileged: Flags.boolean({description: 'Every capability, as contain run --privileged'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Check)
    const summary = await checkProfile({
      profile: args.profile,
      strict: flags.strict,
      capAdd: flags['cap-add'],
      capDrop: flags['cap-drop'],
      privileged: flags.privileged,
    })
    this.log(flags.json ? JSON.stringify(summary, null, 2) : formatSummary(summary))
  }
}
