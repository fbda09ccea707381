import {Args, Flags} from '@oclif/core'
import type {AppStatus} from '../supervisor/app.js'
import {callSupervisor, formatInspect, openProject} from '../supervisor/client.js'
import type {LaunchPlan} from '../launch/plan.js'
import {ContainCommand} from './base.js'
import {projectFlags} from './project-flags.js'

export default class Inspect extends ContainCommand {
  static override summary = "Show an app's effective configuration, state and last exit (code, signal, oomKilled)"
  static override examples = ['<%= config.bin %> inspect web', '<%= config.bin %> inspect web --json']
  static override args = {app: Args.string({required: true, description: 'The app'})}
  static override flags = {...projectFlags, json: Flags.boolean({description: 'Print JSON'})}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Inspect)
    const result = await callSupervisor<{status: AppStatus; plan: Pick<LaunchPlan, 'argv' | 'cgroup' | 'namespaces'>}>(
      await openProject(process.cwd(), flags.file),
      'inspect',
      {app: args.app},
    )
    this.log(flags.json ? JSON.stringify(result, null, 2) : formatInspect(result.status, result.plan))
  }
}
