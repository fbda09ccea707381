// Types of isolation-table.js for the TypeScript that imports it (test/unit/bench): bench/ is plain JavaScript.

export interface ProbeAnswer {
  /** held, BROKEN or n/a */
  status: string
  detail: string
}
/** One confinement's column of an isolation result. */
export interface IsolationColumn {
  id?: string
  label?: string
  available: boolean
  reason?: string
  exitCode?: number
  results?: Record<string, ProbeAnswer>
}
export interface IsolationResult {
  columns: IsolationColumn[]
  command?: string
  date?: string
  machine?: {kernel?: string; cgroupMode?: string}
}
export const protections: [id: string, label: string][]
export function parseProbe(text: string): Record<string, ProbeAnswer>
export function shortReason(detail?: string): string
export function cell(column: IsolationColumn, id: string): string
export function heldByMachine(result: IsolationResult): Set<string>
export const machineMark: string
export const machineNote: string
export function tableRows(result: IsolationResult): string[][]
export function heldCounts(result: IsolationResult): {id?: string; label?: string; available: boolean; held: number; tried: number}[]
export function readmeTable(result: IsolationResult): string
export function latestIsolationResult(resultsDir: string): IsolationResult
export const readmeMarkers: [open: string, close: string]
export function replaceReadmeBlock(text: string, table: string): string
