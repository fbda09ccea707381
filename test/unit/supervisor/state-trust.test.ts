import {spawn} from 'node:child_process'
import {chmodSync, chownSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {isStartedBy} from '../../../src/supervisor/exec-target.js'
import {checkStateDirTrusted} from '../../../src/supervisor/state.js'

t.test('client commands refuse a state directory another user could have written', async t => {
  const uid = process.getuid?.() ?? 0
  const root = t.testdir()
  chmodSync(root, 0o755)
  const dir = join(root, 'project-1234')
  t.doesNotThrow(() => checkStateDirTrusted(dir, uid), 'not made yet: nothing to believe')
  mkdirSync(dir, {mode: 0o700})
  chmodSync(dir, 0o700)
  writeFileSync(join(dir, 'state.json'), '{}', {mode: 0o600})
  t.doesNotThrow(() => checkStateDirTrusted(dir, uid))
  chmodSync(dir, 0o770)
  t.throws(() => checkStateDirTrusted(dir, uid), {message: /writable by other users/})
  chmodSync(dir, 0o700)
  chmodSync(join(dir, 'state.json'), 0o666)
  t.throws(() => checkStateDirTrusted(dir, uid), {message: /state.json is not a file that contain/})
  chmodSync(join(dir, 'state.json'), 0o600)
  writeFileSync(join(dir, 'control.sock'), 'not a socket')
  t.throws(() => checkStateDirTrusted(dir, uid), {message: /control.sock is not a socket/})
  if (uid === 0) {
    const other = join(root, 'other')
    mkdirSync(other, {mode: 0o700})
    chownSync(other, 4321, 4321)
    t.throws(() => checkStateDirTrusted(other, 0), {message: /belongs to uid 4321/})
  }
})

t.test('a pid counts as an app of the supervisor only if the supervisor started it', async t => {
  const child = spawn('sh', ['-c', 'sleep 5 & wait'], {stdio: 'ignore'})
  await new Promise(resolve => setTimeout(resolve, 200))
  t.ok(isStartedBy(child.pid as number, process.pid))
  t.notOk(isStartedBy(process.pid, child.pid as number))
  t.notOk(isStartedBy(1, process.pid))
  child.kill('SIGKILL')
})
