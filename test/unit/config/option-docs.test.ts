import {readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import t from 'tap'
import {OPTION_DOCS_END, OPTION_DOCS_START, renderOptionDocs, replaceOptionDocs} from '../../../src/config/option-docs.js'
import {FILE_OPTIONS, RUN_OPTIONS} from '../../../src/config/schema.js'

const readme = fileURLToPath(new URL('../../../README.md', import.meta.url))

t.test("the README's option reference is the one generated from the option table", async t => {
  const text = readFileSync(readme, 'utf8')
  const current = replaceOptionDocs(text)
  if (current !== undefined && process.env.CONTAIN_UPDATE_DOCS === '1') writeFileSync(readme, current)
  t.ok(current !== undefined, `README.md holds the markers ${OPTION_DOCS_START} and ${OPTION_DOCS_END}`)
  t.equal(text, current, 'regenerate it with: CONTAIN_UPDATE_DOCS=1 npx tap test/unit/config/option-docs.test.ts')
})

t.test('one row per option, each naming its flag and, where contain.yml has it, its key', async t => {
  const docs = renderOptionDocs()
  for (const spec of RUN_OPTIONS) t.match(docs, `--${spec.flag}`, spec.flag)
  for (const option of FILE_OPTIONS) t.match(docs, `\`${option.key}: `, option.key)
  t.notMatch(docs, /\{[a-z-]+\}/, 'every {id} in a description is named')
})
