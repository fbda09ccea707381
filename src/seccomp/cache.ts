/**
 * Compiled filters cached on disk by a hash of everything that decides them. Kept apart from the
 * compiler so that a launch with a cached filter does not load the compiler at all.
 */
// Synchronous on purpose: node:fs/promises costs every launch a millisecond to load, for a write
// made only on a cache miss.
import {mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {CapabilityName} from '../capabilities.js'
import type {KernelVersion} from './profile.js'
import type {SeccompArch} from './syscalls.js'

/** Bump when the compiler's output changes, so old cached filters are not reused (2: 32-bit arguments compared on their low word). */
export const COMPILER_VERSION = 2
/** The kernel's limit on a filter's length (BPF_MAXINSNS). */
export const MAX_INSTRUCTIONS = 4096

export interface FilterKey {
  text: string
  arch: SeccompArch
  kernel: KernelVersion
  capabilities: readonly CapabilityName[]
  strict: boolean
  complain: boolean
}

/** Everything that decides a filter, as one string: a cache file must end with exactly it to be used. */
export function filterKey(key: FilterKey): string {
  const capabilities = [...new Set(key.capabilities)].sort()
  return `${JSON.stringify({compiler: COMPILER_VERSION, arch: key.arch, kernel: [key.kernel.major, key.kernel.minor], capabilities, strict: key.strict, complain: key.complain})}\0${key.text}`
}

/** Characters of the profile text that the file name is computed from, at most. */
const NAME_SAMPLES = 1024

/**
 * Names the cache file from the key's length, its inputs, and up to 1024 evenly spaced
 * characters of the profile. Not sha256:
 * loading node:crypto alone costs a launch several ms, and hashing a whole profile in JavaScript
 * about as much. The name only has to spread keys: a file is used only when it holds the whole
 * key (readCachedFilter), so two keys with one name only take turns in the file.
 */
export function filterHash(key: FilterKey | string): string {
  const text = typeof key === 'string' ? key : filterKey(key)
  const profileStart = text.indexOf('\0') + 1
  const step = Math.max(1, Math.ceil((text.length - profileStart) / NAME_SAMPLES))
  let low = 0x811c9dc5
  let high = text.length
  for (let index = 0; index < text.length; index += index < profileStart ? 1 : step) {
    const code = text.charCodeAt(index)
    low = Math.imul(low ^ code, 0x01000193)
    high = Math.imul(high ^ code, 0x5bd1e995) ^ (high >>> 13)
  }
  const hex = (value: number) => (value >>> 0).toString(16).padStart(8, '0')
  return `${hex(low)}${hex(high)}`
}

export function cachedFilterPath(dir: string, hash: string): string {
  return join(dir, `${hash}.bpf`)
}

/** What a cache file holds: the filter, then its key, which a reader compares whole. */
export function cacheFileContents(filter: Buffer, key: string): Buffer {
  return Buffer.concat([filter, Buffer.from(key, 'utf8')])
}

/**
 * A cached filter, or undefined. A torn or foreign file, or one for another key that hashed to
 * the same name, is not trusted: it must be whole instructions followed by exactly this key.
 */
export function readCachedFilter(file: string, key: string): Buffer | undefined {
  try {
    const contents = readFileSync(file)
    const keyBytes = Buffer.from(key, 'utf8')
    const length = contents.length - keyBytes.length
    if (length <= 0 || length % 8 !== 0 || length / 8 > MAX_INSTRUCTIONS || !contents.subarray(length).equals(keyBytes)) return undefined
    return contents.subarray(0, length)
  } catch {
    return undefined
  }
}

/**
 * Write then rename, so a concurrent launch never reads half a filter; only this user may write there.
 * The cache only saves compile time: a read-only or full disk costs that, and is no warning.
 */
export function writeCachedFilter(file: string, contents: Buffer): void {
  const temporary = `${file}.${process.pid}.tmp`
  try {
    mkdirSync(join(file, '..'), {recursive: true, mode: 0o700})
    writeFileSync(temporary, contents, {mode: 0o600, flag: 'wx'})
    renameSync(temporary, file)
  } catch {
    try {
      rmSync(temporary, {force: true})
    } catch {
      // nothing was written, or the directory went away: the cache only saves time
    }
  }
}
