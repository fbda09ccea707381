/**
 * One grammar for `contain run`, whatever the entry: every documented example goes through the
 * fast path (bin/run.js -> runFast) and through oclif's command class, and both hand the same
 * flags and command to the one resolver (config/run-flags.ts, captured here).
 */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {Config} from '@oclif/core'
import t from 'tap'
import {splitCommand} from '../../../src/config/command.js'
import type {RawRunFlags} from '../../../src/config/schema.js'
import type {RunIo} from '../../../src/launch/run.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const README = fileURLToPath(new URL('../../../README.md', import.meta.url))

interface Parsed {
  flags: RawRunFlags
  command: string[]
}

let captured: Parsed[] = []
const runFlags = async (flags: RawRunFlags, command: string[], _io: RunIo) => {
  captured.push({flags: {...flags}, command})
  return 0
}

/** `contain run ...` lines of the README's code blocks, and the command's own examples. */
function documentedExamples(examples: readonly string[]): string[][] {
  const lines: string[] = []
  let inBlock = false
  for (const line of readFileSync(README, 'utf8').split('\n')) {
    if (line.startsWith('```')) inBlock = !inBlock
    else if (inBlock && /^(\$ |sudo )?contain run /.test(line)) lines.push(line.replace(/^(\$ |sudo )?contain run /, ''))
  }
  for (const example of examples) lines.push(example.replace(/^<%= config\.bin %> run /, ''))
  return lines.map(line => splitCommand(line))
}

t.test('every documented example parses the same through both entries', async t => {
  const mocks = {'../../../src/config/run-flags.js': {runFlags}}
  const {runFast} = await t.mockImport<typeof import('../../../src/cli/run-fast.js')>('../../../src/cli/run-fast.js', mocks)
  const {default: Run} = await t.mockImport<typeof import('../../../src/commands/run.js')>('../../../src/commands/run.js', mocks)
  const config = await Config.load({root: ROOT})
  const examples = documentedExamples(Run.examples)
  t.ok(examples.length >= 4, `the README's and the command's examples (${examples.length})`)
  for (const argv of examples) {
    captured = []
    t.equal(await runFast(argv), 0, argv.join(' '))
    await Run.run(argv, config)
    t.equal(captured.length, 2, `both entries reached the resolver: ${argv.join(' ')}`)
    t.strictSame(captured[1], captured[0], argv.join(' '))
    t.ok(captured[0].command.length > 0, 'a command was found')
  }
  process.exitCode = undefined
})

t.test("Docker's forms both entries take alike: a value that starts with a dash, repeated flags, =", async t => {
  const mocks = {'../../../src/config/run-flags.js': {runFlags}}
  const {runFast} = await t.mockImport<typeof import('../../../src/cli/run-fast.js')>('../../../src/cli/run-fast.js', mocks)
  const {default: Run} = await t.mockImport<typeof import('../../../src/commands/run.js')>('../../../src/commands/run.js', mocks)
  const config = await Config.load({root: ROOT})
  const argv = ['--memory-swap', '-1', '-m', '64m', '--namespaces', '-ipc', '-e', 'A=1', '--env=B=2', '--read-only', 'ls', '-la']
  captured = []
  await runFast(argv)
  await Run.run(argv, config)
  t.strictSame(captured[0], {flags: {'memory-swap': '-1', memory: '64m', namespaces: '-ipc', env: ['A=1', 'B=2'], 'read-only': true}, command: ['ls', '-la']})
  t.strictSame(captured[1], captured[0])
  process.exitCode = undefined
})
