import {closeSync, fstatSync, openSync, readSync} from 'node:fs'

/**
 * A file's bytes, at most `maxBytes` of them. readFileSync would read /dev/urandom, /dev/zero or
 * a runaway file until memory runs out; past the cap this throws an error with code EFBIG.
 * (A directory throws EISDIR, as readFileSync does.)
 */
export function readFileUpTo(path: string, maxBytes: number): Buffer {
  const fd = openSync(path, 'r')
  try {
    if (fstatSync(fd).isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${path}'`), {code: 'EISDIR'})
    const buffer = Buffer.allocUnsafe(Math.min(maxBytes + 1, 64 * 1024))
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null)
      if (read === 0) return Buffer.concat(chunks, total)
      chunks.push(Buffer.from(buffer.subarray(0, read)))
      total += read
      if (total > maxBytes) throw Object.assign(new Error(`${path} is larger than ${maxBytes} bytes`), {code: 'EFBIG'})
    }
  } finally {
    closeSync(fd)
  }
}

/** Reads of host files that are not config (env files, /etc/passwd): generous, but bounded. */
export const MAX_HOST_FILE_BYTES = 16 * 2 ** 20
