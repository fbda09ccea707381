/**
 * Errors found after the options were read (at plan time, below config/) are told in the words
 * the user wrote: the flag for contain run, the key at its line and column for contain.yml.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import t from 'tap'
import {flagNaming, nameFields, optionsOfFields} from '../../../src/config/naming.js'
import {loadProject} from '../../../src/config/project.js'
import {resolveRunOptions} from '../../../src/config/resolve.js'
import {ContainError, FileError, InvalidValueError, OptionFieldsError} from '../../../src/errors.js'
import type {RunOptions} from '../../../src/launch/options.js'
import {rejection} from '../helpers/errors.js'
import type {TestContext} from '../helpers/tap.js'

const missingController = () =>
  new OptionFieldsError(['memoryBytes', 'pidsMax'], names => ({
    problem: `need${names.length === 1 ? 's' : ''} the memory cgroup controller`,
    fix: `leave ${names.join(' and ')} out`,
  }))

async function project(t: TestContext, yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'contain-naming-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  writeFileSync(join(dir, 'contain.yml'), yaml)
  const file = join(dir, 'contain.yml')
  return {file, loaded: await loadProject(file, {env: {}, resolve: async () => ({}) as RunOptions})}
}

t.test('limit fields map to the options that set them, once each', async t => {
  t.strictSame(optionsOfFields(['cpuQuotaMicros', 'cpuPeriodMicros', 'memorySwapBytes']), ['cpus', 'memory-swap'])
})

t.test('contain run: a late error names the flags', async t => {
  const named = nameFields(missingController(), flagNaming) as ContainError
  t.equal(named.message, '--memory, --pids-limit need the memory cgroup controller')
  t.equal(named.fix, 'leave --memory and --pids-limit out')
  const other = new Error('not about options')
  t.equal(nameFields(other, flagNaming), other, 'other errors pass unchanged')
})

t.test('contain.yml: a late error names the keys, at the line of the first', async t => {
  const {file, loaded} = await project(t, 'apps:\n  web:\n    command: rails s\n    pids_limit: 100\n    mem_limit: 512m\n')
  const named = nameFields(missingController(), loaded.apps[0].naming)
  t.type(named, FileError)
  t.equal((named as FileError).message, `${file}:5:16: apps.web: mem_limit, pids_limit need the memory cgroup controller`)
  t.equal((named as FileError).fix, 'leave mem_limit and pids_limit out')
})

t.test("contain.yml: the resolver's own messages name keys, never flags", async t => {
  const dir = mkdtempSync(join(tmpdir(), 'contain-naming-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  writeFileSync(join(dir, 'contain.yml'), 'apps:\n  web:\n    command: rails s\n    read_only: false\n    writable: [tmp]\n')
  const error = await rejection(
    loadProject(join(dir, 'contain.yml'), {env: {}, host: {cpus: 2, env: {}, cwd: dir, readFile: () => ''}, resolve: resolveRunOptions}),
  )
  t.type(error, FileError)
  t.match(error.message, /:5:16: apps\.web\.writable\[0\]: only applies with read_only/)
  t.match((error as FileError).fix, /^add read_only, or leave writable out$/)
  t.notMatch(`${error.message} ${(error as FileError).fix}`, /--/, 'no flag name')
})

t.test("contain run: the resolver's errors carry the option they are about", async t => {
  const error = await rejection(resolveRunOptions({'memory-swap': '1g'}, ['true'], {cpus: 2, env: {}, cwd: '/', readFile: () => ''}))
  t.type(error, InvalidValueError)
  t.equal((error as InvalidValueError).field, '--memory-swap')
  t.strictSame((error as InvalidValueError).ref, {option: 'memory-swap'})
  t.match(error.message, /needs --memory/)
})
