/** The README quotes no figure that the newest bench reports do not hold (issue 15). */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import t from 'tap'
import {END, START, latestResults, renderTable, withFigures, withTable} from '../../../bench/readme.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))

t.test("the README's figures are the tables made from bench/results", async t => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  t.equal(withFigures(readme), readme, 'run npm run bench:readme after a bench run')
})

t.test('every quoted report exists and has targets', async t => {
  const results = latestResults() as {suite: string; file: string; report: {targets?: unknown[]}}[]
  t.ok(results.length >= 6, results.map(result => result.file).join(', '))
  for (const result of results) t.ok((result.report.targets ?? []).length > 0, `${result.file} has targets`)
})

t.test('only the section between the markers is replaced', async t => {
  t.equal(withTable(`a\n${START}\nold\n${END}\nb`, 'new'), `a\n${START}\nnew\n${END}\nb`)
  t.throws(() => withTable('no markers', 'new'), /bench-figures/)
})

t.test('a launch figure names the statistic its report used', async t => {
  const summary = {
    true: [
      {id: 'node', median: 40},
      {id: 'contain', median: 50},
    ],
  }
  const report = (target: object) => ({
    command: 'npm run bench',
    date: '2026-12-07',
    summary,
    targets: [{workload: 'true', id: 'contain', text: 'contain run ≤ 1.3× node -e 0', ratio: 1.2, status: 'met', ...target}],
  })
  const paired = renderTable([{suite: 'launch', file: '2026-12-07-launch.json', report: report({statistic: 'median of per-round ratios'})}])
  t.match(paired, /1\.20× \(median of per-round ratios; medians: contain 50 ms, node -e 0 40 ms\)/)
  const old = renderTable([{suite: 'launch', file: '2026-12-06-launch.json', report: report({})}])
  t.match(old, /1\.20× \(ratio of medians; medians: contain 50 ms, node -e 0 40 ms\)/)
})
