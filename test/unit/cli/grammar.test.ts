/**
 * One grammar whatever the entry. Every documented example (the README's code blocks and each
 * command's `examples` in commands/table.ts) is read by cli/parse.ts, which both entries run, and
 * by oclif's own parser over the flags and args cli/oclif.ts gives it for help and completion:
 * both must find the same flags, args and rest. Then each entry (the fast bundle's and oclif's
 * command class) must hand the handler what the parser found.
 */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {Config, Parser} from '@oclif/core'
import t from 'tap'
import {runCommand} from '../../../src/cli/fast.js'
import {commandClass, oclifArgs, oclifFlags} from '../../../src/cli/oclif.js'
import {parseCommandLine} from '../../../src/cli/parse.js'
import type {CommandIo, CommandSpec, Parsed} from '../../../src/commands/spec.js'
import {COMMANDS} from '../../../src/commands/table.js'
import {splitCommand} from '../../../src/config/command.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')

/** `[x]` is there or not, `a|b` is either: every line a usage line stands for. */
function expand(line: string): string[] {
  const optional = /\[([^\]]+)\]/.exec(line)
  if (optional) return [...expand(line.replace(optional[0], optional[1])), ...expand(line.replace(optional[0], ''))]
  const choice = /(\S+\|\S+)/.exec(line)
  if (choice) return choice[1].split('|').flatMap(word => expand(line.replace(choice[1], word)))
  return [line.replace(/\s+/g, ' ').trim()]
}

/** The command of the table a line (words after `contain`) starts with, and the rest of its words. */
function commandOf(words: string[]): {spec: CommandSpec; argv: string[]} | undefined {
  for (const spec of COMMANDS) {
    const id = spec.id.split(':')
    if (id.every((word, index) => words[index] === word)) return {spec, argv: words.slice(id.length)}
  }
  return undefined
}

