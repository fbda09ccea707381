/**
 * What contain-init reads once and whole at its start (the seccomp filter, the app's environment,
 * the device program), handed over as an unnamed in-memory file rather than a pipe: written
 * before the spawn, so there is no pipe and no stream for Node to set up, write asynchronously
 * and close at each launch, and contain-init finds the data complete. contain-init reads a
 * descriptor until end of file either way.
 */
import {closeSync, constants, openSync, writeSync} from 'node:fs'

/**
 * open(2)'s O_TMPFILE: __O_TMPFILE (0o20000000 on every architecture Node runs on) with
 * O_DIRECTORY, which the kernel requires beside it. Node does not name it.
 */
export const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY

/**
 * Where the file is made: a tmpfs on every Linux host. The file never has a name there, so no
 * other process can open it, and it is freed when the last descriptor to it closes.
 */
export const INIT_DATA_DIR = '/dev/shm'

/**
 * The data in an unnamed file, as a descriptor for the spawn's stdio (the caller closes it once
 * the child has it), or undefined where the kernel or the directory refuses O_TMPFILE: the caller
 * then uses a pipe. pwrite at offset 0 leaves the shared file offset at 0, where the child reads.
 */
export function initDataFile(data: Buffer, dir = INIT_DATA_DIR): number | undefined {
  let fd: number | undefined
  try {
    fd = openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600)
    for (let written = 0; written < data.length;) written += writeSync(fd, data, written, data.length - written, written)
    return fd
  } catch {
    if (fd !== undefined) closeSync(fd)
    return undefined
  }
}
