import t from 'tap'
import {parseUpArgv} from '../../../src/cli/up-argv.js'
import {InvalidValueError} from '../../../src/errors.js'
import {thrown} from '../helpers/errors.js'

t.test('flags and app names in any order, as the oclif command takes them', async t => {
  t.strictSame(parseUpArgv([]), {file: undefined, detach: false, supervise: false, noColor: false, apps: []})
  t.strictSame(parseUpArgv(['web', '-d', '-f', 'deploy/contain.yml', 'worker']), {file: 'deploy/contain.yml', detach: true, supervise: false, noColor: false, apps: ['web', 'worker']})
  t.strictSame(parseUpArgv(['--file=x.yml', '--detach', '--no-color', '--supervise']), {file: 'x.yml', detach: true, supervise: true, noColor: true, apps: []})
  t.strictSame(parseUpArgv(['--', '-odd-name']).apps, ['-odd-name'], 'after -- every word is an app')
})

t.test('an unknown flag or a missing value is a typed error naming the flag', async t => {
  const unknown = thrown(() => parseUpArgv(['--bogus']))
  t.type(unknown, InvalidValueError)
  t.match(unknown, {field: '--bogus', exitCode: 125, fix: /contain up --help/})
  t.match(thrown(() => parseUpArgv(['-f'])), {field: '-f', exitCode: 125})
})
