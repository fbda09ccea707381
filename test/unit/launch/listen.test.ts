import t from 'tap'
import {InvalidValueError} from '../../../src/errors.js'
import {parseListenAddress, parseListenAddresses} from '../../../src/launch/listen-address.js'
import {holdersOfPort} from '../../../src/launch/sockets.js'

const exists = (path: string) => ['/run/app', '/', '/tmp'].includes(path)
const parse = (entry: string) => parseListenAddress('--listen', entry, exists)

t.test('tcp: IPv4 and bracketed IPv6 literals with a port; the default name is the address made LISTEN_FDNAMES-safe', async t => {
  t.strictSame(parse('tcp://127.0.0.1:3000'), {kind: 'tcp', text: 'tcp://127.0.0.1:3000', name: 'tcp-127.0.0.1-3000', host: '127.0.0.1', port: 3000})
  t.strictSame(parse('tcp://[::1]:80'), {kind: 'tcp', text: 'tcp://[::1]:80', name: 'tcp-1-80', host: '::1', port: 80})
  t.strictSame(parse('tcp://0.0.0.0:65535'), {kind: 'tcp', text: 'tcp://0.0.0.0:65535', name: 'tcp-0.0.0.0-65535', host: '0.0.0.0', port: 65535})
})

t.test('NAME= gives the LISTEN_FDNAMES entry; a name with : or another character systemd refuses is an error', async t => {
  t.match(parse('web=tcp://127.0.0.1:3000'), {name: 'web', text: 'tcp://127.0.0.1:3000'})
  t.match(parse('http_v6=tcp://[::1]:3000'), {name: 'http_v6', host: '::1'})
  t.throws(() => parse('we b=tcp://127.0.0.1:3000'), /--listen: has a name LISTEN_FDNAMES cannot carry/)
})

t.test('unix: an absolute path in an existing directory; the name never holds ":"', async t => {
  t.strictSame(parse('unix:///run/app/web.sock'), {kind: 'unix', text: 'unix:///run/app/web.sock', name: 'unix-run-app-web.sock', path: '/run/app/web.sock'})
  t.throws(() => parse('unix:///nope/web.sock'), /--listen: the directory \/nope does not exist/)
  t.throws(() => parse('unix://run/web.sock'), /needs an absolute path/)
  t.throws(() => parse('unix:///run/app/'), /needs an absolute path/)
  t.throws(() => parse('unix:///run/app/../x.sock'), /with \.\./)
  t.throws(() => parse('unix:///run//app/x.sock'), /with \.\./)
  t.throws(() => parse(`unix:///tmp/${'x'.repeat(110)}`), /longer than the kernel's 107 bytes/)
})

t.test('malformed addresses name the flag and show the forms', async t => {
  for (const entry of [
    'tcp://localhost:3000',
    'tcp://127.0.0.1',
    'tcp://127.0.0.1:0',
    'tcp://127.0.0.1:70000',
    'tcp://256.1.1.1:80',
    'tcp://[::g]:80',
    'tcp://::1:80',
    'udp://127.0.0.1:53',
    '127.0.0.1:3000',
    '',
    'tcp://127.0.0.1:3000 ',
  ]) {
    const error = t.throws(() => parse(entry)) as unknown
    t.ok(error instanceof InvalidValueError && error.field === '--listen', `${JSON.stringify(entry)}: ${(error as Error).message}`)
  }
})

t.test('the same address twice is refused', async t => {
  t.throws(() => parseListenAddresses('--listen', ['tcp://127.0.0.1:3000', 'a=tcp://127.0.0.1:3000'], exists), /given twice/)
  t.equal(parseListenAddresses('--listen', ['tcp://127.0.0.1:3000', 'tcp://[::1]:3000'], exists).length, 2)
})

t.test('holdersOfPort reads the listening inode from /proc/net/tcp and finds nothing without one', async t => {
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242424242 1 0000000000000000 100 0 0 10 0',
    '   1: 0100007F:0BB9 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0',
  ].join('\n')
  // Port 3001 is only an established connection there: no listener, no /proc scan.
  t.strictSame(
    holdersOfPort(3001, path => (path === '/proc/net/tcp' ? table : '')),
    [],
  )
  // Port 3000 listens with an inode no process of this host holds.
  t.strictSame(
    holdersOfPort(3000, path => (path === '/proc/net/tcp' ? table : '')),
    [],
  )
})
