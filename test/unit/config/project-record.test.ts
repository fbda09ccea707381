/**
 * The resolved project up -d hands its supervisor (and the supervisor leaves for contain exec):
 * the same project back, and its late errors still told at the key's line and column, though
 * contain.yml is not read again.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import t from 'tap'
import {nameFields} from '../../../src/config/naming.js'
import {loadProject} from '../../../src/config/project.js'
import {readProjectRecord, recordProject} from '../../../src/config/project-record.js'
import {ContainError, FileError, OptionFieldsError} from '../../../src/errors.js'
import type {TestContext} from '../helpers/tap.js'

const missingController = () =>
  new OptionFieldsError(['memoryBytes', 'pidsMax'], names => ({
    problem: `need${names.length === 1 ? 's' : ''} the memory cgroup controller`,
    fix: `leave ${names.join(' and ')} out`,
  }))

function projectDir(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'contain-record-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

const host = (dir: string) => ({cpus: 4, env: {}, cwd: dir, readFile: () => '', uid: 0, ownerOf: () => ({uid: 1000, gid: 1000})})

t.test('contain.yml: the same apps back, and a late error at the key it is about', async t => {
  const dir = projectDir(t, {
    'contain.yml':
      'name: shop\napps:\n  web:\n    command: rails s\n    environment: {A: "1"}\n    pids_limit: 100\n    mem_limit: 512m\n  worker:\n    command: ["sidekiq"]\n',
  })
  const file = join(dir, 'contain.yml')
  const loaded = await loadProject(file, {env: {}, host: host(dir)})
  const text = recordProject(loaded)
  rmSync(file)
  const back = readProjectRecord(text, 'the test')
  t.equal(back.name, 'shop')
  t.equal(back.file, file)
  t.strictSame(
    back.apps.map(app => [app.name, app.options, app.supervision, app.input]),
    // A field left undefined is a field left out.
    JSON.parse(JSON.stringify(loaded.apps.map(app => [app.name, app.options, app.supervision, app.input]))),
    'options, supervision and input as resolved',
  )
  const before = nameFields(missingController(), loaded.apps[0].naming) as FileError
  const after = nameFields(missingController(), back.apps[0].naming) as FileError
  t.type(after, FileError)
  t.equal(after.message, `${file}:7:16: apps.web: mem_limit, pids_limit need the memory cgroup controller`)
  t.equal(after.message, before.message, 'as the file itself would tell it')
  t.equal(after.fix, before.fix)
})

t.test('Procfile: a late error at the entry line', async t => {
  const dir = projectDir(t, {Procfile: 'web: rails s\nworker: sidekiq\n'})
  const loaded = await loadProject(join(dir, 'Procfile'), {env: {}, host: host(dir)})
  const back = readProjectRecord(recordProject(loaded), 'the test')
  const before = nameFields(missingController(), loaded.apps[1].naming) as FileError
  const after = nameFields(missingController(), back.apps[1].naming) as FileError
  t.equal(after.message, before.message)
  t.match(after.message, /Procfile:2:\d+: worker: /)
})

t.test("another version's record, or none, is refused with the fix", async t => {
  for (const text of [
    '',
    'not json',
    '{"format":"contain-resolved-project/0","file":"/x","dir":"/","name":"x","apps":[]}',
    '{"format":"contain-resolved-project/1"}',
  ]) {
    t.throws(() => readProjectRecord(text, 'fd 4'), ContainError)
  }
  try {
    readProjectRecord('{}', 'fd 4')
  } catch (error) {
    t.match((error as ContainError).message, /^fd 4 does not hold a project resolved by this version of contain$/)
    t.match((error as ContainError).fix, /contain down and contain up -d/)
  }
})
