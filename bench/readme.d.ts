// Types of readme.js for the TypeScript that imports it (test/unit/bench): bench/ is plain JavaScript.
import type {SuiteResult} from './lib/report.js'

export const START: string
export const END: string
/** The newest report of each suite in `dir`: {suite, file (its .json name), report (its contents)}. */
export function latestResults(dir?: string): {suite: string; file: string; report: SuiteResult}[]
export function renderTable(results?: {suite: string; file: string; report: SuiteResult}[]): string
export function withFigures(readme: string, resultsDir?: string): string
export function withTable(readme: string, table: string): string
