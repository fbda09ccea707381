import {Flags} from '@oclif/core'
import {initProject} from '../init/init.js'
import {ContainCommand} from './base.js'

export default class Init extends ContainCommand {
  static override summary = 'Write a commented contain.yml for this directory (Rails app, Procfile)'
  static override description =
    'Detects a Rails app (a Gemfile naming rails or railties, with config.ru or bin/rails) and a Procfile, and proposes limits, a read-only root with tmp/ and log/ writable, and the /up health check. Never writes over an existing contain.yml without --force.'
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init --force', '<%= config.bin %> init --json']
  static override flags = {
    force: Flags.boolean({description: 'Replace an existing contain.yml'}),
    json: Flags.boolean({description: 'Print what was written as JSON'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Init)
    const result = await initProject({dir: process.cwd(), force: flags.force})
    if (flags.json) this.log(JSON.stringify(result, null, 2))
    else
      this.log(
        `contain: ${result.replaced ? 'replaced' : 'wrote'} ${result.file} (${result.apps.map(app => `${app.name}: ${app.from}`).join(', ')}); review the limits, then run contain up`,
      )
  }
}
