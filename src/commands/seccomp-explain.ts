import {explainProfileSyscall, formatSyscallReport} from '../seccomp/syscall-report.js'
import type {SeccompArch} from '../seccomp/syscalls.js'
import {booleanFlag, listFlag, requiredArg, textFlag, type Handler} from './spec.js'

const seccompExplain: Handler = async (input, io) => {
  const report = await explainProfileSyscall({
    syscall: requiredArg(input, 'syscall'),
    profile: textFlag(input, 'profile') ?? 'default',
    args: listFlag(input, 'arg'),
    capAdd: listFlag(input, 'cap-add'),
    capDrop: listFlag(input, 'cap-drop'),
    privileged: booleanFlag(input, 'privileged'),
    // The parser took only one of the table's options (SECCOMP_ARCHES).
    arch: textFlag(input, 'arch') as SeccompArch | undefined,
  })
  io.stdout(booleanFlag(input, 'json') ? JSON.stringify(report, null, 2) : formatSyscallReport(report))
  return undefined
}
export default seccompExplain
