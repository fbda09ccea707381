/**
 * The journal's native records as contain encodes them (the field forms of
 * https://systemd.io/JOURNAL_NATIVE_PROTOCOL/), the frames for contain-init datagrams, and when
 * contain takes its stdout for the journal. The forwarder and a real socket: test/integration/systemd.test.ts;
 * journald itself: test/vm/systemd.test.ts in the systemd guest.
 */
import t from 'tap'
import {encodeField, encodeLines, encodeRecord, JOURNAL_LINE_MAX, lineFields, stdoutIsJournal} from '../../../src/systemd/journal.js'

/** The records in frames, each as its fields, read back the way journald parses them. */
function decodeFrames(frames: Buffer): Array<Array<[string, Buffer]>> {
  const records: Array<Array<[string, Buffer]>> = []
  for (let at = 0; at < frames.length;) {
    const size = frames.readUInt32LE(at)
    const record = frames.subarray(at + 4, at + 4 + size)
    at += 4 + size
    const fields: Array<[string, Buffer]> = []
    for (let i = 0; i < record.length;) {
      const end = record.indexOf(0x0a, i)
      const equals = record.indexOf(0x3d, i)
      if (equals !== -1 && equals < end) {
        fields.push([record.toString('latin1', i, equals), record.subarray(equals + 1, end)])
        i = end + 1
      } else {
        const length = Number(record.readBigUInt64LE(end + 1))
        fields.push([record.toString('latin1', i, end), record.subarray(end + 9, end + 9 + length)])
        if (record[end + 9 + length] !== 0x0a) throw new Error('a binary field must end with a newline')
        i = end + 10 + length
      }
    }
    records.push(fields)
  }
  return records
}

