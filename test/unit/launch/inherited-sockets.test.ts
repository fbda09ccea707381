// Sockets systemd passes to contain (a .socket unit): which are contain's, which address each serves
// (read from the kernel's tables), and which listen: address takes which. A wrong match would give
// one app another app's port, or bind a port systemd already holds.
import t from 'tap'
import {
  canonicalHost,
  inheritedSockets,
  listenEnvironment,
  matchInherited,
  parseProcAddress,
  socketsByInode,
  type InheritedSocket,
} from '../../../src/launch/inherited-sockets.js'
import {parseListenAddress} from '../../../src/launch/listen-address.js'
import {existsSync} from 'node:fs'
import {createServer} from 'node:net'
import {bindSockets, holdSockets} from '../../../src/launch/sockets.js'

const address = (entry: string) => parseListenAddress('listen', entry, () => true)

t.test('listenEnvironment: only sockets addressed to this pid, names padded to the count', async t => {
  t.same(listenEnvironment({LISTEN_FDS: '2', LISTEN_PID: '42', LISTEN_FDNAMES: 'web:admin'}, 42), {count: 2, names: ['web', 'admin']})
  t.same(listenEnvironment({LISTEN_FDS: '2', LISTEN_PID: '42'}, 42), {count: 2, names: ['', '']})
  t.equal(listenEnvironment({LISTEN_FDS: '2', LISTEN_PID: '41'}, 42), undefined, "another process's sockets")
  t.equal(listenEnvironment({LISTEN_FDS: '2'}, 42), undefined, 'no LISTEN_PID: not ours')
  t.equal(listenEnvironment({LISTEN_FDS: '0', LISTEN_PID: '42'}, 42), undefined)
  t.equal(listenEnvironment({LISTEN_FDS: 'x', LISTEN_PID: '42'}, 42), undefined)
})

t.test('inheritedSockets: LISTEN_* leave the environment even when they are not ours', async t => {
  const env: NodeJS.ProcessEnv = {LISTEN_FDS: '1', LISTEN_PID: '1', LISTEN_FDNAMES: 'x', KEEP: '1'}
  t.same(inheritedSockets(env, 2), [])
  t.same(env, {KEEP: '1'})
})

t.test('parseProcAddress reads /proc/net/tcp and tcp6 addresses', async t => {
  t.same(parseProcAddress('0100007F:0BB8'), {host: '127.0.0.1', port: 3000})
  t.same(parseProcAddress('00000000:0050'), {host: '0.0.0.0', port: 80})
  t.same(parseProcAddress('00000000000000000000000001000000:1F90'), {host: '0:0:0:0:0:0:0:1', port: 8080})
  t.same(parseProcAddress('00000000000000000000000000000000:0016'), {host: '0:0:0:0:0:0:0:0', port: 22})
  t.equal(parseProcAddress('zz'), undefined)
  t.equal(canonicalHost('::1'), '0:0:0:0:0:0:0:1')
  t.equal(canonicalHost('FE80::0:1'), 'fe80:0:0:0:0:0:0:1')
  t.equal(canonicalHost('127.0.0.1'), '127.0.0.1')
})

t.test('socketsByInode: tcp, tcp6 and unix tables', async t => {
  const tcp =
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0\n'
  const tcp6 =
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000000000000000000001000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0000000000000000 100 0 0 10 0\n'
  const unix =
    'Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00010000 0001 01 3333 /run/web app.sock\n0000000000000000: 00000002 00000000 00010000 0001 01 4444\n'
  const found = socketsByInode({tcp, tcp6, unix})
  t.same(found.get('1111'), {kind: 'tcp', host: '127.0.0.1', port: 3000})
  t.same(found.get('2222'), {kind: 'tcp', host: '0:0:0:0:0:0:0:1', port: 3000})
  t.same(found.get('3333'), {kind: 'unix', path: '/run/web app.sock'})
  t.notOk(found.has('4444'), 'an unnamed socket serves no address')
  // An app's socket path with a line break in it, forging a line for another socket's inode.
  const forged = `${unix}0000000000000000: 00000002 00000000 00010000 0001 01 9999 /tmp/x\n0000000000000000: 00000002 00000000 00010000 0001 01 3333 /run/other.sock\n`
  const checked = socketsByInode({unix: forged})
  t.notOk(checked.has('3333'), 'an inode listed twice is trusted in neither line')
  t.same(checked.get('9999'), {kind: 'unix', path: '/tmp/x'})
})

t.test("matchInherited: by the kernel's address first, by name only where the kernel cannot tell, each socket once", async t => {
  const inherited: InheritedSocket[] = [
    {fd: 3, name: 'contain-shop.socket', local: {kind: 'tcp', host: '0:0:0:0:0:0:0:1', port: 3000}},
    {fd: 4, name: 'contain-shop.socket', local: {kind: 'tcp', host: '127.0.0.1', port: 3000}},
    {fd: 5, name: 'admin', local: undefined},
    {fd: 6, name: 'web', local: {kind: 'unix', path: '/run/shop/web.sock'}},
  ]
  const matched = matchInherited(
    [
      address('tcp://127.0.0.1:3000'),
      address('tcp://[::1]:3000'),
      address('unix:///run/shop/web.sock'),
      address('admin=tcp://127.0.0.1:9000'),
      address('tcp://127.0.0.1:4000'),
    ],
    inherited,
  )
  t.same(
    matched.map(socket => socket?.fd),
    [4, 3, 6, 5, undefined],
  )
  t.same(
    matchInherited([address('web=tcp://127.0.0.1:3001')], inherited).map(socket => socket?.fd),
    [undefined],
    "a name does not win over the kernel's address: fd 6 is a unix socket",
  )
  t.same(
    matchInherited([address('tcp://127.0.0.1:3000'), address('tcp://127.0.0.1:3000')], inherited).map(socket => socket?.fd),
    [4, undefined],
    'one socket, one address',
  )
  t.same(
    matchInherited([address('tcp://0.0.0.0:3000')], inherited).map(socket => socket?.fd),
    [undefined],
    'another host of the same port is another address',
  )
})

t.test('holdSockets: an inherited socket is used as is and never closed; the rest are bound here and closed', async t => {
  const free = async () => {
    const server = createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as {port: number}
    await new Promise(resolve => server.close(resolve))
    return port
  }
  const [portA, portB] = [await free(), await free()]
  const [a, b] = [address(`tcp://127.0.0.1:${portA}`), address(`tcp://127.0.0.1:${portB}`)]
  // What systemd would hold: a socket bound elsewhere, passed in by fd.
  const systemd = await bindSockets([a])
  t.teardown(() => systemd.close())
  const isOpen = (fd: number) => existsSync(`/proc/self/fd/${fd}`)
  const held = await holdSockets([a, b], 'apps.web.listen', [{fd: systemd.fds[0], name: 'web', local: {kind: 'tcp', host: '127.0.0.1', port: portA}}])
  t.equal(held.fds[0], systemd.fds[0], 'the inherited socket, not a new one')
  t.not(held.fds[1], systemd.fds[0])
  t.ok(isOpen(held.fds[1]), 'the other address was bound here')
  held.close()
  t.ok(isOpen(systemd.fds[0]), 'close() leaves the inherited socket open')
  t.notOk(isOpen(held.fds[1]), 'and closes what it bound')
  const none = await holdSockets([b], 'apps.web.listen', [])
  t.equal(none.fds.length, 1, 'nothing inherited: everything bound, as before')
  none.close()
})
