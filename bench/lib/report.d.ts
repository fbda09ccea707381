// Types of report.js for the TypeScript that imports it (test/unit/bench): bench/ is plain JavaScript.
// A suite's result is JSON of many shapes (see each suite); the report reads what it finds.

export type SuiteResult = object
export function resultName(result: SuiteResult): string
export function resultBase(resultsDir: string, result: SuiteResult): string
export function writeReports(resultsDir: string, result: SuiteResult): void
export function markdown(result: SuiteResult, svgName?: string): string
export function ratioStatement(result: SuiteResult): string
export function genericMarkdown(result: SuiteResult, svgName?: string): string
