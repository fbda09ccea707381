/**
 * The journal writer with the real forwarder (contain-init datagrams) and a real unix datagram
 * socket standing in for journald's: one datagram per line with the record's exact bytes, in
 * order; a journal that stops reading costs dropped, counted lines, never the supervisor's
 * memory or its event loop; a socket nobody listens on is reported once. journald itself:
 * test/systemd/units.test.ts in the systemd guest.
 */
import {execa, type ResultPromise} from 'execa'
import {mkdtempSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import t, {type Test} from 'tap'
import {encodeLines, JOURNAL_LINE_MAX, JournalWriter, lineFields} from '../../src/systemd/journal.js'
import {initBin} from './helpers.js'

/** Binds a datagram socket as journald does; prints each datagram as base64 (or, with "stall", never reads). */
const RECEIVER = `
import base64, os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
if sys.argv[2] == "stall":
    time.sleep(120)
while True:
    print(base64.b64encode(s.recv(1 << 20)).decode(), flush=True)
`

async function receiver(t: Test, socket: string, mode: 'read' | 'stall'): Promise<{datagrams: Buffer[]; child: ResultPromise}> {
  const child = execa('python3', ['-u', '-c', RECEIVER, socket, mode], {reject: false, stdin: 'ignore'})
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  const datagrams: Buffer[] = []
  await new Promise<void>((resolve, reject) => {
    createInterface({input: child.stdout}).on('line', line => (line === 'bound' ? resolve() : datagrams.push(Buffer.from(line, 'base64'))))
    void child.then(result => reject(new Error(`the receiver ended: ${result.stderr}`)))
  })
  return {datagrams, child}
}

function socketDir(t: Test): string {
  const dir = mkdtempSync('/tmp/contain-journal-')
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

t.test('one datagram per line, each exactly the encoded record, in order, across apps and streams', async t => {
  const socket = join(socketDir(t), 'socket')
  const {datagrams} = await receiver(t, socket, 'read')
  const warnings: string[] = []
  const writer = new JournalWriter('shop', {socket, init: initBin, warn: message => warnings.push(message)})
  const long = 'z'.repeat(JOURNAL_LINE_MAX + 100)
  const batches: Array<[string, 'out' | 'err', Buffer]> = [
    ['web', 'out', Buffer.from('one\ntwo\n')],
    ['web', 'err', Buffer.from('oops \u00e9\n')],
    ['worker', 'out', Buffer.from(`${long}\n\n`)],
  ]
  for (const [app, stream, lines] of batches) writer.write(app, stream, lines)
  await writer.close()
  const expected = batches.flatMap(([app, stream, lines]) => {
    const {frames} = encodeLines(lines, lineFields('shop', app, stream))
    const records: Buffer[] = []
    for (let at = 0; at < frames.length; at += 4 + frames.readUInt32LE(at)) records.push(frames.subarray(at + 4, at + 4 + frames.readUInt32LE(at)))
    return records
  })
  await until('every datagram', () => datagrams.length >= expected.length)
  t.equal(datagrams.length, 6, 'two lines, one line, a long line as two records, an empty line')
  t.strictSame(datagrams, expected, 'byte for byte, in order')
  t.match(datagrams[0].toString(), /^MESSAGE=one\nPRIORITY=6\nSYSLOG_IDENTIFIER=web\nCONTAIN_PROJECT=shop\nCONTAIN_APP=web\n$/)
  t.strictSame(warnings, [])
  t.equal(writer.dropped, 0)
})

t.test('a journal that stops reading: lines are dropped and counted, memory stays bounded, the event loop runs on', async t => {
  const socket = join(socketDir(t), 'socket')
  await receiver(t, socket, 'stall')
  const warnings: string[] = []
  const maxQueuedBytes = 256 * 1024
  const writer = new JournalWriter('shop', {socket, init: initBin, maxQueuedBytes, warn: message => warnings.push(message)})
  const lines = Buffer.from(`${'x'.repeat(99)}\n`.repeat(1000))
  const pipe = (writer as unknown as {child: {stdin: {writableLength: number}}}).child.stdin
  let slowest = 0
  let mostQueued = 0
  for (let batch = 0; batch < 400; batch++) {
    const started = process.hrtime.bigint()
    writer.write('web', 'out', lines)
    slowest = Math.max(slowest, Number(process.hrtime.bigint() - started) / 1e6)
    mostQueued = Math.max(mostQueued, pipe.writableLength)
    // Let the pipe drain into the forwarder, as the supervisor's loop does between chunks.
    await new Promise(resolve => setImmediate(resolve))
  }
  t.ok(writer.dropped > 0, `lines were dropped (${writer.dropped} of 400000)`)
  t.ok(writer.dropped < 400_000, 'not all: the socket and the pipe took some')
  t.ok(mostQueued <= maxQueuedBytes, `contain never held more than maxQueuedBytes for the journal (at most ${mostQueued})`)
  t.ok(slowest < 1000, `no write blocked the event loop (slowest ${slowest.toFixed(1)} ms)`)
  t.equal(warnings.filter(warning => /not keeping up/.test(warning)).length, 1, 'said once')
  const started = Date.now()
  await writer.close(500)
  t.match(warnings.at(-1), new RegExp(`app lines were not sent to the journal \\(${writer.dropped} in all`), 'the count, at the latest when closing')
  t.ok(Date.now() - started < 5000, 'close does not wait for a stuck journal past its timeout')
  t.equal(writer.alive, false)
})

t.test('nobody listening: the forwarder reports each refused record, contain says so once', async t => {
  const socket = join(socketDir(t), 'nobody')
  const warnings: string[] = []
  const writer = new JournalWriter('shop', {socket, init: initBin, warn: message => warnings.push(message)})
  writer.write('web', 'out', Buffer.from('a\nb\nc\n'))
  await until('three refusals', () => writer.refused === 3)
  await writer.close()
  t.equal(warnings.length, 1)
  t.match(warnings[0], /journald refused an app line \(errno 2\)/)
})

t.test('the forwarder gone: alive turns false, with one warning, and writes are ignored', async t => {
  const socket = join(socketDir(t), 'socket')
  await receiver(t, socket, 'read')
  const warnings: string[] = []
  const writer = new JournalWriter('shop', {socket, init: initBin, warn: message => warnings.push(message)})
  const pid = (writer as unknown as {child: {pid: number}}).child.pid
  process.kill(pid, 'SIGKILL')
  await until('the writer noticed', () => !writer.alive)
  t.match(warnings.join('\n'), /contain-init datagrams ended \(SIGKILL\); app lines go to stdout from now on/)
  writer.write('web', 'out', Buffer.from('after\n'))
  await writer.close()
})
