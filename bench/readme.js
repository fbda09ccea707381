#!/usr/bin/env node
// The README's tables of measured figures (performance targets, and the isolation comparison), made
// from the newest bench/results/<date>-<suite>.json of each suite, so that no figure in the README
// comes from anywhere but a report a script wrote.
//   node bench/readme.js           print the tables
//   node bench/readme.js --write   put them into README.md between their markers
//   node bench/readme.js --check   exit 1 when README.md's tables differ from the results (npm test)
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {latestIsolationResult, readmeTable, replaceReadmeBlock} from './lib/isolation-table.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const SUITES = ['launch', 'restart', 'resident', 'logs', 'limits', 'rails', 'deploy']
export const START = '<!-- bench-figures: made by `npm run bench:readme` from bench/results; do not edit by hand -->'
export const END = '<!-- /bench-figures -->'

/** The newest full report of each suite (`--quick` and subset runs are not quoted). */
export function latestResults(dir = join(root, 'bench/results')) {
  const newest = new Map()
  for (const name of readdirSync(dir).sort()) {
    const match = /^(\d{4}-\d{2}-\d{2})-([a-z]+)\.json$/.exec(name)
    if (match && SUITES.includes(match[2])) newest.set(match[2], name)
  }
  return SUITES.filter(suite => newest.has(suite)).map(suite => ({
    suite,
    file: newest.get(suite),
    report: JSON.parse(readFileSync(join(dir, newest.get(suite)), 'utf8')),
  }))
}

const DIGITS = {ms: 1, '×': 2, MiB: 2, pp: 2, 'CPU-s': 2, lines: 0, requests: 0}

function formatValue(value, unit) {
  const digits = DIGITS[unit] ?? 2
  const number = value.toFixed(digits)
  return unit === '×' ? `${number}×` : `${number} ${unit}`
}

/**
 * Launch targets carry a ratio and name the peer; the medians come from the same report. The statistic is
 * the one the target names (reports from before it was recorded used the ratio of medians).
 */
function launchRows(report) {
  const workloads = {true: '`/bin/true`', echo: "`sh -c 'echo hi'`"}
  return report.targets.map(target => {
    const median = id => report.summary[target.workload]?.find(row => row.id === id)?.median
    const pair = target.of ? [target.of, target.to] : target.id === 'contain' ? ['contain', 'node'] : [target.id, 'contain']
    const names = {node: 'node -e 0', 'contain-nonet': 'contain --network none'}
    const medians = pair.map(id => `${names[id] ?? id} ${median(id)?.toFixed(0)} ms`).join(', ')
    if (target.ratio === undefined)
      return {text: `${target.text}, ${workloads[target.workload] ?? target.workload}`, measured: target.detail ?? '–', status: target.status}
    return {
      text: `${target.text}, ${workloads[target.workload] ?? target.workload}`,
      measured: `${target.ratio.toFixed(2)}× (${target.statistic ?? 'ratio of medians'}; medians: ${medians})${target.detail ? ` — ${target.detail}` : ''}`,
      status: target.status,
    }
  })
}

function rowsOf({suite, report}) {
  if (suite === 'launch') return launchRows(report)
  return (report.targets ?? []).map(target => ({
    text: target.text,
    measured: `${formatValue(target.value, target.unit)}${target.detail ? ` — ${target.detail}` : ''}`,
    status: target.status,
  }))
}

const escape = text => String(text).replace(/\|/g, '\\|')

/** The markdown between the markers. */
export function renderTable(results = latestResults()) {
  const lines = ['| suite | target | measured | status |', '|---|---|---|---|']
  for (const result of results) {
    const link = `[${result.suite}](bench/results/${result.file.replace(/\.json$/, '.md')})`
    for (const row of rowsOf(result)) lines.push(`| ${link} | ${escape(row.text)} | ${escape(row.measured)} | ${row.status} |`)
  }
  const commands = [...new Set(results.map(result => `\`${result.report.command}\` (${result.report.date})`))]
  return [...lines, '', `Made from the reports of: ${commands.join('; ')}.`].join('\n')
}

/** README.md with both generated sections made anew from bench/results. */
export function withFigures(readme, resultsDir = join(root, 'bench/results')) {
  return replaceReadmeBlock(withTable(readme, renderTable(latestResults(resultsDir))), readmeTable(latestIsolationResult(resultsDir)))
}

/** README.md with its figures section replaced by `table`. */
export function withTable(readme, table) {
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start === -1 || end < start) throw new Error(`README.md has no ${START} ... ${END} section`)
  return `${readme.slice(0, start + START.length)}\n${table}\n${readme.slice(end)}`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const write = process.argv.includes('--write')
  if (!write && !process.argv.includes('--check')) {
    console.log(`${renderTable()}\n\n${readmeTable(latestIsolationResult(join(root, 'bench/results')))}`)
  } else {
    const readmePath = join(root, 'README.md')
    const readme = readFileSync(readmePath, 'utf8')
    const wanted = withFigures(readme)
    if (write) writeFileSync(readmePath, wanted)
    else if (wanted !== readme) {
      console.error('README.md: the bench figures differ from bench/results; run npm run bench:readme')
      process.exit(1)
    }
  }
}
