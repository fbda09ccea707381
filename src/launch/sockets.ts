import {closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, unlinkSync} from 'node:fs'
import {connect} from 'node:net'
import {basename, dirname} from 'node:path'
import {getSystemErrorName} from 'node:util'
import {HostError} from '../errors.js'
import {inheritedSockets, matchInherited, type InheritedSocket} from './inherited-sockets.js'
import type {ListenAddress} from './listen-address.js'

/**
 * The sockets contain binds for an app and holds while it runs (across restarts under `contain
 * up`). Bound here, by root, before any identity or capability is dropped: port 80 needs no
 * NET_BIND_SERVICE in the app. contain-init calls listen() with LISTEN_BACKLOG (listen-address.ts) just before the
 * app's exec; from then on the socket stays listening while contain holds it, so connections made
 * while the app restarts wait in its queue instead of being refused.
 *
 * Node's net.Server cannot hold a socket without accepting on it (libuv accepts from the moment
 * it listens), and a connection the supervisor accepted would be lost: contain uses the handles
 * under net.Server, which bind without listening.
 */

/** Node's libuv handles: bind, fd, getsockname and close, nothing that accepts. */
interface UvHandle {
  fd: number
  bind(address: string, port: number): number
  bind6(address: string, port: number, flags: number): number
  getsockname(out: {address?: string; port?: number}): number
  close(callback?: () => void): void
}
interface UvPipe {
  fd: number
  bind(path: string): number
  close(callback?: () => void): void
}
type Binding = (name: string) => Record<string, unknown>
/** libuv's UV_TCP_IPV6ONLY: [::1]:3000 is that address, not also 127.0.0.1's. */
const UV_TCP_IPV6ONLY = 1

/** One bound socket; `fd` is what the launch passes to contain-init. */
export interface HeldSocket {
  address: ListenAddress
  fd: number
}

export interface HeldSockets {
  sockets: HeldSocket[]
  /** fds in LISTEN_FDS order, for the spawn's stdio from FIRST_LISTEN_FD. */
  fds: number[]
  /** Closes every socket; a unix socket's file is removed. Idempotent. */
  close(): void
}

function uvError(code: number): string {
  try {
    return getSystemErrorName(code)
  } catch {
    return `error ${code}`
  }
}

/** "pid 812 (nginx)" for each process with the socket open that listens on the port, read from /proc; empty when unreadable. */
export function holdersOfPort(port: number, readFile: (path: string) => string = path => readFileSync(path, 'utf8')): string[] {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = readFile(table)
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the inode.
      if (fields.length > 9 && fields[3] === '0A' && Number.parseInt(fields[1].split(':')[1] ?? '', 16) === port) inodes.add(fields[9])
    }
  }
  if (inodes.size === 0) return []
  const holders: string[] = []
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter(entry => /^[0-9]+$/.test(entry))
  } catch {
    return []
  }
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    const holds = fds.some(fd => {
      try {
        return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? '')
      } catch {
        return false
      }
    })
    if (!holds) continue
    let comm = '?'
    try {
      comm = readFile(`/proc/${pid}/comm`).trim()
    } catch {
      // gone meanwhile: the pid alone
    }
    holders.push(`pid ${pid} (${comm})`)
    if (holders.length === 5) break
  }
  return holders
}

function inUse(address: ListenAddress, detail: string, field: string): HostError {
  const holders = address.kind === 'tcp' ? holdersOfPort(address.port) : []
  const who = holders.length > 0 ? `; held by ${holders.join(', ')}` : ''
  return new HostError(`${field} ${address.text}: the address is in use${detail}${who}`, {
    fix: address.kind === 'tcp' ? 'stop what listens there (ss -ltnp shows it), or give another port' : 'stop what listens there, or give another path',
  })
}

function bindTcp(address: Extract<ListenAddress, {kind: 'tcp'}>, binding: Binding, field: string): {fd: number; close: () => void} {
  const {TCP, constants: tcp} = binding('tcp_wrap') as {TCP: new (type: number) => UvHandle; constants: {SERVER: number}}
  const handle = new TCP(tcp.SERVER)
  const ipv6 = address.host.includes(':')
  const code = ipv6 ? handle.bind6(address.host, address.port, UV_TCP_IPV6ONLY) : handle.bind(address.host, address.port)
  const bound: {port?: number} = {}
  // libuv keeps EADDRINUSE for listen(): a socket that did not get the port is still unbound.
  if (code === 0 && handle.getsockname(bound) === 0 && bound.port === address.port) return {fd: handle.fd, close: () => handle.close()}
  handle.close()
  if (code !== 0 && uvError(code) !== 'EADDRINUSE') {
    throw new HostError(`${field} ${address.text}: cannot bind: ${uvError(code)}`, {
      fix: uvError(code) === 'EADDRNOTAVAIL' ? 'give an address this host has (ip -brief address)' : 'see contain doctor',
    })
  }
  throw inUse(address, '', field)
}

/**
 * Opens each directory of `path` without following a symbolic link: a directory the app owns
 * cannot redirect root's socket elsewhere. `settled`: every directory is root's and no one else
 * may rename in it (not group/other writable, or sticky), so the path means the same at bind and
 * at the unlink on close.
 */
