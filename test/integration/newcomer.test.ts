/**
 * A newcomer's first minutes, as the README tells them: a fresh clone, `./setup.sh`, and the
 * example answers /up. Twice, on the paths newcomers take:
 * - a clone below /tmp, made by root (the example's `tmpfs: [/tmp]` must not hide the app's own
 *   directory, which is below /tmp too);
 * - a clone in a normal user's home directory, set up with `sudo ./setup.sh`: the project file must
 *   be handed to root (contain refuses project files another user could change), contain's own
 *   files stay the user's, and the app runs as that user, the owner of its directory.
 * The clone is of the repository's committed HEAD, with git, as a newcomer's is. npm takes the
 * packages from its cache when it has them (CI's own install filled it), so the test measures
 * contain's path, not the network.
 */
import {execa, type ResultPromise} from 'execa'
import {rmSync} from 'node:fs'
import {connect} from 'node:net'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {assertNothingLeftBehind, requireRoot, root, skipFile} from './helpers.js'

const EXAMPLE_PORT = 3000
const BOOT_LIMIT_MS = 240_000

if (requireRoot(t)) {
  if (await portInUse(EXAMPLE_PORT)) {
    skipFile(t, `port ${EXAMPLE_PORT}, where the example serves, is in use on this host`)
  } else {
    assertNothingLeftBehind(t)
    t.test('a clone below /tmp, set up and run by root', async t => {
      const dir = join('/tmp', `contain-newcomer-${process.pid}`)
      t.teardown(() => rmSync(dir, {recursive: true, force: true}))
      await execa('git', ['clone', '--quiet', '--no-hardlinks', root, dir])
      await setupAndAnswer(t, dir, 0)
    })
    t.test("a clone in a normal user's home directory, set up with sudo", async t => {
      const user = `cnewcomer${process.pid % 100_000}`
      const home = `/home/${user}`
      t.teardown(async () => {
        await execa('userdel', ['--remove', user], {reject: false})
        rmSync(home, {recursive: true, force: true})
      })
      await execa('useradd', ['--create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin', user])
      const uid = Number((await execa('id', ['-u', user])).stdout)
      const dir = join(home, 'contain')
      await execa('git', ['clone', '--quiet', '--no-hardlinks', root, dir])
      await execa('chown', ['-R', `${user}:${user}`, dir])
      await setupAndAnswer(t, dir, uid)
      const owner = await execa('stat', ['-c', '%u', join(dir, 'examples/rails-app/contain.yml'), join(dir, 'templates/seccomp/default.json')])
      t.same(owner.stdout.split('\n').map(Number), [0, uid], "setup.sh handed the project file to root; contain's own files stay the user's")
    })
  }
}

/**
 * Runs `./setup.sh` in `dir` (it ends in the foreground `contain up` of the example), waits for /up,
 * checks the app's uid, then stops it with Ctrl-C's signal and expects a graceful end.
 */
async function setupAndAnswer(t: Test, dir: string, appUid: number): Promise<void> {
  const setup = execa('./setup.sh', [], {
    cwd: dir,
    env: {npm_config_prefer_offline: 'true', npm_config_audit: 'false'},
    all: true,
    reject: false,
    detached: true,
  })
  let output = ''
  setup.all?.on('data', chunk => (output += chunk))
  t.teardown(() => stopGroup(setup))
  const answered = await waitForUp(setup)
  t.ok(answered, `the example answered /up (setup.sh said:\n${answered ? '' : output.slice(-3000)})`)
  if (answered) {
    const info = JSON.parse(await get('/info')) as {uid: number}
    t.equal(info.uid, appUid, `the app runs as uid ${appUid}, the owner of its directory`)
  }
  setup.kill('SIGINT')
  const result = await Promise.race([setup, new Promise<undefined>(resolve => setTimeout(resolve, 30_000, undefined))])
  t.ok(result && [0, 130].includes(result.exitCode ?? -1), `Ctrl-C stops contain up gracefully (exit ${result?.exitCode ?? 'none within 30 s'})`)
  t.match(output, /Goodbye!/, 'puma shut down gracefully')
}

/** Polls /up until it answers 200, the setup ends, or BOOT_LIMIT_MS passes. */
async function waitForUp(setup: ResultPromise): Promise<boolean> {
  let ended = false
  void setup.finally(() => (ended = true))
  const deadline = Date.now() + BOOT_LIMIT_MS
  while (!ended && Date.now() < deadline) {
    if ((await get('/up').catch(() => '')) !== '') return true
    await new Promise(resolve => setTimeout(resolve, 500))
  }
  return false
}

/** The body of a 200 answer from the example, or a rejection. */
async function get(path: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${EXAMPLE_PORT}${path}`, {signal: AbortSignal.timeout(2000)})
  if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status}`)
  return response.text()
}

/** Ends what the test started (setup.sh's process group), if a failed check left it running. */
async function stopGroup(setup: ResultPromise): Promise<void> {
  if (setup.exitCode !== null || setup.signalCode !== null || setup.pid === undefined) return
  try {
    process.kill(-setup.pid, 'SIGKILL')
  } catch {
    // Already gone.
  }
  await setup
}

function portInUse(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect(port, '127.0.0.1')
    socket.on('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
}
