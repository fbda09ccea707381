/** `contain up`'s line through the one grammar (cli/parse.ts) with its row of the command table. */
import t from 'tap'
import {parseCommandLine} from '../../../src/cli/parse.js'
import {up} from '../../../src/commands/table.js'
import {recreatePolicy} from '../../../src/commands/up.js'
import {InvalidValueError} from '../../../src/errors.js'
import {thrown} from '../helpers/errors.js'

/** What the up handler reads of the line. */
function parseUpArgv(argv: string[]) {
  const input = parseCommandLine(up, argv)
  const flag = (name: string) => input.flags[name] === true
  return {
    file: input.flags.file,
    detach: flag('detach'),
    supervise: flag('supervise'),
    noColor: flag('no-color'),
    recreate: recreatePolicy(input),
    json: flag('json'),
    reload: flag('reload'),
    apps: [...input.rest],
  }
}

t.test('flags and app names in any order, as the oclif command takes them', async t => {
  const none = {recreate: 'changed', json: false, reload: false}
  t.strictSame(parseUpArgv([]), {file: undefined, detach: false, supervise: false, noColor: false, ...none, apps: []})
  t.strictSame(parseUpArgv(['web', '-d', '-f', 'deploy/contain.yml', 'worker']), {
    file: 'deploy/contain.yml',
    detach: true,
    supervise: false,
    noColor: false,
    ...none,
    apps: ['web', 'worker'],
  })
  t.strictSame(parseUpArgv(['--file=x.yml', '--detach', '--no-color', '--supervise']), {
    file: 'x.yml',
    detach: true,
    supervise: true,
    noColor: true,
    ...none,
    apps: [],
  })
  t.strictSame(parseUpArgv(['--', '-odd-name']).apps, ['-odd-name'], 'after -- every word is an app')
})

t.test('an unknown flag or a missing value is a typed error naming the flag', async t => {
  const unknown = thrown(() => parseUpArgv(['--bogus']))
  t.type(unknown, InvalidValueError)
  t.match(unknown, {field: '--bogus', exitCode: 125, fix: /contain up --help/})
  t.match(
    thrown(() => parseUpArgv(['-f'])),
    {field: '-f', exitCode: 125},
  )
})

t.test('a running project: --no-recreate, --force-recreate, --reload, --json', async t => {
  t.match(parseUpArgv(['-d', '--no-recreate']), {recreate: 'never', detach: true})
  t.match(parseUpArgv(['--force-recreate', 'web']), {recreate: 'always', apps: ['web']})
  t.match(parseUpArgv(['--reload', '--file', 'c.yml', 'web']), {reload: true, file: 'c.yml', apps: ['web']})
  t.match(parseUpArgv(['-d', '--json']), {json: true})
  const both = thrown(() => parseUpArgv(['--no-recreate', '--force-recreate']))
  t.type(both, InvalidValueError)
  t.match(both, {field: '--force-recreate', exitCode: 125, message: /cannot be given with --no-recreate/, fix: /give one of them/})
})
