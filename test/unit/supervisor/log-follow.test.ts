import {appendFileSync, existsSync, mkdirSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {PassThrough} from 'node:stream'
import t from 'tap'
import {InvalidValueError} from '../../../src/errors.js'
import {followLog, readLog, type FollowOptions} from '../../../src/supervisor/log-follow.js'
import {AppLog, parseRecords, type LogLine} from '../../../src/supervisor/logs.js'
import {rejection} from '../helpers/errors.js'

const T0 = Date.UTC(2026, 10, 29, 5, 45, 12, 123)
const record = (text: string, stream = 'out') => `2026-11-29T05:45:12.123Z ${stream} ${text}\n`
const records = (...texts: string[]) => texts.map(text => record(text)).join('')

/** Follows `file` in the background; `until(n)` waits for n lines in all (or fails after a while). */
function follow(file: string, options: Partial<FollowOptions> = {}) {
  const controller = new AbortController()
  const lines: LogLine[] = []
  const batches: number[] = []
  let ready!: () => void
  const readyPromise = new Promise<void>(resolve => (ready = resolve))
  const waiting: {count: number; resolve(): void}[] = []
  const done = followLog(file, {
    signal: controller.signal,
    onReady: ready,
    ...options,
    onLines: received => {
      lines.push(...received)
      batches.push(received.length)
      for (const waiter of waiting.filter(w => lines.length >= w.count)) waiter.resolve()
      return options.onLines?.(received)
    },
  })
  return {
    lines,
    batches,
    texts: () => lines.map(line => line.text),
    ready: readyPromise,
    done,
    async until(count: number, timeoutMs = 10_000): Promise<void> {
      if (lines.length >= count) return
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        new Promise<void>(resolve => waiting.push({count, resolve})),
        new Promise<void>((_, reject) => {
          timer = setTimeout(() => {
            controller.abort() // a failed test does not leave the follower running
            reject(new Error(`only ${lines.length} of ${count} lines after ${timeoutMs} ms`))
          }, timeoutMs)
        }),
      ]).finally(() => clearTimeout(timer))
    },
    async stop(): Promise<void> {
      controller.abort()
      await done
    },
  }
}

const pause = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

t.test('delivers the last N lines, then each new line; abort ends it', async t => {
  const dir = t.testdir({'app.log': records('one', 'two', 'three')})
  const file = join(dir, 'app.log')
  const follower = follow(file, {lines: 2})
  await follower.ready
  t.strictSame(follower.texts(), ['two', 'three'])
  appendFileSync(file, records('four'))
  await follower.until(3)
  appendFileSync(file, record('five', 'err'))
  await follower.until(4)
  t.strictSame(follower.texts(), ['two', 'three', 'four', 'five'])
  t.equal(follower.lines[3].stream, 'err')
  await follower.stop()
  appendFileSync(file, records('six'))
  await pause(50)
  t.equal(follower.lines.length, 4, 'nothing after abort')
})

t.test('without -n, all earlier lines; with --since, the recent ones', async t => {
  const lines = Array.from({length: 5}, (_, i) => `${new Date(T0 + i * 1000).toISOString()} out line ${i}\n`).join('')
  const dir = t.testdir({'app.log': lines})
  const all = follow(join(dir, 'app.log'))
  await all.ready
  t.equal(all.lines.length, 5)
  await all.stop()
  const recent = follow(join(dir, 'app.log'), {since: new Date(T0 + 3000)})
  await recent.ready
  t.strictSame(recent.texts(), ['line 3', 'line 4'])
  await recent.stop()
})

