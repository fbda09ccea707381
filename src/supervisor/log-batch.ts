// Byte arithmetic on a batch of formatted lines (Buffer[]), for the writer's partial writes and rotation.
import {NEWLINE} from './log-record.js'

export function skipBytes(batch: Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = []
  for (const buffer of batch) {
    if (skip >= buffer.length) {
      skip -= buffer.length
      continue
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer)
    skip = 0
  }
  return rest
}

/** The end of the last complete line within the first `limit` bytes of `batch`. */
export function lastLineEnd(batch: Buffer[], limit: number): number {
  let offset = 0
  let end = 0
  for (const buffer of batch) {
    if (offset >= limit) break
    const within = Math.min(buffer.length, limit - offset)
    const newline = within > 0 ? buffer.lastIndexOf(NEWLINE, within - 1) : -1
    if (newline !== -1) end = offset + newline + 1
    offset += buffer.length
  }
  return end
}

/** Newlines in `batch` after its first `skip` bytes. */
export function countNewlines(batch: Buffer[], skip: number): number {
  let count = 0
  for (const buffer of skipBytes(batch, skip)) for (let i = 0; i < buffer.length; i++) if (buffer[i] === NEWLINE) count++
  return count
}
