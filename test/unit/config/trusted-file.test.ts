import {chmodSync, chownSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {UntrustedFileError, checkFileTrusted, readFileUpTo} from '../../../src/trusted-file.js'

const file = (uid: number, gid: number, mode: number) => ({uid, gid, mode: 0o100000 | mode, isFile: () => true})

t.test('a file another non-root user owns or may write is refused, naming the fix', async t => {
  const root = {uid: 0, gid: 0}
  t.doesNotThrow(() => checkFileTrusted('/p/contain.yml', file(0, 0, 0o644), root))
  t.doesNotThrow(() => checkFileTrusted('/p/contain.yml', file(0, 0, 0o664), root), 'group root is root')
  t.throws(() => checkFileTrusted('/p/contain.yml', file(1000, 1000, 0o644), root), {message: /belongs to uid 1000/, fix: /chown root \/p\/contain.yml/})
  t.throws(() => checkFileTrusted('/p/.env', file(0, 0, 0o666), root), {message: /writable by every user/})
  t.throws(() => checkFileTrusted('/p/.env', file(0, 50, 0o664), root), {message: /writable by group 50/})
  const user = {uid: 1000, gid: 1000}
  t.doesNotThrow(() => checkFileTrusted('/p/contain.yml', file(1000, 1000, 0o664), user), 'a user private group')
  t.doesNotThrow(() => checkFileTrusted('/p/contain.yml', file(0, 0, 0o644), user), 'root owns it')
  t.throws(() => checkFileTrusted('/p/contain.yml', file(1001, 1001, 0o644), user), UntrustedFileError)
  t.throws(() => checkFileTrusted('/p/contain.yml', file(1000, 100, 0o664), user), {message: /writable/, fix: /chmod go-w/})
  t.doesNotThrow(() => checkFileTrusted('/dev/zero', {uid: 0, gid: 0, mode: 0o20666, isFile: () => false}, root), 'devices are left to the bounded read')
})

t.test('readFileUpTo checks the file it opened', {skip: process.getuid?.() !== 0 && 'needs root to chown'}, async t => {
  const dir = t.testdir()
  const path = join(dir, 'contain.yml')
  writeFileSync(path, 'apps: {}\n')
  chmodSync(path, 0o666)
  t.throws(() => readFileUpTo(path, 100), {message: /writable/, fix: /chmod go-w/})
  chmodSync(path, 0o644)
  chownSync(path, 1234, 1234)
  t.throws(() => readFileUpTo(path, 100), {message: /belongs to uid 1234/})
  chownSync(path, 0, 0)
  t.equal(readFileUpTo(path, 100).toString(), 'apps: {}\n')
})