t.test('all earlier lines come from every rotated file, oldest first, and --since can start in any of them', async t => {
  const files: Record<string, string> = {}
  for (let index = 2, n = 1; index >= 0; index--) {
    let content = ''
    for (let i = 0; i < 10; i++, n++) content += `${new Date(T0 + n * 1000).toISOString()} out line ${n}\n`
    files[index === 0 ? 'app.log' : `app.log.${index}`] = content
  }
  const dir = t.testdir(files)
  const all = follow(join(dir, 'app.log'))
  await all.ready
  t.strictSame(
    all.texts(),
    Array.from({length: 30}, (_, i) => `line ${i + 1}`),
  )
  await all.stop()
  const recent = follow(join(dir, 'app.log'), {since: new Date(T0 + 15_000)})
  await recent.ready
  t.strictSame(
    recent.texts(),
    Array.from({length: 16}, (_, i) => `line ${i + 15}`),
  )
  appendFileSync(join(dir, 'app.log'), records('new'))
  await recent.until(17)
  t.equal(recent.texts().at(-1), 'new', 'new lines follow, whatever their time')
  await recent.stop()
})

t.test('onRecords gets the same records as bytes, each batch whole lines: -n, --since, rotation, a line completed later', async t => {
  const files: Record<string, string> = {}
  for (let index = 2, n = 1; index >= 0; index--) {
    let content = ''
    for (let i = 0; i < 10; i++, n++) content += `${new Date(T0 + n * 1000).toISOString()} ${n % 4 ? 'out' : 'err'} line ${n}\n`
    files[index === 0 ? 'app.log' : `app.log.${index}`] = content
  }
  const dir = t.testdir(files)
  const file = join(dir, 'app.log')
  for (const backlog of [{lines: 12}, {since: new Date(T0 + 15_000)}, {}]) {
    const expected: LogLine[] = []
    const byLines = follow(file, {...backlog, onLines: lines => void expected.push(...lines)})
    await byLines.ready
    await byLines.stop()
    const batches: Buffer[] = []
    const controller = new AbortController()
    let ready!: () => void
    const isReady = new Promise<void>(resolve => (ready = resolve))
    const done = followLog(file, {...backlog, signal: controller.signal, onReady: ready, onRecords: records => void batches.push(records)})
    await isReady
    t.ok(
      batches.every(batch => batch.at(-1) === 0x0a),
      'whole lines',
    )
    t.strictSame(parseRecords(Buffer.concat(batches), Buffer.concat(batches).length), expected, JSON.stringify(backlog))
    controller.abort()
    await done
  }
  const controller = new AbortController()
  const got: Buffer[] = []
  const done = followLog(file, {lines: 0, signal: controller.signal, onRecords: records => void got.push(records)})
  appendFileSync(file, '2026-11-29T05:45:12.123Z err hal')
  await pause(50)
  renameSync(file, `${file}.1`)
  appendFileSync(`${file}.1`, 'f\n')
  writeFileSync(file, record('next'))
  for (let i = 0; i < 200 && Buffer.concat(got).toString().split('\n').length < 3; i++) await pause(10)
  controller.abort()
  await done
  t.equal(Buffer.concat(got).toString(), `2026-11-29T05:45:12.123Z err half\n${record('next')}`)
})

t.test('either onLines or onRecords', async t => {
  const signal = new AbortController().signal
  t.match((await rejection(followLog('/x/app.log', {signal}))).message, /onLines/)
  t.match((await rejection(followLog('/x/app.log', {signal, onLines: () => undefined, onRecords: () => undefined}))).message, /onLines/)
})

t.test('waits for a log that does not exist yet, and reads it from its first line', async t => {
  const dir = t.testdir()
  const file = join(dir, 'app.log')
  const follower = follow(file, {lines: 0})
  await follower.ready
  writeFileSync(file, records('first', 'second'))
  await follower.until(2)
  t.strictSame(follower.texts(), ['first', 'second'])
  await follower.stop()
})

t.test('a line still being written is delivered once it is complete', async t => {
  const dir = t.testdir({'app.log': records('done') + '2026-11-29T05:45:12.123Z out half'})
  const file = join(dir, 'app.log')
  const follower = follow(file)
  await follower.ready
  t.strictSame(follower.texts(), ['done'])
  appendFileSync(file, ' and the rest\n')
  await follower.until(2)
  t.strictSame(follower.texts(), ['done', 'half and the rest'])
  await follower.stop()
})

