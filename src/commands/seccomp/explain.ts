import {Args, Flags} from '@oclif/core'
import {explainProfileSyscall, formatSyscallReport} from '../../seccomp/summary.js'
import {SECCOMP_ARCHES} from '../../seccomp/syscalls.js'
import {ContainCommand} from '../base.js'

export default class Explain extends ContainCommand {
  static override summary = 'Show what the seccomp filter does with one syscall on this host, and which rule decides'
  static override description =
    "Evaluates the effective filter (the profile after includes/excludes for the capability set) for SYSCALL on this host's architecture, with the given argument values (missing ones are 0), and names the deciding rule with its comment, or says that the default action decides."
  static override examples = [
    '<%= config.bin %> seccomp explain keyctl',
    '<%= config.bin %> seccomp explain socket --arg 0=40',
    '<%= config.bin %> seccomp explain mount --profile ./profile.json --cap-add SYS_ADMIN',
  ]
  static override args = {
    syscall: Args.string({required: true, description: 'Syscall name, e.g. openat'}),
  }
  static override flags = {
    profile: Flags.string({description: 'Path to the profile (Docker JSON), or "default" for contain\'s own', default: 'default', helpValue: 'PROFILE'}),
    'cap-add': Flags.string({
      description: "Add a capability to contain's default set (Docker's 14 without NET_RAW, MKNOD, AUDIT_WRITE; includes/excludes test it)",
      multiple: true,
      multipleNonGreedy: true,
      helpValue: 'CAP',
    }),
    'cap-drop': Flags.string({description: "Drop a capability from contain's default set", multiple: true, multipleNonGreedy: true, helpValue: 'CAP'}),
    privileged: Flags.boolean({description: 'Every capability, as contain run --privileged'}),
    arg: Flags.string({
      description: 'An argument value, N=VALUE with N from 0 to 5 (e.g. 0=40 for socket(AF_VSOCK))',
      multiple: true,
      multipleNonGreedy: true,
      helpValue: 'N=VALUE',
    }),
    arch: Flags.option({description: "Explain for this architecture instead of this host's", options: SECCOMP_ARCHES})(),
    json: Flags.boolean({description: 'Print the explanation as JSON'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Explain)
    const report = await explainProfileSyscall({
      syscall: args.syscall,
      profile: flags.profile,
      args: flags.arg,
      capAdd: flags['cap-add'],
      capDrop: flags['cap-drop'],
      privileged: flags.privileged,
      arch: flags.arch,
    })
    this.log(flags.json ? JSON.stringify(report, null, 2) : formatSyscallReport(report))
  }
}
