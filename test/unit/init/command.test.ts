/**
 * `contain init` through oclif: flags to one initProject call, its result printed, and an
 * existing contain.yml refused with exit 125 and the fix.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Command, Config} from '@oclif/core'
import t from 'tap'
import {commands} from '../../../src/cli/oclif.js'
import type {TestContext} from '../helpers/tap.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const config = await Config.load({root: ROOT})

/** Runs `contain init ARGV` in `dir` as oclif would, with its output captured. */
async function run(t: TestContext, dir: string, argv: string[]): Promise<{stdout: string; stderr: string; exitCode: number}> {
  const stdout = t.capture(Command.prototype, 'log')
  const stderr = t.capture(process.stderr, 'write', () => true)
  const cwd = process.cwd()
  process.chdir(dir)
  try {
    await commands.init.run(argv, config)
  } finally {
    process.chdir(cwd)
    stdout.restore()
    stderr.restore()
  }
  const exitCode = Number(process.exitCode ?? 0)
  process.exitCode = undefined
  return {
    stdout: stdout
      .args()
      .map(args => `${String(args[0] ?? '')}\n`)
      .join(''),
    stderr: stderr
      .args()
      .map(args => String(args[0]))
      .join(''),
    exitCode,
  }
}

t.test('init --json prints what it wrote; a second init exits 125 with the fix; --force replaces', async t => {
  const dir = t.testdir({Procfile: 'web: bundle exec puma -p $PORT\n'})
  const first = await run(t, dir, ['--json'])
  t.equal(first.exitCode, 0, first.stderr)
  t.same(JSON.parse(first.stdout), {file: join(dir, 'contain.yml'), replaced: false, apps: [{name: 'web', from: 'procfile'}], detected: {procfile: ['web']}})
  const written = readFileSync(join(dir, 'contain.yml'), 'utf8')

  const second = await run(t, dir, [])
  t.equal(second.exitCode, 125)
  t.match(second.stderr, `contain: ${join(dir, 'contain.yml')} already exists`)
  t.match(second.stderr, /fix: .*contain init --force/)
  t.equal(readFileSync(join(dir, 'contain.yml'), 'utf8'), written, 'untouched')

  const forced = await run(t, dir, ['--force'])
  t.equal(forced.exitCode, 0)
  t.match(forced.stdout, `contain: replaced ${join(dir, 'contain.yml')} (web: procfile); review the limits, then run contain up`)
})

t.test("an unknown flag is contain's usage error", async t => {
  const result = await run(t, t.testdir({}), ['--overwrite'])
  t.equal(result.exitCode, 125)
  t.match(result.stderr, /Unknown option '--overwrite'/)
})
