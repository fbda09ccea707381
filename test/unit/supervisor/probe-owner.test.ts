import {connect, createServer, type Socket} from 'node:net'
import t from 'tap'
import {acceptedByInstance, acceptedInode, holdsSocket} from '../../../src/supervisor/probe-owner.js'

const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 152 1 0000000073fe1068 100 0 0 10 0
   1: 0100007F:0BB8 0100007F:C74C 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000039149e17
   2: 0100007F:0BB8 0100007F:C58A 01 00000000:00000000 00:00000000 00000000     0        0 4711 1 00000000d4876de3
   3: 0100007F:C58A 0100007F:0BB8 01 00000000:00000000 00:00000000 00000000     0        0 4712 1 00000000d4876de3
`

t.test('acceptedInode: the server end of one connection, by its two ports; 0 while it waits in the queue', async t => {
  const read = (path: string) => (path === '/proc/net/tcp' ? TABLE : '')
  t.equal(acceptedInode(3000, 0xc58a, read), 4711, 'accepted: the server end has its inode (not the client end 4712)')
  t.equal(acceptedInode(3000, 0xc74c, read), 0, 'not accepted yet: no inode')
  t.equal(acceptedInode(3001, 0xc58a, read), 0, 'another port')
})

t.test('for real: the process that accepted a connection holds it, another does not', async t => {
  const accepted: Socket[] = []
  const server = createServer(socket => accepted.push(socket))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of accepted) socket.destroy()
    server.close()
  })
  const {port} = server.address() as {port: number}
  const client = connect({host: '127.0.0.1', port})
  t.teardown(() => client.destroy())
  await new Promise(resolve => client.once('connect', resolve))
  t.equal(await acceptedByInstance(port, client.localPort ?? 0, () => [process.pid], Date.now() + 5000), true, 'this process accepted it')
  t.equal(await acceptedByInstance(port, client.localPort ?? 0, () => [1], Date.now() + 5000), false, 'pid 1 did not')
  const inode = acceptedInode(port, client.localPort ?? 0)
  t.ok(inode > 0)
  t.ok(holdsSocket([process.pid], inode))
})
