import {execa} from 'execa'
import {runDoctor} from '../doctor.js'
import {booleanFlag, type Handler} from './spec.js'

const doctor: Handler = async (input, io) => {
  const report = await runDoctor(async (command, args) => {
    const result = await execa(command, args, {reject: false, all: true})
    return {exitCode: result.exitCode ?? 1, output: result.all ?? ''}
  })
  if (booleanFlag(input, 'json')) {
    io.stdout(JSON.stringify(report, null, 2))
  } else {
    io.stdout(`cgroup mode: ${report.cgroupMode}`)
    for (const check of report.checks) {
      io.stdout(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`)
      if (check.fix) io.stdout(`     fix: ${check.fix}`)
    }
  }
  return report.checks.some(check => !check.ok && check.name !== 'user namespaces') ? 1 : undefined
}
export default doctor
