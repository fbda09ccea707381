/**
 * The record format of an app's log, one record per app line (the text is the app's bytes, untouched):
 *   2026-11-29T05:45:12.123Z out <text>\n
 *   2026-11-29T05:45:12.123Z err <text>\n
 * Parsing records back, and turning them into what `contain logs` prints.
 */

export type LogStream = 'out' | 'err'

/** One record of a log file. `time` is ISO-8601 UTC with milliseconds; '' for a line not in contain's format. */
export interface LogLine {
  time: string
  stream: LogStream
  text: string
}

/** `2026-11-29T05:45:12.123Z out `: the ISO time (24), a space, the stream (3), a space. */
export const PREFIX_BYTES = 29
export const NEWLINE = 0x0a

export interface Prefix {
  ms: number
  bytes: Buffer
  words: Int32Array
}

/** The text of a record, with its time in front when `timestamps` is set (as `docker logs -t`). */
export function formatLogLine(line: LogLine, timestamps = false): string {
  return timestamps && line.time ? `${line.time} ${line.text}` : line.text
}

/** One record, without its newline. A line in another format is kept whole as text. */
export function parseLogLine(raw: string): LogLine {
  if (raw.length >= PREFIX_BYTES && raw.charCodeAt(23) === 0x5a && raw.charCodeAt(24) === 0x20 && raw.charCodeAt(28) === 0x20) {
    const stream = raw.startsWith('out', 25) ? 'out' : raw.startsWith('err', 25) ? 'err' : undefined
    if (stream) return {time: raw.slice(0, 24), stream, text: raw.slice(PREFIX_BYTES)}
  }
  return {time: '', stream: 'out', text: raw}
}

/** Complete records in bytes[0, end), which ends with a newline. */
export function parseRecords(bytes: Buffer, end: number): LogLine[] {
  if (end === 0) return []
  return bytes
    .toString('utf8', 0, end - 1)
    .split('\n')
    .map(parseLogLine)
}

/** The stream of the record at bytes[start...] when it has contain's prefix (checked as parseLogLine does); else undefined. */
function prefixedStream(bytes: Buffer, start: number): LogStream | undefined {
  if (start + PREFIX_BYTES > bytes.length || bytes[start + 23] !== 0x5a || bytes[start + 24] !== 0x20 || bytes[start + 28] !== 0x20) return undefined
  const a = bytes[start + 25]
  const b = bytes[start + 26]
  const c = bytes[start + 27]
  const stream = a === 0x6f && b === 0x75 && c === 0x74 ? 'out' : a === 0x65 && b === 0x72 && c === 0x72 ? 'err' : undefined
  // The prefix must not hold the record's end: a short line followed by the next record is not one record.
  if (stream) for (let i = start; i < start + 23; i++) if (bytes[i] === NEWLINE) return undefined
  return stream
}

/**
 * What `contain logs` prints of complete records (bytes as in the file, ending with a newline),
 * without decoding them: each record's text, with its time in front when `timestamps` (as
 * formatLogLine), as runs of records of one stream, in file order. A follower of a
 * busy app gets millions of lines: turning each into strings and writing them one by one costs
 * it more CPU than the supervisor spends writing them.
 */
export function textOfRecords(records: Buffer, timestamps: boolean): {stream: LogStream; text: Buffer}[] {
  const out = Buffer.allocUnsafe(records.length)
  const runs: {stream: LogStream; text: Buffer}[] = []
  const end = records.length
  let o = 0
  let runStart = 0
  let runStream: LogStream | undefined
  let i = 0
  // One pass, byte by byte: a native call per record (indexOf, copy) costs more than a short line.
  while (i < end) {
    const prefixed = prefixedStream(records, i)
    const stream = prefixed ?? 'out' // another format is the app's output, whole
    if (stream !== runStream) {
      if (o > runStart) runs.push({stream: runStream as LogStream, text: out.subarray(runStart, o)})
      runStart = o
      runStream = stream
    }
    if (prefixed !== undefined) {
      if (timestamps) {
        // `<time> <text>`: the record without ' out' / ' err'.
        for (let k = i; k < i + 24; k++) out[o++] = records[k]
        i += 28
      } else {
        i += PREFIX_BYTES
      }
    }
    while (i < end) {
      const byte = records[i++]
      out[o++] = byte
      if (byte === NEWLINE) break
    }
  }
  if (o > runStart) runs.push({stream: runStream as LogStream, text: out.subarray(runStart, o)})
  return runs
}

/**
 * Prints records as `contain logs` does: the app's stdout lines to `streams.out`, its stderr lines
 * to `streams.err`, as large writes, each waited for: when both go to one pipe or terminal (2>&1),
 * a write still queued on one must not be overtaken by the other. A slow reader slows this
 * process, never the app. False when the reader has gone.
 */
export async function printLogRecords(
  records: Buffer,
  timestamps: boolean,
  streams: {out: NodeJS.WritableStream; err: NodeJS.WritableStream} = {out: process.stdout, err: process.stderr},
): Promise<boolean> {
  for (const {stream, text} of textOfRecords(records, timestamps)) {
    const error = await new Promise<NodeJS.ErrnoException | null | undefined>(resolve => streams[stream].write(text, resolve))
    // The reader went away (contain logs web | head): nothing more to print, as for tail.
    if (error?.code === 'EPIPE') return false
    if (error) throw error
  }
  return true
}

/** The time of the record at bytes[start...] is at or after `since` (an ISO time, latin1); a line in another format has none. */
export function isSince(bytes: Buffer, start: number, since: Buffer): boolean {
  return prefixedStream(bytes, start) !== undefined && bytes.compare(since, 0, since.length, start, start + 24) >= 0
}

/** Where the first record at or after `since` starts in complete records, or -1. Records are in time order. */
export function firstRecordSince(records: Buffer, since: Date): number {
  const time = Buffer.from(since.toISOString(), 'latin1')
  for (let start = 0; start < records.length; start = records.indexOf(NEWLINE, start) + 1) {
    if (isSince(records, start, time)) return start
    if (records.indexOf(NEWLINE, start) === -1) break
  }
  return -1
}