function openDirectoryNoFollow(path: string, address: ListenAddress, field: string): {fd: number; settled: boolean} {
  const settledDir = (fd: number) => {
    const {uid, mode} = fstatSync(fd)
    return uid === 0 && ((mode & 0o022) === 0 || (mode & 0o1000) !== 0)
  }
  let fd = openSync('/', constants.O_RDONLY | constants.O_DIRECTORY)
  let settled = settledDir(fd)
  for (const part of path.split('/').filter(Boolean)) {
    let next: number
    try {
      next = openSync(`/proc/self/fd/${fd}/${part}`, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
    } catch (error) {
      closeSync(fd)
      const code = (error as NodeJS.ErrnoException).code
      throw new HostError(
        `${field} ${address.text}: ${code === 'ELOOP' || code === 'ENOTDIR' ? `${part} in ${path} is not a directory (a symbolic link is not followed)` : `cannot open ${path}: ${code}`}`,
        {
          fix: code === 'ELOOP' || code === 'ENOTDIR' ? "give the socket's real path, through directories only" : 'create the directory first',
        },
      )
    }
    closeSync(fd)
    fd = next
    settled &&= settledDir(fd)
  }
  return {fd, settled}
}

/** A socket file no one listens on (left by a contain that was killed): connect is refused. */
function isStale(path: string): Promise<boolean> {
  return new Promise(resolve => {
    const probe = connect({path})
    probe.once('connect', () => {
      probe.destroy()
      resolve(false)
    })
    probe.once('error', error => resolve((error as NodeJS.ErrnoException).code === 'ECONNREFUSED'))
  })
}

async function bindUnix(address: Extract<ListenAddress, {kind: 'unix'}>, binding: Binding, field: string): Promise<{fd: number; close: () => void}> {
  const {Pipe, constants: pipe} = binding('pipe_wrap') as {Pipe: new (type: number) => UvPipe; constants: {SERVER: number}}
  const {fd: dir, settled} = openDirectoryNoFollow(dirname(address.path), address, field)
  // In a directory someone else could change, through the directory's descriptor: the name is
  // then the last component, which bind never follows (the app's getsockname shows that path).
  const at = settled ? address.path : `/proc/self/fd/${dir}/${basename(address.path)}`
  const bindOnce = (): {handle: UvPipe; code: number} => {
    const handle = new Pipe(pipe.SERVER)
    // As systemd's SocketMode=0666: any local user may connect (the file is root's; its directory decides who reaches it).
    const umask = process.umask(0o111)
    try {
      return {handle, code: handle.bind(at)}
    } finally {
      process.umask(umask)
    }
  }
  try {
    let {handle, code} = bindOnce()
    if (code !== 0 && uvError(code) === 'EADDRINUSE' && lstatSync(at, {throwIfNoEntry: false})?.isSocket() && (await isStale(at))) {
      handle.close()
      // unlink does not follow the name either.
      unlinkSync(at)
      ;({handle, code} = bindOnce())
    }
    if (code !== 0) {
      handle.close()
      if (uvError(code) === 'EADDRINUSE')
        throw inUse(
          address,
          lstatSync(at, {throwIfNoEntry: false})?.isSocket() ? ' (a socket something listens on)' : ' (a file that is not a socket is there)',
          field,
        )
      throw new HostError(`${field} ${address.text}: cannot bind: ${uvError(code)}`, {fix: 'check the directory: contain binds as root'})
    }
    return {
      fd: handle.fd,
      // libuv removes the socket file at close, by the name it was bound with: the directory's fd must still be open.
      close: () => {
        handle.close()
        closeSync(dir)
      },
    }
  } catch (error) {
    closeSync(dir)
    throw error
  }
}

/** Binds every address in order; on any failure the ones already bound are closed again. */
export async function bindSockets(
  addresses: ListenAddress[],
  field = '--listen',
  binding: Binding = (process as unknown as {binding: Binding}).binding.bind(process),
): Promise<HeldSockets> {
  const bound: {socket: HeldSocket; close(): void}[] = []
  let closed = false
  const close = () => {
    if (closed) return
    closed = true
    for (const entry of bound) entry.close()
  }
  try {
    for (const address of addresses) {
      const socket = address.kind === 'tcp' ? bindTcp(address, binding, field) : await bindUnix(address, binding, field)
      bound.push({socket: {address, fd: socket.fd}, close: socket.close})
    }
  } catch (error) {
    close()
    throw error
  }
  return {sockets: bound.map(entry => entry.socket), fds: bound.map(entry => entry.socket.fd), close}
}

/**
 * The supervisor's sockets for an app: those systemd passed to contain (a .socket unit) where one
 * serves the address, bound here for the rest. An inherited socket is never bound again and never
 * closed: close() closes only what was bound here, so the port systemd holds stays open while the
 * app is stopped, recreated or reloaded.
 */
export async function holdSockets(addresses: ListenAddress[], field: string, inherited: readonly InheritedSocket[] = inheritedSockets()): Promise<HeldSockets> {
  const given = inherited.length > 0 ? matchInherited(addresses, inherited) : addresses.map(() => undefined)
  const rest = addresses.filter((_, index) => !given[index])
  const bound = rest.length > 0 ? await bindSockets(rest, field) : undefined
  let next = 0
  const sockets = addresses.map((address, index): HeldSocket => {
    const socket = given[index]
    return socket ? {address, fd: socket.fd} : bound!.sockets[next++]
  })
  return {sockets, fds: sockets.map(socket => socket.fd), close: () => bound?.close()}
}