t.test('a field: NAME=value, or the length-prefixed form when the value holds a newline', async t => {
  t.equal(encodeField('MESSAGE', 'hello').toString(), 'MESSAGE=hello\n')
  t.equal(encodeField('MESSAGE', '').toString(), 'MESSAGE=\n', 'an empty value')
  t.equal(encodeField('MESSAGE', 'a=b').toString(), 'MESSAGE=a=b\n', 'only the first = separates')
  t.strictSame(
    encodeField('MESSAGE', 'two\nlines'),
    Buffer.concat([Buffer.from('MESSAGE\n'), Buffer.from([9, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('two\nlines\n')]),
  )
  const binary = Buffer.from([0xff, 0x00, 0x0a, 0xc3])
  t.strictSame(decodeFrames(frame(encodeField('MESSAGE', binary)))[0], [['MESSAGE', binary]], 'bytes that are not UTF-8, a NUL and a newline pass unchanged')
  for (const bad of ['message', '_PID', '', 'A B', 'A=B', 'X'.repeat(65)])
    t.throws(() => encodeField(bad, 'x'), /not a journal field name/, JSON.stringify(bad))
})

function frame(record: Buffer): Buffer {
  const header = Buffer.alloc(4)
  header.writeUInt32LE(record.length)
  return Buffer.concat([header, record])
}

t.test('the fields of every line of an app: priority by stream, identifier, project and app', async t => {
  t.equal(lineFields('shop', 'web', 'out').toString(), 'PRIORITY=6\nSYSLOG_IDENTIFIER=web\nCONTAIN_PROJECT=shop\nCONTAIN_APP=web\n')
  t.equal(lineFields('shop', 'worker', 'err').toString(), 'PRIORITY=3\nSYSLOG_IDENTIFIER=worker\nCONTAIN_PROJECT=shop\nCONTAIN_APP=worker\n')
  t.strictSame(
    encodeRecord([
      ['A', '1'],
      ['B', 'x\ny'],
    ]),
    Buffer.concat([encodeField('A', '1'), encodeField('B', 'x\ny')]),
  )
})

t.test('lines: one record per line, in order, MESSAGE first, each framed by its length', async t => {
  const fields = lineFields('shop', 'web', 'err')
  const {frames, records} = encodeLines(Buffer.from('first\n\nthird \u00e9\r\n'), fields)
  t.equal(records, 3)
  const decoded = decodeFrames(frames)
  t.strictSame(
    decoded.map(record => record.map(([name, value]) => `${name}=${value.toString()}`)),
    [
      ['MESSAGE=first', 'PRIORITY=3', 'SYSLOG_IDENTIFIER=web', 'CONTAIN_PROJECT=shop', 'CONTAIN_APP=web'],
      ['MESSAGE=', 'PRIORITY=3', 'SYSLOG_IDENTIFIER=web', 'CONTAIN_PROJECT=shop', 'CONTAIN_APP=web'],
      ['MESSAGE=third \u00e9\r', 'PRIORITY=3', 'SYSLOG_IDENTIFIER=web', 'CONTAIN_PROJECT=shop', 'CONTAIN_APP=web'],
    ],
    'an empty line is a record; the bytes of a line are kept, a carriage return too',
  )
  t.equal(encodeLines(Buffer.alloc(0), fields).records, 0, 'no lines, no records')
  const forged = decodeFrames(encodeLines(Buffer.from('hi\nPRIORITY=0\nSYSLOG_IDENTIFIER=sshd\n'), fields).frames)
  t.strictSame(
    forged.map(record => record.filter(([name]) => name !== 'MESSAGE').map(([name, value]) => `${name}=${value.toString()}`)),
    Array(3).fill(['PRIORITY=3', 'SYSLOG_IDENTIFIER=web', 'CONTAIN_PROJECT=shop', 'CONTAIN_APP=web']),
    'an app cannot set a field: what looks like one is a MESSAGE of its own',
  )
})

t.test("a line longer than journald's LineMax is split into records of at most that size, as journald splits a stream", async t => {
  const line = Buffer.alloc(JOURNAL_LINE_MAX * 2 + 10, 'x')
  const {frames, records} = encodeLines(Buffer.concat([line, Buffer.from('\nshort\n')]), lineFields('p', 'a', 'out'))
  t.equal(records, 4)
  const messages = decodeFrames(frames).map(record => record[0][1].length)
  t.strictSame(messages, [JOURNAL_LINE_MAX, JOURNAL_LINE_MAX, 10, 5])
  t.ok(
    decodeFrames(frames).every(record => record.length === 5),
    'every piece carries all the fields',
  )
  t.equal(encodeLines(Buffer.from(`${'y'.repeat(JOURNAL_LINE_MAX)}\n`), lineFields('p', 'a', 'out')).records, 1, 'exactly LineMax: one record')
})

t.test('stdout is the journal only when JOURNAL_STREAM names its device and inode', async t => {
  const stdout = () => ({dev: 25n, ino: 123456n})
  t.ok(stdoutIsJournal({JOURNAL_STREAM: '25:123456'}, stdout))
  t.notOk(stdoutIsJournal({JOURNAL_STREAM: '25:123457'}, stdout), 'another stream: stdout was redirected (or up -d: its log file)')
  t.notOk(stdoutIsJournal({JOURNAL_STREAM: '26:123456'}, stdout))
  t.notOk(stdoutIsJournal({}, stdout), 'not under systemd')
  for (const bad of ['', '25', '25:', ':1', '25:12x', ' 25:123456']) t.notOk(stdoutIsJournal({JOURNAL_STREAM: bad}, stdout), JSON.stringify(bad))
  t.notOk(
    stdoutIsJournal({JOURNAL_STREAM: '25:123456'}, () => {
      throw Object.assign(new Error('closed'), {code: 'EBADF'})
    }),
    'a closed stdout',
  )
  t.ok(
    stdoutIsJournal({JOURNAL_STREAM: '18446744073709551615:1'}, () => ({dev: 18446744073709551615n, ino: 1n})),
    'numbers beyond 2^53 compared exactly',
  )
})
