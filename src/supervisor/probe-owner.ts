/**
 * Which instance a health probe reached. Instances of one app accept from the same listening
 * socket, so a probe of its address is accepted by any of them: during a rolling restart mostly
 * by the old one, which would make a new instance that never works look healthy. The probe
 * therefore waits, once connected and before it sends anything, until a process has accepted its
 * connection, finds that accepted socket by its two ports in /proc/net/tcp{,6} (its inode), and
 * looks for it among the open files of the instance's processes. The server holds it open while
 * it waits for the request, so the look-up cannot miss it. Only the kernel's tables are read:
 * nothing the app says counts.
 */
import {readdirSync, readFileSync, readlinkSync} from 'node:fs'

/** How often the accept queue is looked at while the probe waits to be accepted. */
const POLL_MS = 5

/** The inode of the accepted end of the connection from `clientPort` to `serverPort`, once accepted (0 before). */
export function acceptedInode(serverPort: number, clientPort: number, read: (path: string) => string = path => readFileSync(path, 'utf8')): number {
  const hexPort = (field: string) => Number.parseInt(field.slice(field.lastIndexOf(':') + 1), 16)
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = read(table)
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      if (fields.length < 10) continue
      if (hexPort(fields[1]) === serverPort && hexPort(fields[2]) === clientPort) {
        const inode = Number(fields[9])
        if (inode > 0) return inode
      }
    }
  }
  return 0
}

/** Whether one of `pids` has the socket `inode` open. */
export function holdsSocket(pids: readonly number[], inode: number): boolean {
  const link = `socket:[${inode}]`
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue // ended meanwhile
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === link) return true
      } catch {
        // closed meanwhile
      }
    }
  }
  return false
}

/**
 * Waits until the connection from `clientPort` to `serverPort` is accepted, then says whether one
 * of the instance's processes (`pids()`) accepted it; undefined when nobody accepted it in time.
 */
export async function acceptedByInstance(serverPort: number, clientPort: number, pids: () => number[], deadline: number): Promise<boolean | undefined> {
  while (Date.now() < deadline) {
    const inode = acceptedInode(serverPort, clientPort)
    if (inode > 0) return holdsSocket(pids(), inode)
    await new Promise(resolve => setTimeout(resolve, POLL_MS))
  }
  return undefined
}
