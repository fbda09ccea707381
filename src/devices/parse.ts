import {statSync} from 'node:fs'
import {isAbsolute} from 'node:path'
import {InvalidValueError} from '../errors.js'
import type {DeviceOption} from './rules.js'

/** What contain needs to know of a host node; injectable for tests. */
export interface NodeStat {
  kind: 'block' | 'char' | 'file' | 'directory' | 'other'
  /** st_rdev, for device nodes. */
  rdev: bigint
}

export function statNode(path: string): NodeStat | undefined {
  const stat = statSync(path, {bigint: true, throwIfNoEntry: false})
  if (!stat) return undefined
  const kind = stat.isBlockDevice() ? 'block' : stat.isCharacterDevice() ? 'char' : stat.isFile() ? 'file' : stat.isDirectory() ? 'directory' : 'other'
  return {kind, rdev: stat.rdev}
}

/** glibc's gnu_dev_major / gnu_dev_minor: the kernel's dev_t split into its two numbers. */
export function majorOf(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n))
}

export function minorOf(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n))
}

/** Docker's device modes: some of r, w and m, each once. */
function isAccess(text: string): boolean {
  return /^[rwm]{1,3}$/.test(text) && new Set(text).size === text.length
}

/** Sorted as cgroup v1 prints them, so equal modes compare equal. */
function normalizeAccess(text: string): string {
  return ['r', 'w', 'm'].filter(letter => text.includes(letter)).join('')
}

/**
 * Docker's `--device HOST[:CONTAINER][:PERMISSIONS]` (compose's `devices:` entries): the host node
 * is looked up now, and must be a character or block device; its numbers go into the allow rule.
 */
export function parseDevice(flag: string, text: string, stat: (path: string) => NodeStat | undefined = statNode): DeviceOption {
  const parts = text.split(':')
  if (parts.length > 3 || parts.some(part => part === '')) {
    throw new InvalidValueError(flag, text, 'is not of the form HOST[:CONTAINER][:rwm]', `write e.g. ${flag} /dev/fuse or ${flag} /dev/fuse:/dev/fuse:rwm`)
  }
  const host = parts[0]
  let container = host
  let access = 'rwm'
  if (parts.length === 3) {
    container = parts[1]
    access = parts[2]
  } else if (parts.length === 2) {
    // Docker's rule: a second part that reads as a mode is the mode, otherwise the container path.
    if (isAccess(parts[1])) access = parts[1]
    // A few letters where a path would start with /: a mistyped mode, not a path in the app.
    else if (/^[a-z]{1,4}$/i.test(parts[1])) access = parts[1]
    else container = parts[1]
  }
  if (!isAccess(access)) {
    throw new InvalidValueError(
      flag,
      text,
      `unknown access mode ${JSON.stringify(access)}`,
      'use some of r (read), w (write) and m (mknod), each once, e.g. rw or rwm',
    )
  }
  if (!isAbsolute(host))
    throw new InvalidValueError(flag, text, `the host device ${JSON.stringify(host)} must be an absolute path`, `write it from /, e.g. ${flag} /dev/fuse`)
  if (!isAbsolute(container))
    throw new InvalidValueError(
      flag,
      text,
      `the path in the app ${JSON.stringify(container)} must be absolute`,
      `write it from /, e.g. ${flag} ${host}:/dev/${container.replace(/^\.?\/*/, '')}`,
    )
  const node = stat(host)
  if (!node)
    throw new InvalidValueError(
      flag,
      text,
      `there is no ${host} on this host`,
      'give the path of an existing device node (ls -l /dev shows them), or leave it out',
    )
  if (node.kind !== 'block' && node.kind !== 'char') {
    const what = node.kind === 'file' ? 'a regular file' : node.kind === 'directory' ? 'a directory' : 'not a device'
    throw new InvalidValueError(
      flag,
      text,
      `${host} is ${what}, not a character or block device`,
      node.kind === 'directory'
        ? 'name each device node in the directory on its own'
        : 'give a device node from /dev (ls -l /dev shows them, their mode starts with c or b)',
    )
  }
  return {host, container, type: node.kind === 'block' ? 'b' : 'c', major: majorOf(node.rdev), minor: minorOf(node.rdev), access: normalizeAccess(access)}
}
