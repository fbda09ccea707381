import {AppVerbCommand} from './app-verb.js'

export default class Start extends AppVerbCommand {
  static override summary = 'Start stopped apps again'
  static override examples = ['<%= config.bin %> start web', '<%= config.bin %> start']
  protected readonly verb = 'start'
}
