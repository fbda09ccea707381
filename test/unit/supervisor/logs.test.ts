import {existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {PassThrough, Writable} from 'node:stream'
import t from 'tap'
import {FileError, InvalidValueError} from '../../../src/errors.js'
import {
  AppLog,
  LastLines,
  collectLastRecords,
  closeLogFiles,
  firstRecordSince,
  openLogFiles,
  formatLogLine,
  lastLinesOf,
  nodeLogFileSystem,
  parseLogLine,
  printLogRecords,
  readLastLines,
  rotatedPath,
  textOfRecords,
  type LogFileSystem,
  type LogOptions,
} from '../../../src/supervisor/logs.js'
import {thrown} from '../helpers/errors.js'
import type {TestContext} from '../helpers/tap.js'

const T0 = Date.UTC(2026, 10, 29, 5, 45, 12, 123)
const fixedClock = () => T0

/** A log in a fresh folder, with the app's two pipes attached. */
function setup(t: TestContext, options: Partial<LogOptions> = {}) {
  const dir = t.testdir()
  const file = join(dir, 'app.log')
  const log = new AppLog({file, now: fixedClock, ...options})
  const out = new PassThrough()
  const err = new PassThrough()
  log.attach(out, 'out')
  log.attach(err, 'err')
  return {dir, file, log, out, err}
}

/** Lets the streams deliver what was written to them, then waits for the log to write it. */
async function written(log: AppLog): Promise<void> {
  await new Promise(resolve => setImmediate(resolve))
  await log.flush()
}

/** Every file of the log, oldest first, as one string. */
function readAll(file: string, maxFiles = 5): string {
  let text = ''
  for (let index = maxFiles - 1; index >= 0; index--) {
    const path = rotatedPath(file, index)
    if (existsSync(path)) text += readFileSync(path, 'utf8')
  }
  return text
}

/** The records of every file, oldest first, without their newlines. */
function records(file: string, maxFiles = 5): string[] {
  return readAll(file, maxFiles).split('\n').slice(0, -1)
}

const stamp = (stream: string, text: string) => `2026-11-29T05:45:12.123Z ${stream} ${text}`

t.test('each line is written with its time and stream', async t => {
  const {file, log, out, err} = setup(t)
  out.write('hello\n')
  err.write('oops\n')
  out.write('\n')
  await written(log)
  await log.close()
  t.equal(readFileSync(file, 'utf8'), `${stamp('out', 'hello')}\n${stamp('err', 'oops')}\n${stamp('out', '')}\n`)
})

t.test('a partial line waits for its newline, across chunks', async t => {
  const {file, log, out} = setup(t)
  out.write('hel')
  out.write('lo\nwor')
  await written(log)
  t.strictSame(records(file), [stamp('out', 'hello')], 'the unfinished line is not written yet')
  out.write('l')
  out.write('d\nlast')
  out.end()
  await new Promise(resolve => setImmediate(resolve))
  await written(log)
  await log.close()
  t.strictSame(records(file), [stamp('out', 'hello'), stamp('out', 'world'), stamp('out', 'last')], 'the end of the stream flushes the last partial line')
})

t.test('close writes partial lines of streams that have not ended', async t => {
  const {file, log, out, err} = setup(t)
  out.write('no newline')
  err.write('half')
  await written(log)
  await log.close()
  t.strictSame(records(file).sort(), [stamp('err', 'half'), stamp('out', 'no newline')])
  out.write('after close\n')
  await written(log)
  t.equal(records(file).length, 2, 'nothing is written after close')
})

t.test('CRLF is kept as text', async t => {
  const {file, log, out} = setup(t)
  out.write('dos\r\nline\r\n')
  await written(log)
  await log.close()
  t.equal(readFileSync(file, 'utf8'), `${stamp('out', 'dos\r')}\n${stamp('out', 'line\r')}\n`)
  t.strictSame(
    readLastLines(file).map(line => line.text),
    ['dos\r', 'line\r'],
  )
})

t.test('a 1 MiB line is written whole, whatever the chunks', async t => {
  const {file, log, out} = setup(t)
  const line = Buffer.alloc(2 ** 20, 'x')
  for (let i = 0; i < line.length; i += 65536) out.write(line.subarray(i, i + 65536))
  out.write('\nnext\n')
  await written(log)
  await log.close()
  const lines = records(file)
  t.equal(lines.length, 2)
  t.equal(lines[0], stamp('out', line.toString()))
  t.equal(lines[1], stamp('out', 'next'))
})

t.test('a line longer than a whole file gets a file of its own', async t => {
  const {file, log, out} = setup(t, {maxSizeBytes: 1000, maxFiles: 3})
  out.write('short\n')
  out.write(`${'y'.repeat(5000)}\n`)
  out.write('after\n')
  await written(log)
  await log.close()
  t.strictSame(readFileSync(rotatedPath(file, 2), 'utf8'), `${stamp('out', 'short')}\n`)
  t.strictSame(readFileSync(rotatedPath(file, 1), 'utf8'), `${stamp('out', 'y'.repeat(5000))}\n`)
  t.strictSame(readFileSync(file, 'utf8'), `${stamp('out', 'after')}\n`)
})

t.test('multi-byte UTF-8 split across chunks at every byte is written intact', async t => {
  const text = 'é€😀 naïve 日本語'
  const bytes = Buffer.from(`${text}\n`)
  for (let cut = 1; cut < bytes.length; cut++) {
    const {file, log, out} = setup(t)
    out.write(bytes.subarray(0, cut))
    out.write(bytes.subarray(cut))
    await written(log)
    await log.close()
    t.equal(readFileSync(file, 'utf8'), `${stamp('out', text)}\n`, `cut at byte ${cut}`)
  }
})

t.test('stdout and stderr interleave by whole lines', async t => {
  const {file, log, out, err} = setup(t)
  out.write('out-1 begins')
  err.write('err-1\nerr-2 beg')
  out.write(' and ends\n')
  err.write('ins\n')
  await written(log)
  await log.close()
  t.strictSame(records(file), [stamp('err', 'err-1'), stamp('out', 'out-1 begins and ends'), stamp('err', 'err-2 begins')])
})

t.test('echo receives the same complete lines, without timestamps', async t => {
  const dir = t.testdir()
  const log = new AppLog({file: join(dir, 'app.log'), now: fixedClock})
  const out = new PassThrough()
  const echoed: string[] = []
  log.attach(out, 'out', lines => echoed.push(lines.toString()))
  out.write('a\nb')
  out.write('c\nd\n')
  out.write('tail')
  await written(log)
  await log.close()
  t.equal(echoed.join(''), 'a\nbc\nd\ntail\n')
})

t.test('a burst of 1,000,000 lines loses none', async t => {
  const {file, log, out} = setup(t, {now: Date.now, maxSizeBytes: 4 * 2 ** 20, maxFiles: 20})
  const total = 1_000_000
  let text = ''
  for (let i = 1; i <= total; i++) {
    text += `line ${i}\n`
    if (text.length > 60_000) {
      out.write(text)
      text = ''
    }
  }
  out.write(text)
  out.end()
  await new Promise(resolve => out.once('end', resolve))
  await written(log)
  await log.close()
  const lines = records(file, 20)
  t.equal(lines.length, total, 'every line is in the files')
  let inOrder = true
  for (let i = 0; i < total && inOrder; i++) inOrder = lines[i].endsWith(` out line ${i + 1}`) && parseLogLine(lines[i]).time.length === 24
  t.ok(inOrder, 'in order, each line whole and timestamped')
  t.ok(existsSync(rotatedPath(file, 1)), 'the burst rotated')
})

t.test('one chunk larger than the formatting window, with long and short lines mixed', async t => {
  const {file, log, out} = setup(t, {maxFiles: 1})
  const texts: string[] = []
  for (let i = 0; i < 60_000; i++) texts.push(i % 1000 === 0 ? `long ${i} ${'w'.repeat(70_000)}` : `${i}`)
  out.write(`${texts.join('\n')}\n`)
  await written(log)
  await log.close()
  const lines = records(file, 1)
  t.equal(lines.length, texts.length)
  t.ok(
    lines.every((line, i) => line === stamp('out', texts[i])),
    'every line whole, in order',
  )
})

t.test('every byte value, every line length and clocks from year 0000 to 9999 match a plain formatter, across slab ends', async t => {
  // Times from the first to the last millisecond an ISO string of 24 characters can show.
  const clocks = [0, 1, 86_399_999, T0, Date.UTC(2038, 0, 19, 3, 14, 8), 253402300799999, -5, 1e16]
  let tick = 0
  const {file, log, out, err} = setup(t, {now: () => clocks[tick++ % clocks.length], maxSizeBytes: 64 * 2 ** 20, maxFiles: 1})
  let seed = 7
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
  const expected: Buffer[] = []
  let total = 0
  // About 9 MiB once formatted: more than two 4 MiB slabs, so lines land at every slab end.
  while (total < 9 * 2 ** 20) {
    const lines: Buffer[] = []
    const count = 1 + random(400)
    for (let i = 0; i < count; i++) {
      const line = Buffer.alloc(random(5) === 0 ? random(3000) : random(12))
      for (let j = 0; j < line.length; j++) line[j] = (random(255) + 11) % 256 === 10 ? 0xff : (random(255) + 11) % 256
      lines.push(line)
    }
    const stream = random(2) === 0 ? 'out' : 'err'
    const ms = clocks[tick % clocks.length]
    const iso = new Date(Math.min(Math.max(Math.floor(ms), 0), 253402300799999)).toISOString()
    for (const line of lines) {
      const record = Buffer.concat([Buffer.from(`${iso} ${stream} `, 'latin1'), line, Buffer.from('\n')])
      expected.push(record)
      total += record.length
    }
    ;(stream === 'out' ? out : err).write(Buffer.concat(lines.flatMap(line => [line, Buffer.from('\n')])))
    await written(log)
  }
  await log.close()
  const actual = readFileSync(file)
  const wanted = Buffer.concat(expected)
  t.equal(actual.length, wanted.length, 'as many bytes as a plain formatter writes')
  t.ok(actual.equals(wanted), 'the same bytes')
})

t.test('lastLinesOf: the last N complete lines, empty lines and a leading newline included', async t => {
  const last = (text: string, count: number) => lastLinesOf(Buffer.from(text), count).toString()
  t.equal(last('a\nb\nc\n', 2), 'b\nc\n')
  t.equal(last('a\nb\nc\n', 3), 'a\nb\nc\n')
  t.equal(last('a\nb\nc\n', 20), 'a\nb\nc\n', 'fewer lines than asked: all of them')
  t.equal(last('\nb\n', 1), 'b\n', 'a newline at offset 0 ends a line')
  t.equal(last('\nb\n', 2), '\nb\n')
  t.equal(last('a\n\n', 1), '\n', 'an empty line is a line')
  t.equal(last('', 3), '')
})

t.test('rotation keeps maxFiles files, each within the size, and never splits a line', async t => {
  const {file, dir, log, out} = setup(t, {maxSizeBytes: 1000, maxFiles: 3})
  for (let i = 1; i <= 500; i++) out.write(`line ${i}${i % 7 === 0 ? ' and a little more text' : ''}\n`)
  await written(log)
  await log.close()
  t.ok(existsSync(rotatedPath(file, 2)))
  t.notOk(existsSync(rotatedPath(file, 3)), 'the oldest file was deleted')
  t.strictSame(readdir(dir), ['app.log', 'app.log.1', 'app.log.2'])
  for (let index = 0; index < 3; index++) {
    const content = readFileSync(rotatedPath(file, index), 'utf8')
    t.ok(statSync(rotatedPath(file, index)).size <= 1000, `${rotatedPath(file, index)} is within 1000 bytes`)
    t.ok(content.endsWith('\n'), 'ends with a whole line')
    for (const line of content.split('\n').slice(0, -1)) t.match(line, /^2026-11-29T05:45:12\.123Z out line \d+( and a little more text)?$/)
  }
  const numbers = records(file, 3).map(line => Number(/line (\d+)/.exec(line)?.[1]))
  t.equal(numbers.at(-1), 500, 'ends with the last line')
  t.ok(
    numbers.every((n, i) => i === 0 || n === numbers[i - 1] + 1),
    'the files hold consecutive lines',
  )
})

function readdir(dir: string): string[] {
  return readdirSync(dir).sort()
}

t.test('an existing log is appended to, and counts toward the size', async t => {
  const dir = t.testdir({'app.log': `${stamp('out', 'from before')}\n`})
  const file = join(dir, 'app.log')
  const log = new AppLog({file, now: fixedClock, maxSizeBytes: 70})
  const out = new PassThrough()
  log.attach(out, 'out')
  out.write('new\n')
  await written(log)
  await log.close()
  t.equal(readFileSync(rotatedPath(file, 1), 'utf8'), `${stamp('out', 'from before')}\n`)
  t.equal(readFileSync(file, 'utf8'), `${stamp('out', 'new')}\n`)
})

t.test('a line without a newline beyond maxLineBytes is written in pieces, nothing lost', async t => {
  const {file, log, out} = setup(t, {maxLineBytes: 100})
  out.write('z'.repeat(250))
  out.write('\n')
  await written(log)
  await log.close()
  const texts = records(file).map(line => parseLogLine(line).text)
  t.equal(texts.join(''), 'z'.repeat(250))
  t.ok(texts.length >= 2)
})

/** A disk that fills up: writes fail with ENOSPC while `full`, after writing `room` bytes (a short write). */
function fillingDisk() {
  const disk = {full: false, room: 0, writes: 0}
  const fs: LogFileSystem = {
    ...nodeLogFileSystem,
    writev(fd, buffers, callback) {
      disk.writes++
      if (!disk.full) return nodeLogFileSystem.writev(fd, buffers, callback)
      if (disk.room > 0) {
        const part = Buffer.concat(buffers).subarray(0, disk.room)
        disk.room = 0
        return nodeLogFileSystem.writev(fd, [part], callback)
      }
      const error = Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC', errno: -28})
      setImmediate(() => callback(error, 0))
    },
  }
  return {disk, fs}
}

t.test('a failing write is reported once, the pipe keeps flowing, and recovery reports the dropped lines', async t => {
  const {disk, fs} = fillingDisk()
  const errors: Error[] = []
  const recovered: number[] = []
  const {file, log, out} = setup(t, {fs, onError: error => errors.push(error), onRecovered: dropped => recovered.push(dropped)})
  out.write('before 1\nbefore 2\n')
  await written(log)
  disk.full = true
  disk.room = 60 // the first failing write gets one whole line and a piece of the next one in
  out.write('lost 1 is long enough\nlost 2\n')
  await written(log)
  for (let i = 3; i <= 5; i++) {
    t.ok(out.write(`lost ${i}\n`), 'the pipe is never paused')
    await written(log)
  }
  t.equal(errors.length, 1, 'reported once')
  t.type(errors[0], FileError)
  t.match(errors[0].message, /app\.log: cannot write the log: ENOSPC/)
  t.match((errors[0] as FileError).fix, /free space/)
  t.strictSame(recovered, [])
  disk.full = false
  out.write('after 1\n')
  await written(log)
  await log.close()
  t.strictSame(recovered, [4], 'the 4 lines that did not fit are reported dropped')
  t.strictSame(
    records(file).map(line => parseLogLine(line).text),
    ['before 1', 'before 2', 'lost 1 is long enough', 'after 1'],
    'the line that fit is kept, the cut-off piece is removed, then writing resumes',
  )
})

t.test('a disk that fails without a short write drops whole chunks and recovers', async t => {
  const {disk, fs} = fillingDisk()
  const errors: Error[] = []
  const recovered: number[] = []
  const {file, log, out, err} = setup(t, {fs, onError: error => errors.push(error), onRecovered: dropped => recovered.push(dropped)})
  disk.full = true
  out.write('a\nb\n')
  err.write('c\n')
  await written(log)
  disk.full = false
  out.write('d\n')
  await written(log)
  disk.full = true
  out.write('e\n')
  await written(log)
  disk.full = false
  out.write('f\n')
  await written(log)
  await log.close()
  t.equal(errors.length, 2, 'once per failure episode')
  t.strictSame(recovered, [3, 1])
  t.strictSame(
    records(file).map(line => parseLogLine(line).text),
    ['d', 'f'],
  )
})

t.test('a slow disk pauses the pipes beyond maxQueuedBytes and resumes them', async t => {
  const gate: (() => void)[] = []
  const fs: LogFileSystem = {...nodeLogFileSystem, writev: (fd, buffers, callback) => gate.push(() => nodeLogFileSystem.writev(fd, buffers, callback))}
  const {file, log, out} = setup(t, {fs, maxQueuedBytes: 100})
  out.write('first line\n')
  out.write(`${'q'.repeat(200)}\n`)
  await new Promise(resolve => setImmediate(resolve))
  t.ok(out.isPaused(), 'paused while the disk is behind')
  while (gate.length > 0 || out.isPaused()) {
    gate.shift()?.()
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  t.notOk(out.isPaused(), 'resumed')
  const closing = log.close()
  while (gate.length > 0) {
    gate.shift()?.()
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  await closing
  t.equal(records(file).length, 2)
})

t.test('options are checked up front and name the field', async t => {
  const dir = t.testdir()
  const file = join(dir, 'app.log')
  for (const [field, value] of [
    ['maxSizeBytes', 0],
    ['maxFiles', 1.5],
    ['maxLineBytes', -1],
    ['maxQueuedBytes', Number.NaN],
  ] as const) {
    const error = thrown(() => new AppLog({file, [field]: value}))
    t.type(error, InvalidValueError)
    t.match(error.message, new RegExp(`^${field}: must be a whole number`))
  }
  t.type(
    thrown(() => new AppLog({file, now: fixedClock}).attach(new PassThrough(), 'both' as 'out')),
    InvalidValueError,
  )
  writeFileSync(join(dir, 'not-a-dir'), '')
  const error = thrown(() => new AppLog({file: join(dir, 'not-a-dir', 'app.log')}))
  t.type(error, FileError)
  t.match(error.message, /not-a-dir\/app\.log: cannot open the log/)
})

// -------------------------------------------------------------------------------------------------
// Reading

/** A rotated log: app.log.2 (oldest) .. app.log, one line per second from T0, 10 lines a file. */
function rotatedLog(t: TestContext) {
  const files: Record<string, string> = {}
  for (let index = 2, n = 1; index >= 0; index--) {
    let content = ''
    for (let i = 0; i < 10; i++, n++) content += `${new Date(T0 + n * 1000).toISOString()} ${n % 3 === 0 ? 'err' : 'out'} line ${n}\n`
    files[index === 0 ? 'app.log' : `app.log.${index}`] = content
  }
  const dir = t.testdir(files)
  return join(dir, 'app.log')
}

t.test('readLastLines: the last N lines across rotated files, oldest first', async t => {
  const file = rotatedLog(t)
  t.strictSame(
    readLastLines(file, {lines: 12}).map(line => line.text),
    Array.from({length: 12}, (_, i) => `line ${19 + i}`),
  )
  t.equal(readLastLines(file).length, 30, 'all lines without -n')
  t.equal(readLastLines(file, {maxFiles: 2}).length, 20, 'only the files the log keeps')
  t.strictSame(readLastLines(file, {lines: 0}), [])
  const [line] = readLastLines(file, {lines: 1})
  t.strictSame(line, {time: new Date(T0 + 30_000).toISOString(), stream: 'err', text: 'line 30'})
})

t.test('readLastLines: --since, alone and with -n', async t => {
  const file = rotatedLog(t)
  const since = new Date(T0 + 15_000)
  t.strictSame(
    readLastLines(file, {since}).map(line => line.text),
    Array.from({length: 16}, (_, i) => `line ${15 + i}`),
  )
  t.equal(readLastLines(file, {since, lines: 3}).length, 3)
  t.strictSame(readLastLines(file, {since: new Date(T0 + 60_000)}), [])
})

t.test('readLastLines: timestamps kept or stripped for display', async t => {
  const file = rotatedLog(t)
  const [line] = readLastLines(file, {lines: 1})
  t.equal(formatLogLine(line), 'line 30')
  t.equal(formatLogLine(line, true), `${new Date(T0 + 30_000).toISOString()} line 30`)
})

t.test('readLastLines: a last line still being written is not returned', async t => {
  const dir = t.testdir({'app.log': `${stamp('out', 'done')}\n${stamp('out', 'in progr')}`})
  t.strictSame(
    readLastLines(join(dir, 'app.log')).map(line => line.text),
    ['done'],
  )
})

t.test('readLastLines: lines longer than the read block, and a log with none yet', async t => {
  const long = 'L'.repeat(300_000)
  const dir = t.testdir({'app.log': `${stamp('out', 'first')}\n${stamp('err', long)}\n${stamp('out', 'last')}\n`})
  t.strictSame(
    readLastLines(join(dir, 'app.log'), {lines: 2}).map(line => line.text.length),
    [300_000, 4],
  )
  t.strictSame(
    readLastLines(join(dir, 'app.log')).map(line => line.text.slice(0, 5)),
    ['first', 'LLLLL', 'last'],
  )
  t.strictSame(readLastLines(join(dir, 'missing.log')), [])
})

t.test('readLastLines: options are checked', async t => {
  t.match(thrown(() => readLastLines('/nonexistent/app.log', {lines: -1})).message, /^lines: /)
  t.match(thrown(() => readLastLines('/nonexistent/app.log', {since: new Date('nope')})).message, /^since: /)
  t.match(thrown(() => readLastLines('/nonexistent/app.log', {maxFiles: 0})).message, /^maxFiles: /)
})

t.test('parseLogLine keeps a line in another format as text', async t => {
  t.strictSame(parseLogLine('plain text'), {time: '', stream: 'out', text: 'plain text'})
  t.strictSame(parseLogLine(stamp('err', '')), {time: '2026-11-29T05:45:12.123Z', stream: 'err', text: ''})
})

t.test('the whole path: AppLog writes, readLastLines reads it back', async t => {
  let now = T0
  const {file, log, out, err} = setup(t, {now: () => now, maxSizeBytes: 200, maxFiles: 4})
  for (let i = 1; i <= 12; i++) {
    now = T0 + i * 1000
    ;(i % 2 ? out : err).write(`message ${i}\n`)
    await written(log)
  }
  await written(log)
  await log.close()
  const lines = readLastLines(file, {maxFiles: 4, since: new Date(T0 + 8000)})
  t.strictSame(
    lines.map(line => `${line.stream} ${line.text}`),
    ['err message 8', 'out message 9', 'err message 10', 'out message 11', 'err message 12'],
  )
})

/** Records of every kind textOfRecords must tell apart: both streams, other formats, near misses, empty and long texts, invalid UTF-8. */
function mixedRecords(): Buffer {
  const texts = ['', 'a', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(65), 'é ü', 'L'.repeat(5000)]
  const parts: Buffer[] = []
  let n = 0
  for (const text of texts) {
    for (const stream of ['out', 'err']) parts.push(Buffer.from(`${new Date(T0 + n++).toISOString()} ${stream} ${text}\n`))
    parts.push(Buffer.from(`${text}\n`)) // another format
  }
  parts.push(Buffer.from('short\n2026-11-29T05:45:12.123Z out after a short line\n')) // a prefix that starts inside the line before
  parts.push(Buffer.from('2026-11-29T05:45:12.123Z bad x\n2026-11-29T05:45:12.123Zxout x\n2026-11-29T05:45:12.123Z out\n'))
  parts.push(Buffer.from([0xff, 0xfe, 0x0a]), Buffer.concat([Buffer.from('2026-11-29T05:45:12.123Z err '), Buffer.from([0xc3, 0x0a])]))
  return Buffer.concat(parts)
}

t.test('textOfRecords prints what formatLogLine prints, by stream and in order, without decoding', async t => {
  const records = mixedRecords()
  for (const timestamps of [false, true]) {
    const runs = textOfRecords(records, timestamps)
    for (let i = 1; i < runs.length; i++) t.not(runs[i].stream, runs[i - 1].stream, 'consecutive records of one stream are one run')
    const lines: string[] = []
    for (const {stream, text} of runs) for (const line of text.toString('latin1').split('\n').slice(0, -1)) lines.push(`${stream} ${line}`)
    const expected = records
      .toString('latin1')
      .split('\n')
      .slice(0, -1)
      .map(raw => {
        const line = parseLogLine(raw)
        return `${line.stream} ${formatLogLine(line, timestamps)}`
      })
    t.strictSame(lines, expected, timestamps ? 'with -t' : 'without -t')
  }
})

t.test('printLogRecords writes stdout and stderr lines to their own streams, waiting for a full one', async t => {
  const out = new PassThrough({highWaterMark: 4})
  const err = new PassThrough()
  const outText: Buffer[] = []
  const printing = printLogRecords(Buffer.from(`${stamp('out', 'one')}\n${stamp('err', 'two')}\n${stamp('out', 'three')}\n`), false, {out, err})
  await new Promise(resolve => setImmediate(resolve))
  t.equal(err.read(), null, 'stderr waits while stdout is full: the order is kept')
  out.on('data', (chunk: Buffer) => outText.push(chunk))
  await printing
  t.equal(Buffer.concat(outText).toString(), 'one\nthree\n')
  t.equal(String(err.read()), 'two\n')
})

t.test('collectLastRecords and firstRecordSince: the same records as readLastLines, as bytes', async t => {
  const file = rotatedLog(t)
  const files = openLogFiles(file, 5)
  t.teardown(() => closeLogFiles(files))
  const records = collectLastRecords(files, {lines: 12})
  t.strictSame(
    records.map(record => parseLogLine(record.toString('utf8', 0, record.length - 1)).text),
    Array.from({length: 12}, (_, i) => `line ${19 + i}`),
  )
  t.ok(
    records.every(record => record.at(-1) === 0x0a),
    'each with its newline',
  )
  const all = Buffer.concat(collectLastRecords(files, {}))
  const start = firstRecordSince(all, new Date(T0 + 15_000))
  t.equal(parseLogLine(all.toString('utf8', start, all.indexOf(0x0a, start))).text, 'line 15')
  t.equal(firstRecordSince(all, new Date(T0 + 60_000)), -1)
  t.equal(firstRecordSince(Buffer.from('plain\n'), new Date(0)), -1, 'a line in another format has no time')
})

t.test('LastLines: the last N lines over many chunks, in order, decoded when flushed or after its delay', async t => {
  const got: string[] = []
  const kept = new LastLines(3, line => void got.push(line))
  kept.add(Buffer.from('one\n'))
  kept.add(Buffer.from('two\n\nthree\n'))
  for (let i = 0; i < 10; i++) kept.add(Buffer.from(`x${i}\n`))
  kept.add(Buffer.from('é\nlast\n'))
  t.strictSame(got, [], 'nothing decoded per chunk')
  kept.flush()
  t.strictSame(got, ['x9', 'é', 'last'])
  got.length = 0
  kept.add(Buffer.from('a\nb\n'))
  kept.add(Buffer.from('\n'))
  kept.flush()
  t.strictSame(got, ['a', 'b', ''], 'an empty line is a line')
  got.length = 0
  const timed = new LastLines(20, line => void got.push(line), 5)
  timed.add(Buffer.from('later\n'))
  await new Promise(resolve => setTimeout(resolve, 30))
  t.strictSame(got, ['later'])
  timed.flush()
  t.strictSame(got, ['later'], 'a flush with nothing new adds nothing')
})

t.test('printLogRecords: a reader that went away (EPIPE) ends printing, quietly', async t => {
  let writes = 0
  const gone = new Writable({write: (_chunk, _encoding, callback) => (writes++, callback(Object.assign(new Error('write EPIPE'), {code: 'EPIPE'})))})
  gone.on('error', () => undefined)
  const records = Buffer.from(`${stamp('out', 'one')}\n${stamp('err', 'two')}\n`)
  t.equal(await printLogRecords(records, false, {out: gone, err: new PassThrough()}), false)
  t.equal(writes, 1, 'nothing written after it')
  t.equal(await printLogRecords(records, false, {out: new PassThrough(), err: new PassThrough()}), true)
})
