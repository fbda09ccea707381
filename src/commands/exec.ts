import {Args} from '@oclif/core'
import {execInApp} from '../launch/exec.js'
import {initPath} from '../paths.js'
import {callSupervisor, openProject, requireRunning, runningProject} from '../supervisor/client.js'
import {planExecIn} from '../supervisor/exec-target.js'
import {ContainCommand} from './base.js'
import {projectFlags} from './project-flags.js'

export default class Exec extends ContainCommand {
  static override summary = 'Run a command inside a running app: its namespaces, cgroup, user, capabilities and seccomp filter'
  static override usage = 'exec APP [--] COMMAND [ARG...]'
  static override examples = ['<%= config.bin %> exec web -- ps', '<%= config.bin %> exec web -- bundle exec rails console']
  static override strict = false
  static override args = {app: Args.string({required: true, description: 'The app'})}
  static override flags = projectFlags

  async run(): Promise<void> {
    const {args, flags, argv} = await this.parse(Exec)
    // oclif keeps one "--" and drops another when the app's command holds its own "--": take it as typed.
    const typed = process.argv.indexOf('--')
    const command = typed === -1 ? (argv as string[]).slice(1) : process.argv.slice(typed + 1)
    if (command.length === 0) this.error('no command given', {exit: 125, suggestions: ['contain exec APP -- COMMAND']})
    const handle = await openProject(process.cwd(), flags.file)
    // Only the pid comes from the supervisor; what runs, and how, is planned here (see planExecIn)
    // from the project as the supervisor resolved it, in its state directory: not from contain.yml.
    const {pid1} = await callSupervisor<{pid1: number}>(handle, 'exec', {app: args.app})
    const project = runningProject(handle)
    const plan = await planExecIn(project, requireRunning(handle), args.app, Number(pid1))
    const result = await execInApp(plan, Number(pid1), command, {init: initPath()})
    process.exitCode = result.exitCode
  }
}
