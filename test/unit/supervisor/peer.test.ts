import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {createConnection, createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import t from 'tap'
import {ContainError} from '../../../src/errors.js'
import {checkPeer, parsePeerCredentials, peerCredentials} from '../../../src/supervisor/peer.js'
import {thrown} from '../helpers/errors.js'

t.test('contain-init peercred prints UID GID PID; anything else is not an answer', async t => {
  t.strictSame(parsePeerCredentials('0 0 1234\n'), {uid: 0, gid: 0, pid: 1234})
  t.strictSame(parsePeerCredentials('1000 1001 0\n'), {uid: 1000, gid: 1001, pid: 0}, 'a peer in another pid namespace shows as pid 0')
  for (const text of ['', '0 0\n', 'x 0 1\n', '0 0 1 2\n', '0 0 1\n\n']) t.equal(parsePeerCredentials(text), undefined, JSON.stringify(text))
})

t.test('root and the caller itself are trusted; another user is refused with its uid and pid', async t => {
  t.doesNotThrow(() => checkPeer('/run/contain/p/control.sock', {uid: 0, gid: 0, pid: 1}, 1000))
  t.doesNotThrow(() => checkPeer('/run/user/1000/contain/p/control.sock', {uid: 1000, gid: 1000, pid: 2}, 1000))
  const error = thrown(() => checkPeer('/tmp/s/control.sock', {uid: 65534, gid: 65534, pid: 77}, 1000)) as ContainError
  t.type(error, ContainError)
  t.equal(error.exitCode, 125)
  t.match(error.message, 'the control socket /tmp/s/control.sock is served by uid 65534 (pid 77), not by root or by you (uid 1000)')
  const rootCaller = thrown(() => checkPeer('/run/contain/p/control.sock', {uid: 1000, gid: 1000, pid: 3}, 0))
  t.match(rootCaller.message, 'served by uid 1000', "root does not trust a user's socket either")
})

// The real helper, where it is built (npm run build; npm test always builds first).
const helper = join(dirname(fileURLToPath(import.meta.url)), '../../../native/build/contain-init')
t.test(
  'the native helper reads the credentials of the very connection',
  {skip: existsSync(helper) ? false : 'native/build/contain-init is not built (npm run build)'},
  async t => {
    const dir = mkdtempSync(join(tmpdir(), 'contain-peer-'))
    t.teardown(() => rmSync(dir, {recursive: true, force: true}))
    const path = join(dir, 's')
    const server = createServer(socket => socket.end())
    await new Promise<void>(resolve => server.listen(path, resolve))
    t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
    const connection = createConnection(path)
    await new Promise(resolve => connection.once('connect', resolve))
    t.teardown(() => connection.destroy())
    t.strictSame(
      await peerCredentials(connection, helper),
      {uid: process.getuid?.(), gid: process.getgid?.(), pid: process.pid},
      'this process serves the socket',
    )
  },
)
