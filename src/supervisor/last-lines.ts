// An app's last lines kept in memory (for `contain up`'s display), decoded only when asked for.
import {NEWLINE} from './log-record.js'

/**
 * The last `count` lines of `lines` (complete lines, the last ends with a newline), as a view.
 * Who keeps only the last lines decodes just these: decoding and splitting every chunk costs
 * several times the whole log path.
 */
export function lastLinesOf(lines: Buffer, count: number): Buffer {
  let end = lines.length - 1
  for (let found = 0; found < count; found++) {
    const previous = end > 0 ? lines.lastIndexOf(NEWLINE, end - 1) : -1
    if (previous === -1) return lines
    end = previous
  }
  return lines.subarray(end + 1)
}

/**
 * Hands an app's last `count` lines to `onLine`, decoded at most once per `delayMs` and when
 * flushed, instead of for every chunk: a busy app sends about a thousand chunks per 2M lines,
 * and decoding the last lines of each cost the supervisor 10-20 ms of them. Chunks are kept as
 * views until then; each holds at least one line, so the last `count` chunks hold them all.
 */
export class LastLines {
  private chunks: Buffer[] = []
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly count: number,
    public onLine: (line: string) => void,
    private readonly delayMs = 50,
  ) {}

  /** Complete lines (the last ends with a newline), as AppLog's echo receives them. */
  add(lines: Buffer): void {
    if (lines.length === 0) return
    this.chunks.push(lines)
    if (this.chunks.length > 2 * this.count) this.chunks = this.chunks.slice(-this.count)
    // Not holding the supervisor open: at its exit nobody is left to ask for the last lines.
    this.timer ??= setTimeout(() => this.flush(), this.delayMs).unref()
  }

  flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    const chunks = this.chunks.slice(-this.count)
    this.chunks = []
    const texts: string[] = []
    for (let i = chunks.length - 1; i >= 0 && texts.length < this.count; i--) {
      const lines = lastLinesOf(chunks[i], this.count - texts.length)
      texts.push(
        ...lines
          .toString('utf8', 0, lines.length - 1)
          .split('\n')
          .reverse(),
      )
    }
    for (let i = texts.length - 1; i >= 0; i--) this.onLine(texts[i])
  }
}
