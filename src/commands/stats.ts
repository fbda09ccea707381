import {Args, Flags} from '@oclif/core'
import {formatStats, sampleStats} from '../supervisor/stats.js'
import {openProject, projectStatus} from '../supervisor/client.js'
import {ContainCommand} from './base.js'
import {projectFlags} from './project-flags.js'

export default class Stats extends ContainCommand {
  static override summary = 'Live resource use per app: CPU %, throttled periods, memory (anon, file), pids, pressure'
  static override examples = ['<%= config.bin %> stats', '<%= config.bin %> stats web --no-stream --json']
  static override strict = false
  static override args = {apps: Args.string({description: 'Apps (default: all)'})}
  static override flags = {
    ...projectFlags,
    'no-stream': Flags.boolean({description: 'Print one sample and exit'}),
    json: Flags.boolean({description: 'Print JSON (one array per sample)'}),
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Stats)
    const project = await openProject(process.cwd(), flags.file)
    const read = () => projectStatus(project, argv.length > 0 ? (argv as string[]) : undefined)
    let previous = await read()
    do {
      await new Promise(resolve => setTimeout(resolve, 1000))
      const current = await read()
      const rows = sampleStats(previous, current)
      this.log(flags.json ? JSON.stringify(rows) : formatStats(rows))
      previous = current
    } while (!flags['no-stream'])
  }
}
