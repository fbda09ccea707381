import {existsSync, linkSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {PassThrough} from 'node:stream'
import t from 'tap'
import {AppLog, readLastLines} from '../../../src/supervisor/logs.js'

// The log directory may be the app's own (logging: {dir}): whatever it plants there is hostile.

t.test('a symlink planted at app.log is not followed: the log is refused, the target untouched', async t => {
  const dir = t.testdir({logs: {}, 'outside.txt': 'secret\n'})
  symlinkSync(join(dir, 'outside.txt'), join(dir, 'logs/web.log'))
  t.throws(() => new AppLog({file: join(dir, 'logs/web.log')}), /cannot open the log/)
  t.equal(readFileSync(join(dir, 'outside.txt'), 'utf8'), 'secret\n')
})

t.test('a symlink or hard link planted at a rotated name is moved or refused, never written through', async t => {
  const dir = t.testdir({logs: {}, 'outside.txt': 'secret\n'})
  const file = join(dir, 'logs/web.log')
  const log = new AppLog({file, maxSizeBytes: 200, maxFiles: 3})
  symlinkSync(join(dir, 'outside.txt'), `${file}.1`)
  symlinkSync(join(dir, 'outside.txt'), `${file}.2`)
  const stream = new PassThrough()
  log.attach(stream, 'out')
  for (let i = 0; i < 20; i++) stream.write(`line ${i} ${'x'.repeat(40)}\n`)
  stream.end()
  await log.close()
  t.equal(readFileSync(join(dir, 'outside.txt'), 'utf8'), 'secret\n', 'the outside file is unchanged after rotations')
  t.notOk(lstatSync(file).isSymbolicLink())
  // A hard link to a file outside at app.log is refused too.
  const hard = join(dir, 'logs/api.log')
  linkSync(join(dir, 'outside.txt'), hard)
  t.throws(() => new AppLog({file: hard}), /cannot open the log/)
})

t.test('a log directory swapped for a symlink is refused', async t => {
  const dir = t.testdir({elsewhere: {}})
  symlinkSync(join(dir, 'elsewhere'), join(dir, 'logs'))
  t.throws(() => new AppLog({file: join(dir, 'logs/web.log')}), /cannot open the log/)
  t.notOk(existsSync(join(dir, 'elsewhere/web.log')))
})

t.test('contain logs does not read through a symlink among the log files', async t => {
  const dir = t.testdir({'outside.txt': '2026-11-29T05:45:12.123Z out SECRET\n'})
  mkdirSync(join(dir, 'logs'))
  writeFileSync(join(dir, 'logs/web.log'), '2026-11-29T05:45:13.123Z out mine\n')
  symlinkSync(join(dir, 'outside.txt'), join(dir, 'logs/web.log.1'))
  t.throws(() => readLastLines(join(dir, 'logs/web.log')), /cannot read the log/)
})
