import {AppVerbCommand} from './app-verb.js'

export default class Stop extends AppVerbCommand {
  static override summary = 'Stop apps gracefully (stop_signal, then SIGKILL after stop_grace_period); they stay stopped'
  static override examples = ['<%= config.bin %> stop web', '<%= config.bin %> stop']
  protected readonly verb = 'stop'
}
