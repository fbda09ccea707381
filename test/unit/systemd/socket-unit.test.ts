/**
 * `contain systemd --socket-units`: the .socket unit beside the service, holding the apps' listen:
 * addresses with the settings contain uses when it binds them, and the service requiring it.
 * (systemd-analyze verify and a real systemd run it in test/systemd/units.test.ts.)
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {loadProject} from '../../../src/config/project.js'
import {systemdUnit} from '../../../src/systemd/generate.js'
import {listenStream, renderSocketUnit} from '../../../src/systemd/socket-unit.js'
import {renderUnit} from '../../../src/systemd/unit.js'
import {parseListenAddress} from '../../../src/launch/listen-address.js'
import {rejection} from '../helpers/errors.js'

const NODE = '/usr/bin/node'
const BIN = '/opt/contain/bin/run.js'

function settings(text: string): Record<string, string[]> {
  const found: Record<string, string[]> = {}
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z0-9]+)=(.*)$/.exec(line)
    if (match) (found[match[1]] ??= []).push(match[2])
  }
  return found
}

// A unix socket's path is at most 107 bytes: tap's test directories are longer, /tmp exists everywhere.
const yaml = () => `name: shop
apps:
  web:
    command: bundle exec rails s
    listen: ["tcp://127.0.0.1:3000", "tcp://[::1]:3000", "unix:///tmp/shop-web.sock"]
  admin:
    command: ruby admin.rb
    listen: ["admin=tcp://0.0.0.0:9000"]
  worker:
    command: ruby worker.rb
`

t.test('listenStream: IPv4, bracketed IPv6 and a path, % doubled', async t => {
  const parse = (entry: string) => parseListenAddress('listen', entry, () => true)
  t.equal(listenStream(parse('tcp://127.0.0.1:3000')), '127.0.0.1:3000')
  t.equal(listenStream(parse('tcp://[::1]:80')), '[::1]:80')
  t.equal(listenStream(parse('unix:///run/a%b.sock')), '/run/a%%b.sock')
})

t.test('a .socket unit per service with every address of its apps; the service requires it', async t => {
  const dir = t.testdir({})
  const {writeFileSync} = await import('node:fs')
  writeFileSync(join(dir, 'contain.yml'), yaml())
  const shop = await loadProject(join(dir, 'contain.yml'))
  const unit = renderUnit({project: shop, apps: ['web', 'admin', 'worker'], user: false, node: NODE, containBin: BIN, socketUnits: true})
  t.equal(unit.socket?.name, 'contain-shop.socket', "the service's name: systemd passes its sockets to contain-shop.service")
  const s = settings(unit.socket?.text ?? '')
  t.same(s.ListenStream, ['127.0.0.1:3000', '[::1]:3000', '/tmp/shop-web.sock', '0.0.0.0:9000'], "every app's addresses, in order")
  t.same(s.BindIPv6Only, ['ipv6-only'])
  t.same(s.Backlog, ['4096'])
  t.same(s.SocketMode, ['0666'])
  t.same(s.RemoveOnStop, ['yes'])
  t.same(s.FileDescriptorName, undefined, 'one name for several sockets would say nothing: contain matches by address')
  t.same(s.WantedBy, ['sockets.target'])
  const service = settings(unit.text)
  t.same(service.Requires, ['contain-shop.socket'])
  t.same(service.After, ['network-online.target', 'contain-shop.socket'])
  t.match(unit.text, /--socket-units/, 'the command that wrote it says how')

  const one = renderSocketUnit(shop, ['admin'], 'contain-shop-admin.service', 'contain systemd admin --socket-units')
  t.same(settings(one?.text ?? '').FileDescriptorName, ['admin'], 'one socket: named as contain names it in LISTEN_FDNAMES')
  t.equal(renderSocketUnit(shop, ['worker'], 'contain-shop-worker.service', 'x'), undefined, 'no listen: no socket unit')
  const plain = renderUnit({project: shop, apps: ['web'], user: false, node: NODE, containBin: BIN})
  t.equal(plain.socket, undefined, 'off by default')
  t.same(settings(plain.text).Requires, undefined)
})

t.test('--output writes the socket unit beside the service; no listen: is an error naming the flag', async t => {
  const dir = t.testdir({})
  const {writeFileSync} = await import('node:fs')
  writeFileSync(join(dir, 'contain.yml'), yaml())
  const written = await systemdUnit({cwd: dir, apps: ['web'], user: false, node: NODE, containBin: BIN, socketUnits: true, output: 'out.service'})
  t.equal(written.socketFile, join(dir, 'contain-shop-web.socket'))
  t.ok(existsSync(join(dir, 'out.service')))
  t.match(readFileSync(join(dir, 'contain-shop-web.socket'), 'utf8'), /^ListenStream=127\.0\.0\.1:3000$/m)
  const error = await rejection(systemdUnit({cwd: dir, apps: ['worker'], user: false, socketUnits: true}))
  t.match(error.message, /--socket-units: no app of worker has listen: addresses/)
})