t.test('a partial line cut back by the writer (failed write) is never delivered', async t => {
  const dir = t.testdir({'app.log': records('kept')})
  const file = join(dir, 'app.log')
  const follower = follow(file)
  await follower.ready
  appendFileSync(file, '2026-11-29T05:45:12.123Z out a piece of a lo')
  await pause(30) // the follower has read the piece
  // The writer cuts the piece off and, once the disk has room again, writes the next lines.
  truncateSync(file, record('kept').length)
  appendFileSync(file, records('after recovery, a longer line than the piece'))
  await follower.until(2)
  t.strictSame(follower.texts(), ['kept', 'after recovery, a longer line than the piece'])
  await follower.stop()
})

t.test('two rotations between two looks: the old file is read to its end, then each newer file', async t => {
  const dir = t.testdir({'app.log': records('a1', 'a2')})
  const file = join(dir, 'app.log')
  const follower = follow(file, {pollIntervalMs: 60_000})
  await follower.ready
  // All in one turn of the event loop, as a fast writer does it between two looks.
  appendFileSync(file, records('a3'))
  renameSync(file, `${file}.1`)
  writeFileSync(file, records('b1', 'b2'))
  renameSync(`${file}.1`, `${file}.2`)
  renameSync(file, `${file}.1`)
  writeFileSync(file, records('c1'))
  await follower.until(6)
  appendFileSync(file, records('c2'))
  await follower.until(7)
  await pause(30)
  t.strictSame(follower.texts(), ['a1', 'a2', 'a3', 'b1', 'b2', 'c1', 'c2'])
  await follower.stop()
})

t.test('a follower whose file was deleted goes on with the oldest file left', async t => {
  const dir = t.testdir({'app.log': records('a1')})
  const file = join(dir, 'app.log')
  const follower = follow(file, {maxFiles: 2})
  await follower.ready
  appendFileSync(file, records('a2'))
  renameSync(file, `${file}.1`)
  writeFileSync(file, records('b1'))
  unlinkSync(`${file}.1`) // a1, a2 deleted: the follower still has the file open
  renameSync(file, `${file}.1`)
  writeFileSync(file, records('c1'))
  await follower.until(4)
  await pause(30)
  t.strictSame(follower.texts(), ['a1', 'a2', 'b1', 'c1'])
  await follower.stop()
})

t.test('every line exactly once across many rotations while a writer writes fast', async t => {
  const dir = t.testdir()
  const file = join(dir, 'app.log')
  const total = 100_000
  const follower = follow(file, {lines: 0, maxFiles: 4})
  await follower.ready
  const log = new AppLog({file, maxSizeBytes: 64 * 1024, maxFiles: 4})
  const out = new PassThrough()
  log.attach(out, 'out')
  let chunk = ''
  for (let i = 1; i <= total; i++) {
    chunk += `${i}\n`
    if (chunk.length > 16_000 || i === total) {
      out.write(chunk)
      chunk = ''
      await new Promise(resolve => setImmediate(resolve)) // one pipe read per turn, as from a real app
    }
  }
  out.end()
  await new Promise(resolve => out.once('end', resolve))
  await log.close()
  await follower.until(total, 30_000)
  await pause(50)
  await follower.stop()
  const numbers = follower.texts().map(Number)
  t.equal(numbers.length, total, 'exactly N lines')
  let firstMismatch = -1
  for (let i = 0; i < numbers.length && firstMismatch === -1; i++) if (numbers[i] !== i + 1) firstMismatch = i
  t.equal(firstMismatch, -1, 'each line once, in order')
  t.ok(follower.batches.length > 1, 'delivered in many batches, while the writer wrote')
})

t.test('a blocked consumer loses nothing while the writer rotates past maxFiles: new files are opened as they appear', async t => {
  const dir = t.testdir()
  const file = join(dir, 'app.log')
  let release!: () => void
  const blocked = new Promise<void>(resolve => (release = resolve))
  const follower = follow(file, {lines: 0, maxFiles: 2, onLines: () => blocked})
  await follower.ready
  const log = new AppLog({file, maxSizeBytes: 4096, maxFiles: 2})
  const out = new PassThrough()
  log.attach(out, 'out')
  const total = 600 // about 19 KiB: 4 rotations, so the first 3 files are deleted while the consumer waits
  for (let i = 1; i <= total; i++) {
    out.write(`${i}\n`)
    if (i % 10 === 0) await pause(5) // the app writes in bursts; the follower's process gets to run between them
  }
  await new Promise(resolve => setImmediate(resolve))
  await log.close() // the writer was never held up by the follower
  t.notOk(existsSync(`${file}.2`), 'the writer deleted the oldest files')
  release()
  await follower.until(total)
  await pause(30)
  await follower.stop()
  t.strictSame(
    follower.texts().map(Number),
    Array.from({length: total}, (_, i) => i + 1),
  )
})

