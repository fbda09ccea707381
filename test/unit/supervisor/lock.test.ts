/**
 * The project lock on the real kernel's flock(2) (no root needed): one holder at a time, released
 * by the kernel when its holder dies however it dies, and its file removed on release.
 */
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {AlreadyRunningError} from '../../../src/errors.js'
import {acquireProjectLock, lockFile, lockHolderAlive, readLockHolder, removeUnheldLock} from '../../../src/supervisor/lock.js'

/**
 * Another process that holds the lock as a killed supervisor would have: flock(1) without a fork
 * locks the file, then becomes `sleep`, which keeps the locked descriptor until it is killed.
 */
async function holderProcess(stateDir: string) {
  mkdirSync(stateDir, {recursive: true, mode: 0o700})
  const child = spawn('flock', ['--exclusive', '--no-fork', lockFile(stateDir), 'sleep', '60'], {stdio: 'ignore'})
  await until(() => held(stateDir), 'the holder to lock the file')
  return child
}

/** Whether someone holds the lock, asked without taking it for more than an instant or removing the file. */
function held(stateDir: string): boolean {
  return spawnSync('flock', ['--nonblock', lockFile(stateDir), 'true']).status === 1
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 5000; !check(); await new Promise(resolve => setTimeout(resolve, 10))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
  }
}

t.test('a second holder is refused with the first one named; release removes the file and frees it', async t => {
  const stateDir = join(t.testdir(), 'shop-00000000')
  const lock = acquireProjectLock(stateDir, 'shop')
  t.teardown(() => lock.release())
  const holder = readLockHolder(stateDir)
  t.equal(holder?.pid, process.pid, 'the file names its holder')
  t.ok(lockHolderAlive(holder))
  // flock(2) locks of two open file descriptions conflict even within one process.
  t.throws(() => acquireProjectLock(stateDir, 'shop'), new AlreadyRunningError('shop', process.pid, holder?.since))
  lock.release()
  t.notOk(existsSync(lockFile(stateDir)), 'release removes the lock file')
  lock.release()
  const again = acquireProjectLock(stateDir, 'shop')
  again.release()
})

t.test('a SIGKILLed holder leaves a file whose lock the kernel has dropped: the next one takes it', async t => {
  const stateDir = join(t.testdir(), 'shop-00000000')
  const child = await holderProcess(stateDir)
  t.throws(() => acquireProjectLock(stateDir, 'shop'), {message: /^shop is already running/}, 'held by the other process')
  child.kill('SIGKILL')
  await new Promise(resolve => child.once('exit', resolve))
  t.ok(existsSync(lockFile(stateDir)), 'the killed holder left its file')
  const lock = acquireProjectLock(stateDir, 'shop')
  t.equal(readLockHolder(stateDir)?.pid, process.pid, 'taken over')
  lock.release()
})

t.test("removeUnheldLock removes a dead holder's file and leaves a held one", async t => {
  const stateDir = join(t.testdir(), 'shop-00000000')
  const child = await holderProcess(stateDir)
  removeUnheldLock(stateDir)
  t.ok(existsSync(lockFile(stateDir)), 'a held lock stays')
  child.kill('SIGKILL')
  await new Promise(resolve => child.once('exit', resolve))
  removeUnheldLock(stateDir)
  t.notOk(existsSync(lockFile(stateDir)), 'an unheld one is removed')
  removeUnheldLock(stateDir)
})

t.test('garbage in the lock file is no holder, and does not stop the next one', async t => {
  const stateDir = t.testdir({})
  writeFileSync(lockFile(stateDir), '\u0000garbage', {mode: 0o600})
  t.equal(readLockHolder(stateDir), undefined)
  const lock = acquireProjectLock(stateDir, 'shop')
  t.match(readFileSync(lockFile(stateDir), 'utf8'), /^\{"pid":\d+,"startTime":"\d+","since":"[^"]+"\}\n$/)
  lock.release()
})

t.test("a lock held for a moment by no live supervisor (contain ps removing a dead one's file) is waited for", async t => {
  const stateDir = join(t.testdir(), 'shop-00000000')
  mkdirSync(stateDir, {mode: 0o700})
  writeFileSync(lockFile(stateDir), `${JSON.stringify({pid: 2 ** 22 + 1, startTime: '1', since: 'then'})}\n`, {mode: 0o600})
  const prober = spawn('flock', ['--exclusive', '--no-fork', lockFile(stateDir), 'sleep', '0.3'], {stdio: 'ignore'})
  await until(() => held(stateDir), 'the prober to lock the file')
  const lock = acquireProjectLock(stateDir, 'shop')
  t.equal(readLockHolder(stateDir)?.pid, process.pid, 'taken once the prober let go')
  lock.release()
  await new Promise(resolve => prober.once('exit', resolve))
})
