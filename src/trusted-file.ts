import {closeSync, fstatSync, openSync, readSync, statSync, type Stats} from 'node:fs'
import {resolve, sep} from 'node:path'
import {FileError} from './errors.js'
import {packageRoot, templatePath} from './paths.js'

/**
 * A file contain reads its instructions from (contain.yml, .env, env files, a seccomp profile)
 * that another non-root user may change: contain runs as root what such a file says, so that user
 * would run anything as root. Refused as sshd's StrictModes refuses such an authorized_keys.
 */
export class UntrustedFileError extends FileError {
  constructor(
    file: string,
    readonly problem: string,
    fix: string,
  ) {
    super(file, problem, {fix})
  }
}

/**
 * Refuses a regular file owned by another non-root user than contain's, or writable by group or
 * others (group-writable is allowed for a non-root caller's own file in its own group: a user
 * private group, as Debian's umask 002 makes). Devices and FIFOs are left to the bounded read.
 */
export function checkFileTrusted(
  path: string,
  stat: Pick<Stats, 'uid' | 'gid' | 'mode' | 'isFile'>,
  caller = {uid: process.getuid?.(), gid: process.getgid?.()},
): void {
  if (caller.uid === undefined || !stat.isFile() || shippedWithContain(path, stat)) return
  const who = caller.uid === 0 ? 'root' : `uid ${caller.uid}`
  if (stat.uid !== 0 && stat.uid !== caller.uid) {
    throw new UntrustedFileError(
      path,
      `belongs to uid ${stat.uid}, another user than the one running contain (${who}), who could change what contain runs`,
      `chown ${caller.uid === 0 ? 'root' : caller.uid} ${path} (or run contain as uid ${stat.uid})`,
    )
  }
  const ownPrivateGroup = caller.uid !== 0 && stat.uid === caller.uid && stat.gid === caller.gid
  if ((stat.mode & 0o002) !== 0 || ((stat.mode & 0o020) !== 0 && !ownPrivateGroup && stat.gid !== 0)) {
    throw new UntrustedFileError(
      path,
      `is writable by ${(stat.mode & 0o002) !== 0 ? 'every user' : `group ${stat.gid}`}, so another user could change what contain runs`,
      `chmod go-w ${path}`,
    )
  }
}

/**
 * A file of contain's own templates/ (the default seccomp profile) owned by whoever owns contain's
 * code: root runs that code, so its owner already decides what contain does, and a clone made by a
 * normal user and run with sudo works. Project files never get this: an app running as that user
 * may write its own directory, and the example app's directory is inside contain's clone.
 */
function shippedWithContain(path: string, stat: Pick<Stats, 'uid' | 'mode'>): boolean {
  const root = packageRoot()
  return resolve(path).startsWith(templatePath('', root) + sep) && stat.uid === statSync(root).uid && (stat.mode & 0o022) === 0
}

/**
 * A file's bytes, at most `maxBytes` of them, from a file no other non-root user may change
 * (checkFileTrusted, on the opened file: no race with a swap). readFileSync would read /dev/urandom, /dev/zero or
 * a runaway file until memory runs out; past the cap this throws an error with code EFBIG.
 * (A directory throws EISDIR, as readFileSync does.)
 */
export function readFileUpTo(path: string, maxBytes: number): Buffer {
  const fd = openSync(path, 'r')
  try {
    const stat = fstatSync(fd)
    if (stat.isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${path}'`), {code: 'EISDIR'})
    checkFileTrusted(path, stat)
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
