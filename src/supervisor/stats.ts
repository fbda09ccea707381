import {formatBytes} from '../format-bytes.js'
import {formatTable} from '../format-table.js'
import type {AppStatus} from './app.js'

export interface StatsRow {
  name: string
  state: string
  /** CPU use between the two samples, in % of one CPU. */
  cpuPercent?: number
  /** Share of CFS periods in which the CPU limit throttled the app. */
  throttledPercent?: number
  memoryBytes?: number
  memoryLimitBytes?: number
  anonBytes?: number
  fileBytes?: number
  pids?: number
  cpuPressure?: number
  memoryPressure?: number
}

/** The difference between two status samples taken some time apart. */
export function sampleStats(before: AppStatus[], after: AppStatus[], elapsedMs = 1000): StatsRow[] {
  return after.map(app => {
    const earlier = before.find(candidate => candidate.name === app.name)?.usage
    const usage = app.usage
    if (!usage) return {name: app.name, state: app.state}
    const periods = earlier ? usage.periods - earlier.periods : 0
    return {
      name: app.name,
      state: app.state,
      cpuPercent: earlier ? ((usage.cpuMicros - earlier.cpuMicros) / 1000 / elapsedMs) * 100 : undefined,
      throttledPercent: earlier ? (periods > 0 ? ((usage.throttledPeriods - earlier.throttledPeriods) / periods) * 100 : 0) : undefined,
      memoryBytes: usage.memoryBytes,
      memoryLimitBytes: usage.memoryLimitBytes,
      anonBytes: usage.anonBytes,
      fileBytes: usage.fileBytes,
      pids: usage.pids,
      cpuPressure: usage.cpuPressure,
      memoryPressure: usage.memoryPressure,
    }
  })
}

export function formatStats(rows: StatsRow[]): string {
  const percent = (value?: number) => (value === undefined ? '-' : `${value.toFixed(1)}%`)
  const bytes = (value?: number) => (value === undefined ? '-' : formatBytes(value))
  const table = [['NAME', 'STATE', 'CPU %', 'THROTTLED', 'MEM / LIMIT', 'ANON', 'FILE', 'PIDS', 'PSI CPU', 'PSI MEM']]
  for (const row of rows) {
    table.push([
      row.name,
      row.state,
      percent(row.cpuPercent),
      percent(row.throttledPercent),
      `${bytes(row.memoryBytes)} / ${row.memoryLimitBytes === undefined ? 'none' : bytes(row.memoryLimitBytes)}`,
      bytes(row.anonBytes),
      bytes(row.fileBytes),
      row.pids === undefined ? '-' : String(row.pids),
      percent(row.cpuPressure === undefined ? undefined : row.cpuPressure * 100),
      percent(row.memoryPressure === undefined ? undefined : row.memoryPressure * 100),
    ])
  }
  return formatTable(table)
}
