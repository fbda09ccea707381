/**
 * Compiled filters cached on disk by a hash of everything that decides them. Kept apart from the
 * compiler so that a launch with a cached filter does not load the compiler at all.
 */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {CapabilityName} from '../capabilities.js'
import type {KernelVersion} from './profile.js'
import type {SeccompArch} from './syscalls.js'

/** Bump when the compiler's output changes, so old cached filters are not reused. */
export const COMPILER_VERSION = 1
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

export function filterHash(key: FilterKey): string {
  const capabilities = [...new Set(key.capabilities)].sort()
  return createHash('sha256')
    .update(JSON.stringify({compiler: COMPILER_VERSION, arch: key.arch, kernel: [key.kernel.major, key.kernel.minor], capabilities, strict: key.strict, complain: key.complain}))
    .update('\0')
    .update(key.text)
    .digest('hex')
}

export function cachedFilterPath(dir: string, hash: string): string {
  return join(dir, `${hash}.bpf`)
}

/** A cached filter, or undefined. A torn or foreign file is not trusted: it must be whole instructions. */
export function readCachedFilter(file: string): Buffer | undefined {
  try {
    const filter = readFileSync(file)
    return filter.length > 0 && filter.length % 8 === 0 && filter.length / 8 <= MAX_INSTRUCTIONS ? filter : undefined
  } catch {
    return undefined
  }
}