/** Every documented example, as the command's row and its argv. */
function documentedExamples(): {source: string; spec: CommandSpec; argv: string[]}[] {
  const examples = []
  let inBlock = false
  for (const line of README.split('\n')) {
    if (line.startsWith('```')) inBlock = !inBlock
    const match = inBlock && /^(?:\$ |sudo )?contain (\S.*)$/.exec(line)
    if (!match) continue
    for (const text of expand(match[1].replace(/\s+#.*$/, ''))) {
      const found = commandOf(text.split(' '))
      // Lines of the diagrams ("contain (node) ── ...") name no command.
      if (found) examples.push({source: `README: contain ${text}`, spec: found.spec, argv: splitCommand(found.argv.join(' '))})
    }
  }
  for (const spec of COMMANDS)
    for (const example of spec.examples) examples.push({source: `${spec.id} example: ${example}`, spec, argv: example === '' ? [] : splitCommand(example)})
  return examples
}

/** What oclif's parser makes of a line, in the parser's terms (flags given or defaulted, args, rest). */
async function oclifParse(spec: CommandSpec, argv: string[], commandAt: number | undefined): Promise<Parsed> {
  // oclif knows no Docker-style command line (`contain run ls -la`): it needs `--` before the
  // app's words, where the grammar finds them without.
  const line = commandAt === undefined || argv[commandAt - 1] === '--' ? argv : [...argv.slice(0, commandAt), '--', ...argv.slice(commandAt)]
  const parsed = await Parser.parse(line, {flags: oclifFlags(spec), args: oclifArgs(spec), strict: spec.rest === undefined})
  const named = (spec.args ?? []).map(arg => arg.name)
  return {
    flags: Object.fromEntries(Object.entries(parsed.flags).filter(([, value]) => value !== undefined)),
    args: Object.fromEntries(Object.entries(parsed.args).filter(([name, value]) => named.includes(name) && value !== undefined)),
    rest: (parsed.argv as string[]).slice(named.length),
  }
}

t.test('every documented example reads the same through the grammar and through oclif', async t => {
  const examples = documentedExamples()
  t.ok(examples.filter(example => example.source.startsWith('README')).length >= 15, `the README's lines (${examples.length} examples in all)`)
  for (const spec of COMMANDS) t.ok(spec.examples.length > 0, `${spec.id} has examples`)
  for (const {source, spec, argv} of examples) {
    const ours = parseCommandLine(spec, argv)
    const commandAt = spec.rest?.kind === 'command' ? argv.length - ours.rest.length : undefined
    t.strictSame({...ours, rest: [...ours.rest]}, await oclifParse(spec, argv, commandAt), source)
  }
})

t.test("Docker's forms: a value that starts with a dash, repeated flags, =, grouped short flags", async t => {
  const run = COMMANDS.find(spec => spec.id === 'run') as CommandSpec
  const argv = ['--memory-swap', '-1', '-m', '64m', '--namespaces', '-ipc', '-e', 'A=1', '--env=B=2', '--read-only', 'ls', '-la']
  t.strictSame(parseCommandLine(run, argv), {
    flags: {'memory-swap': '-1', memory: '64m', namespaces: '-ipc', env: ['A=1', 'B=2'], 'read-only': true},
    args: {},
    rest: ['ls', '-la'],
  })
  const logs = COMMANDS.find(spec => spec.id === 'logs') as CommandSpec
  t.strictSame(parseCommandLine(logs, ['-ftn5', 'web']).flags, {follow: true, timestamps: true, tail: 5})
  const exec = COMMANDS.find(spec => spec.id === 'exec') as CommandSpec
  t.strictSame(parseCommandLine(exec, ['web', 'ls', '--', '-f', 'x']).rest, ['ls', '--', '-f', 'x'], "the app's own -- and flags are its own")
  t.strictSame(parseCommandLine(exec, ['-f', 'c.yml', 'web', '-f', 'x.yml', 'sh']), {flags: {file: 'x.yml'}, args: {app: 'web'}, rest: ['sh']})
})

t.test('usage errors name the flag or argument, exit 125, and point at the help', async t => {
  const byId = (id: string) => COMMANDS.find(spec => spec.id === id) as CommandSpec
  const cases: [string, string[], RegExp, RegExp?][] = [
    ['ps', ['--all', '-f', 'x.yml'], /^--all: cannot be given with --file/],
    ['logs', ['web', '-n', '-3'], /^--tail: must be 0 or more/],
    ['logs', ['web', '-n', 'many'], /^--tail: must be a whole number/],
    ['seccomp:explain', ['read', '--arch', 'sparc'], /^--arch: must be one of x86_64, aarch64/, /^use one of x86_64, aarch64$/],
    ['inspect', [], /^Missing 1 required arg: APP/],
    ['systemd', [], /^Missing 1 required arg: APPS/],
    ['down', ['web'], /^web: Unexpected argument 'web'/],
    ['ps', ['--constructor'], /^--constructor: Unknown option '--constructor'/],
    ['ps', ['--__proto__=x'], /^--__proto__: Unknown option '--__proto__'/],
    ['logs', ['web', '-ftx'], /^-x: Unknown option '-x'/],
    ['run', ['--cpus'], /^--cpus: Option '--cpus <value>' argument missing/],
    ['up', ['--detach=yes'], /^--detach: Option '--detach' does not take an argument/],
  ]
  for (const [id, argv, message, fix] of cases) {
    let error: unknown
    try {
      parseCommandLine(byId(id), argv)
    } catch (caught) {
      error = caught
    }
    t.match(error, {message, exitCode: 125, fix: fix ?? new RegExp(`contain ${id.replace(':', ' ')} --help`)}, `${id} ${argv.join(' ')}`)
  }
})

t.test('both entries hand the handler what the grammar read', async t => {
  const seen: Parsed[] = []
  const handler = async (input: Parsed, _io: CommandIo) => {
    seen.push(input)
    return 3
  }
  const config = await Config.load({root: ROOT})
  const lines: [string, string[]][] = [
    ['run', ['-m', '64m', '--memory-swap', '-1', 'ls', '-la']],
    ['up', ['-d', 'web', '--no-color']],
    ['ps', ['--json']],
    ['exec', ['web', '--', 'sh', '-c', 'echo -- hi']],
    ['stop', ['web', 'worker']],
    ['seccomp:explain', ['socket', '--arg', '0=40', '--arg', '1=1']],
  ]
  for (const [id, argv] of lines) {
    // The row as the table has it, but for a handler that only records what it is given.
    const spec = {...(COMMANDS.find(row => row.id === id) as CommandSpec), load: async () => ({default: handler})}
    seen.length = 0
    t.equal(await runCommand(spec, argv), 3, `${id}: the fast entry returns the exit code`)
    await commandClass(spec).run(argv, config)
    t.equal(process.exitCode, 3, `${id}: oclif's sets it`)
    t.strictSame(seen, [parseCommandLine(spec, argv), parseCommandLine(spec, argv)], `${id} ${argv.join(' ')}`)
  }
  process.exitCode = undefined
})

t.test("bin/run.js starts the table's hot commands, and only those, from their bundles", async t => {
  const bin = readFileSync(new URL('../../../bin/run.js', import.meta.url), 'utf8')
  const fast = [...bin.matchAll(/\['(\w+)', \['\w+\.cjs', '\w+'\]\]/g)].map(match => match[1]).sort()
  t.strictSame(
    fast,
    COMMANDS.filter(spec => spec.hot)
      .map(spec => spec.id)
      .sort(),
  )
})
