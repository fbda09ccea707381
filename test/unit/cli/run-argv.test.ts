/** `contain run`'s line through the one grammar (cli/parse.ts) with its row of the command table. */
import t from 'tap'
import {parseCommandLine} from '../../../src/cli/parse.js'
import {run} from '../../../src/commands/table.js'
import {InvalidValueError} from '../../../src/errors.js'
import {thrown} from '../helpers/errors.js'

function parseRunArgv(argv: string[]) {
  const {flags, rest} = parseCommandLine(run, argv)
  return {flags, command: rest}
}

/** parseRunArgv with the flags as a plain object. */
function parse(argv: string[]) {
  const {flags, command} = parseRunArgv(argv)
  return {flags: {...flags}, command}
}

t.test('the command starts at the first positional word', async t => {
  t.strictSame(parse(['ls', '-la']), {flags: {}, command: ['ls', '-la']}, "flags after the command are the command's")
  t.strictSame(parse(['--memory', '64m', 'ls', '-la', '--memory', '1g']), {flags: {memory: '64m'}, command: ['ls', '-la', '--memory', '1g']})
})

t.test('the command starts after --', async t => {
  t.strictSame(parse(['--name', 'web', '--', 'rails', 's']), {flags: {name: 'web'}, command: ['rails', 's']})
  t.strictSame(parse(['--', '--weird-command']), {flags: {}, command: ['--weird-command']})
  t.strictSame(parse(['--read-only', '--', 'ls', '--', 'x']), {flags: {'read-only': true}, command: ['ls', '--', 'x']}, 'a later -- belongs to the command')
})

t.test('no command: empty command, flags still parsed', async t => {
  t.strictSame(parse(['--name', 'web']), {flags: {name: 'web'}, command: []})
  t.strictSame(parse([]), {flags: {}, command: []})
  t.strictSame(parse(['--cpus', '1', '--']), {flags: {cpus: '1'}, command: []})
})

t.test('short flags: -m, -e, -w, -u', async t => {
  t.strictSame(parse(['-m', '64m', '-w', '/srv', '-u', '1000', 'app']).flags, {memory: '64m', workdir: '/srv', user: '1000'})
})

t.test('repeated -e and --env-file collect in order', async t => {
  t.strictSame(parse(['-e', 'A=1', '--env', 'B=2', '-e', 'A=3', '--env-file', 'a.env', '--env-file', 'b.env', 'app']).flags, {
    env: ['A=1', 'B=2', 'A=3'],
    'env-file': ['a.env', 'b.env'],
  })
})

t.test('--flag=value form', async t => {
  t.strictSame(parse(['--memory=64m', '--memory-swap=-1', '--pids-limit=-1', 'app']).flags, {memory: '64m', 'memory-swap': '-1', 'pids-limit': '-1'})
})

t.test('boolean flags take no value', async t => {
  t.strictSame(parse(['--read-only', '--userns', '--dry-run', '--json', 'app']), {
    flags: {'read-only': true, userns: true, 'dry-run': true, json: true},
    command: ['app'],
  })
})

t.test('a value starting with - given as the next word is a value, as docker run takes it', async t => {
  t.strictSame(parse(['--memory', '64m', '--memory-swap', '-1', 'app']), {flags: {memory: '64m', 'memory-swap': '-1'}, command: ['app']})
  t.strictSame(parse(['--pids-limit', '-1', 'app']).flags, {'pids-limit': '-1'})
  t.strictSame(parse(['--namespaces', '-ipc,+net', 'app']).flags, {namespaces: '-ipc,+net'})
  t.strictSame(parse(['-e', '-x', 'app']).flags, {env: ['-x']}, 'short flags too')
})

t.test('joining flag values leaves the command untouched', async t => {
  t.strictSame(parse(['-m', '64m', 'sh', '-c', '--memory', '-1']).command, ['sh', '-c', '--memory', '-1'])
  t.strictSame(parse(['--name', 'web', '--', '-m', '1g']).command, ['-m', '1g'])
})

t.test('an unknown flag is an InvalidValueError naming it', async t => {
  const error = thrown(() => parseRunArgv(['--memroy', '64m', 'app']))
  t.type(error, InvalidValueError)
  t.equal((error as InvalidValueError).field, '--memroy')
  t.match(error.message, /Unknown option '--memroy'/)
  t.match((error as InvalidValueError).fix, /contain run --help/)

  const short = thrown(() => parseRunArgv(['-x', 'app']))
  t.equal((short as InvalidValueError).field, '-x')
})

t.test('a flag missing its value is an InvalidValueError naming the flag', async t => {
  const error = thrown(() => parseRunArgv(['--cpus']))
  t.type(error, InvalidValueError)
  t.equal((error as InvalidValueError).field, '--cpus')
  t.match(error.message, /argument missing/)
})

t.test('a flag with a short alias missing its value is named by its long name', async t => {
  const error = thrown(() => parseRunArgv(['--memory']))
  t.type(error, InvalidValueError)
  t.equal((error as InvalidValueError).field, '--memory', 'field is --memory')
  t.match(error.message, /^--memory: /, 'message starts with --memory')
})
