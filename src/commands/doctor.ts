import {Flags} from '@oclif/core'
import {execa} from 'execa'
import {runDoctor} from '../doctor.js'
import {ContainCommand} from './base.js'

export default class Doctor extends ContainCommand {
  static override summary = 'Check what this host offers contain, and how to fix what is missing'
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json']
  static override flags = {json: Flags.boolean({description: 'Print the checks as JSON'})}

  async run(): Promise<void> {
    const {flags} = await this.parse(Doctor)
    const report = await runDoctor(async (command, args) => {
      const result = await execa(command, args, {reject: false, all: true})
      return {exitCode: result.exitCode ?? 1, output: result.all ?? ''}
    })
    if (flags.json) {
      this.log(JSON.stringify(report, null, 2))
    } else {
      this.log(`cgroup mode: ${report.cgroupMode}`)
      for (const check of report.checks) {
        this.log(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`)
        if (check.fix) this.log(`     fix: ${check.fix}`)
      }
    }
    if (report.checks.some(check => !check.ok && check.name !== 'user namespaces')) process.exitCode = 1
  }
}
