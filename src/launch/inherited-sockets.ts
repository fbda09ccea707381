import {readFileSync, readlinkSync} from 'node:fs'
import {isIPv4} from 'node:net'
import type {ListenAddress} from './listen-address.js'

/**
 * Sockets systemd passed to contain itself (a `.socket` unit written by `contain systemd
 * --socket-units`): systemd's protocol, LISTEN_FDS sockets from fd 3, LISTEN_PID, LISTEN_FDNAMES.
 * contain takes them instead of binding the same addresses again, and passes them to the apps as
 * it passes the sockets it binds. They are systemd's: contain never closes them (so an app stopped
 * and started again gets the same socket, and the port stays open across a reload of the unit) and
 * never removes a unix socket's file.
 *
 * Which address a socket serves is read from the kernel (the socket's inode in /proc/net/tcp, tcp6
 * and unix, as getsockname would say), not from a name systemd was told: an address of listen:
 * takes the socket the kernel says is bound there. A name is used only where the kernel's view
 * cannot tell (two sockets on one address cannot be; a socket in another network namespace is not
 * listed): an inherited socket named as the address's LISTEN_FDNAMES name.
 */

/** One socket systemd passed: its fd, its name in LISTEN_FDNAMES, and its local address when the kernel lists it. */
export interface InheritedSocket {
  fd: number
  name: string
  local?: {kind: 'tcp'; host: string; port: number} | {kind: 'unix'; path: string}
}

/** Reads the environment systemd sets; undefined when it addresses no sockets to this process. */
export function listenEnvironment(env: NodeJS.ProcessEnv, pid: number): {count: number; names: string[]} | undefined {
  const count = Number(env.LISTEN_FDS)
  // LISTEN_PID guards against a variable inherited by accident: the sockets are this process's only when it names it.
  if (env.LISTEN_PID !== String(pid) || !Number.isInteger(count) || count < 1 || count > 1024) return undefined
  const names = (env.LISTEN_FDNAMES ?? '').split(':')
  return {count, names: Array.from({length: count}, (_, index) => names[index] ?? '')}
}

/** A /proc/net/tcp{,6} local_address ("0100007F:0BB8") as host and port: each 32-bit word in host (little-endian) order. */
export function parseProcAddress(hex: string): {host: string; port: number} | undefined {
  const [ip, port] = hex.split(':')
  if (!ip || !port || (ip.length !== 8 && ip.length !== 32)) return undefined
  const bytes: number[] = []
  for (let word = 0; word < ip.length; word += 8) {
    const value = Number.parseInt(ip.slice(word, word + 8), 16)
    bytes.push(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff)
  }
  if (bytes.length === 4) return {host: bytes.join('.'), port: Number.parseInt(port, 16)}
  const groups = Array.from({length: 8}, (_, index) => ((bytes[2 * index] << 8) | bytes[2 * index + 1]).toString(16))
  return {host: canonicalHost(groups.join(':')), port: Number.parseInt(port, 16)}
}

/** An IP address written one way: IPv4 as is, IPv6 lower-case and fully expanded (so ::1 and 0:0:...:1 compare equal). */
export function canonicalHost(host: string): string {
  if (isIPv4(host)) return host
  const [head, tail] = host.toLowerCase().split('::')
  const left = head ? head.split(':') : []
  const right = tail === undefined ? [] : tail ? tail.split(':') : []
  const missing = 8 - left.length - right.length
  return [...left, ...Array.from({length: tail === undefined ? 0 : missing}, () => '0'), ...right]
    .map(group => Number.parseInt(group || '0', 16).toString(16))
    .join(':')
}

/** Listening sockets by inode, from /proc/net/{tcp,tcp6,unix} text. */
export function socketsByInode(tables: {tcp?: string; tcp6?: string; unix?: string}): Map<string, NonNullable<InheritedSocket['local']>> {
  const found = new Map<string, NonNullable<InheritedSocket['local']>>()
  for (const text of [tables.tcp, tables.tcp6]) {
    for (const line of (text ?? '').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      const address = fields.length > 9 ? parseProcAddress(fields[1]) : undefined
      if (address) found.set(fields[9], {kind: 'tcp', ...address})
    }
  }
  // A path is printed as it is, line breaks included: an app may bind a unix socket whose path
  // holds a forged line naming another socket's inode. An inode listed twice is trusted in neither
  // line (its socket is then matched by name, or not at all).
  const forged = new Set<string>()
  for (const line of (tables.unix ?? '').split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path
    const fields = line.trim().split(/\s+/)
    if (fields.length < 7) continue
    if (found.has(fields[6])) forged.add(fields[6])
    if (fields.length >= 8 && fields[7].startsWith('/')) found.set(fields[6], {kind: 'unix', path: fields.slice(7).join(' ')})
  }
  for (const inode of forged) found.delete(inode)
  return found
}

/** Whether `address` (listen:) is where `socket` is bound: the same IP and port, or the same path. */
function sameAddress(address: ListenAddress, local: InheritedSocket['local']): boolean {
  if (!local) return false
  if (address.kind === 'tcp') return local.kind === 'tcp' && local.port === address.port && canonicalHost(local.host) === canonicalHost(address.host)
  return local.kind === 'unix' && local.path === address.path
}

/**
 * For each address, in order, the inherited socket that serves it (by the kernel's address, else by
 * name), each socket given at most once; undefined where none does (contain binds that one itself).
 */
export function matchInherited(addresses: readonly ListenAddress[], inherited: readonly InheritedSocket[]): (InheritedSocket | undefined)[] {
  const taken = new Set<number>()
  const pick = (test: (socket: InheritedSocket) => boolean) => inherited.find(socket => !taken.has(socket.fd) && test(socket))
  const byAddress = addresses.map(address => {
    const socket = pick(candidate => sameAddress(address, candidate.local))
    if (socket) taken.add(socket.fd)
    return socket
  })
  return addresses.map((address, index) => {
    if (byAddress[index]) return byAddress[index]
    const named = pick(socket => socket.local === undefined && socket.name === address.name)
    if (named) taken.add(named.fd)
    return named
  })
}

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

/** systemd's SD_LISTEN_FDS_START: the first passed socket is fd 3. */
const SD_LISTEN_FDS_START = 3

let inherited: InheritedSocket[] | undefined

/**
 * The sockets systemd passed to this process, read once; LISTEN_* are removed from the environment
 * so nothing contain starts believes they are its own. Empty when none were passed.
 */
export function inheritedSockets(env: NodeJS.ProcessEnv = process.env, pid = process.pid): InheritedSocket[] {
  if (inherited) return inherited
  const passed = listenEnvironment(env, pid)
  delete env.LISTEN_FDS
  delete env.LISTEN_PID
  delete env.LISTEN_FDNAMES
  if (!passed) return (inherited = [])
  const byInode = socketsByInode({tcp: read('/proc/net/tcp'), tcp6: read('/proc/net/tcp6'), unix: read('/proc/net/unix')})
  const found: InheritedSocket[] = []
  for (const [index, name] of passed.names.entries()) {
    const fd = SD_LISTEN_FDS_START + index
    let inode: string | undefined
    try {
      inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1]
    } catch {
      // Not open: systemd said N but passed fewer; a name alone does not make a socket.
    }
    if (inode !== undefined) found.push({fd, name, local: byInode.get(inode)})
  }
  inherited = found
  return inherited
}
