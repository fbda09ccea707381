/** What contain-init reported on its status fd (see native/contain-init.c). */
export interface InitReport {
  /** Host pid of PID 1 inside the app's pid namespace. */
  pid1?: number
  /** The reaper contain-init enter left watching the app's cgroup (see --reap). */
  reaper?: number
  /** The app's setup is done and its command was executed. */
  started?: boolean
  exitCode?: number
  signal?: number
  error?: {stage: string; errno: number; message: string}
}

export function parseInitReport(text: string): InitReport {
  const report: InitReport = {}
  for (const line of text.split('\n')) {
    const [word, value, ...rest] = line.split(' ')
    // A line cut before its number reports nothing (Number('') would be 0, a success).
    const number = /^\d+$/.test(value ?? '') ? Number(value) : undefined
    if (word === 'pid' && number !== undefined) report.pid1 = number
    else if (word === 'reaper' && number !== undefined) report.reaper = number
    else if (word === 'started') report.started = true
    else if (word === 'exit' && number !== undefined) report.exitCode = number
    else if (word === 'signal' && number !== undefined) report.signal = number
    // The first error is the cause; later ones are consequences.
    else if (word === 'error' && !report.error) report.error = {stage: value, errno: Number(rest[0]), message: rest.slice(1).join(' ')}
  }
  return report
}
