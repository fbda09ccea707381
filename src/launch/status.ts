/** What contain-init reported on its status fd (see native/contain-init.c). */
export interface InitReport {
  /** Host pid of PID 1 inside the app's pid namespace. */
  pid1?: number
  exitCode?: number
  signal?: number
  error?: {stage: string; errno: number; message: string}
}

export function parseInitReport(text: string): InitReport {
  const report: InitReport = {}
  for (const line of text.split('\n')) {
    const [word, value, ...rest] = line.split(' ')
    if (word === 'pid') report.pid1 = Number(value)
    else if (word === 'exit') report.exitCode = Number(value)
    else if (word === 'signal') report.signal = Number(value)
    // The first error is the cause; later ones are consequences.
    else if (word === 'error' && !report.error) report.error = {stage: value, errno: Number(rest[0]), message: rest.slice(1).join(' ')}
  }
  return report
}
