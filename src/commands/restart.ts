import {AppVerbCommand} from './app-verb.js'

export default class Restart extends AppVerbCommand {
  static override summary = 'Stop and start apps'
  static override examples = ['<%= config.bin %> restart web', '<%= config.bin %> restart']
  protected readonly verb = 'restart'
}
