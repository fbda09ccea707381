import {statSync} from 'node:fs'
import {isIP} from 'node:net'
import {dirname, isAbsolute, normalize} from 'node:path'
import {InvalidValueError} from '../errors.js'

/**
 * A socket contain binds for the app (--listen, listen:) and passes on with systemd's protocol.
 * `name` goes into LISTEN_FDNAMES: systemd's rules (no ':', printable ASCII, at most 255).
 */
export type ListenAddress = {kind: 'tcp'; text: string; name: string; host: string; port: number} | {kind: 'unix'; text: string; name: string; path: string}

/**
 * listen(2)'s backlog for every socket of --listen: connections the kernel completes and queues
 * while the app is not accepting (restarting). The kernel caps it at net.core.somaxconn (4096
 * since Linux 5.4); beyond it new connections are not refused either, their SYNs are dropped and
 * the client retries until its own connect timeout.
 */
export const LISTEN_BACKLOG = 4096

const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,255}$/
/** sockaddr_un holds 108 bytes with the NUL; the kernel takes the path whole or not at all. */
const MAX_UNIX_PATH = 107

const FIX = 'write tcp://HOST:PORT (an IP address: tcp://127.0.0.1:3000, tcp://[::1]:3000, tcp://0.0.0.0:80) or unix:///ABSOLUTE/PATH, optionally after NAME='

/** The name an address gets without NAME=: itself, with every character LISTEN_FDNAMES cannot carry as '-'. */
function defaultName(text: string): string {
  return (
    text
      .replace(/[^A-Za-z0-9_.]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 255) || 'listen'
  )
}

/**
 * `[NAME=]tcp://HOST:PORT` or `[NAME=]unix:///PATH`. HOST is an IP literal (no DNS on the launch
 * path, and a name could resolve to several addresses). A unix socket's directory must exist:
 * contain creates the socket file, never directories.
 */
export function parseListenAddress(flag: string, entry: string, directoryExists: (path: string) => boolean = isDirectory): ListenAddress {
  const named = /^([^=:/]+)=(.*)$/s.exec(entry)
  const name = named?.[1]
  const text = named ? named[2] : entry
  if (name !== undefined && !NAME_PATTERN.test(name))
    throw new InvalidValueError(flag, entry, 'has a name LISTEN_FDNAMES cannot carry', 'use letters, digits, _, . and - for NAME (at most 255)')
  const tcp = /^tcp:\/\/(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(text)
  if (tcp) {
    const host = tcp[1] ?? tcp[2]
    const port = Number(tcp[3])
    if (isIP(host) !== (tcp[1] === undefined ? 4 : 6))
      throw new InvalidValueError(flag, entry, `${host} is not an IPv${tcp[1] === undefined ? 4 : 6} address`, FIX)
    if (port < 1 || port > 65_535)
      throw new InvalidValueError(
        flag,
        entry,
        'has a port outside 1-65535',
        'give a port from 1 to 65535 (contain binds it as root: ports below 1024 need no capability in the app)',
      )
    return {kind: 'tcp', text, name: name ?? defaultName(text), host, port}
  }
  if (text.startsWith('unix://')) {
    const path = text.slice('unix://'.length)
    if (!isAbsolute(path) || path.endsWith('/'))
      throw new InvalidValueError(
        flag,
        entry,
        'needs an absolute path to the socket file',
        'write unix:///run/app/web.sock (three slashes: unix:// and the path)',
      )
    if (path.split('/').includes('..') || normalize(path) !== path)
      throw new InvalidValueError(flag, entry, 'has a path with .., // or ./', "write the socket's path plainly")
    if (Buffer.byteLength(path) > MAX_UNIX_PATH)
      throw new InvalidValueError(flag, entry, `has a path longer than the kernel's ${MAX_UNIX_PATH} bytes for a unix socket`, 'use a shorter path')
    if (!directoryExists(dirname(path)))
      throw new InvalidValueError(
        flag,
        entry,
        `the directory ${dirname(path)} does not exist`,
        `create it first (mkdir -p ${dirname(path)}), or give a socket path in an existing directory`,
      )
    return {kind: 'unix', text, name: name ?? defaultName(text), path}
  }
  throw new InvalidValueError(flag, entry, 'not a listen address', FIX)
}

function isDirectory(path: string): boolean {
  return statSync(path, {throwIfNoEntry: false})?.isDirectory() ?? false
}

/** Every address once: the same port twice would fail at bind with a confusing "in use". */
export function parseListenAddresses(flag: string, entries: string[], directoryExists?: (path: string) => boolean): ListenAddress[] {
  const addresses = entries.map(entry => parseListenAddress(flag, entry, directoryExists))
  const seen = new Set<string>()
  for (const [index, address] of addresses.entries()) {
    if (seen.has(address.text)) throw new InvalidValueError(flag, entries[index], 'is given twice', 'give each address once')
    seen.add(address.text)
  }
  return addresses
}