t.test('a log folder removed and made again is watched again', async t => {
  const dir = t.testdir()
  const file = join(dir, 'app.log')
  const follower = follow(file, {lines: 0, pollIntervalMs: 50})
  await follower.ready
  rmSync(dir, {recursive: true})
  await pause(20)
  mkdirSync(dir)
  writeFileSync(file, records('back'))
  await follower.until(1)
  appendFileSync(file, records('again'))
  await follower.until(2)
  t.strictSame(follower.texts(), ['back', 'again'])
  await follower.stop()
})

t.test('backpressure: reading waits for a slow consumer', async t => {
  const dir = t.testdir({'app.log': records('x1', 'x2')})
  const file = join(dir, 'app.log')
  let release!: () => void
  const follower = follow(file, {lines: 0, onLines: () => new Promise<void>(resolve => (release = resolve))})
  await follower.ready
  appendFileSync(file, records('y1'))
  await follower.until(1)
  appendFileSync(file, records('y2'))
  await pause(50)
  t.equal(follower.lines.length, 1, 'no more lines while the consumer is busy')
  release()
  await follower.until(2)
  release()
  await follower.stop()
})

t.test('options are checked up front', async t => {
  const signal = new AbortController().signal
  const error = await rejection(followLog('/nonexistent/app.log', {signal, onLines: () => undefined, pollIntervalMs: 0}))
  t.type(error, InvalidValueError)
  t.match(error.message, /^pollIntervalMs: /)
  t.match((await rejection(followLog('/x/app.log', {signal, onLines: () => undefined, lines: 1.5}))).message, /^lines: /)
})

t.test('an aborted signal returns at once', async t => {
  const controller = new AbortController()
  controller.abort()
  const onLines = () => {
    t.fail('no lines')
  }
  await followLog('/nonexistent/app.log', {signal: controller.signal, onLines})
  t.pass()
})

t.test('readLog: the lines there were when it started, then it returns', async t => {
  const dir = t.testdir({'app.log.1': records('one', 'two'), 'app.log': records('three') + '2026-11-29T05:45:12.123Z out partial'})
  const got: Buffer[] = []
  await readLog(join(dir, 'app.log'), {onRecords: records => void got.push(records)})
  t.equal(Buffer.concat(got).toString(), records('one', 'two', 'three'))
  got.length = 0
  await readLog(join(dir, 'app.log'), {lines: 2, onRecords: records => void got.push(records)})
  t.equal(Buffer.concat(got).toString(), records('two', 'three'))
  await readLog(join(dir, 'missing.log'), {onRecords: () => void t.fail('no lines')})
})

t.test('readLog: lines written and files rotated while it reads are not printed', async t => {
  const dir = t.testdir({'app.log.1': records('one', 'two'), 'app.log': records('three', 'four')})
  const file = join(dir, 'app.log')
  const got: Buffer[] = []
  // The first delivery (the rotated file) makes the writer append, then rotate, then append again.
  await readLog(file, {
    onRecords: batch => {
      if (got.length === 0) {
        appendFileSync(file, records('five'))
        renameSync(join(dir, 'app.log.1'), join(dir, 'app.log.2'))
        renameSync(file, join(dir, 'app.log.1'))
        writeFileSync(file, records('six'))
      }
      got.push(batch)
    },
  })
  t.equal(Buffer.concat(got).toString(), records('one', 'two', 'three', 'four'))
  got.length = 0
  await readLog(file, {lines: 2, onRecords: records => void got.push(records)})
  t.equal(Buffer.concat(got).toString(), records('five', 'six'), 'the next reader sees them')
})
