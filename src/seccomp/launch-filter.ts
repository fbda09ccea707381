/**
 * The filter one launch loads: the profile read once, the cache probed once, and only on a miss
 * the compiler loaded (import()) and run on the text already read. A launch with a cached filter
 * loads neither the parser nor the compiler.
 */
import type {CapabilityName} from '../capabilities.js'
import {seccompCacheDir} from '../paths.js'
import {cacheFileContents, cachedFilterPath, filterHash, filterKey, readCachedFilter, writeCachedFilter} from './cache.js'
import {currentKernelVersion, seccompArchOf} from './host.js'
import {readProfileText} from './profile-file.js'

export interface LaunchFilterRequest {
  /** The profile file (profileFile() of the app's choice). */
  file: string
  capabilities: readonly CapabilityName[]
  strict: boolean
  complain: boolean
  /** Where compiled filters are kept; must be writable only by contain (default: paths.ts's). */
  cacheDir?: string
}

export interface LaunchFilter {
  filter: Buffer
  /** The compiler's warnings; a cached filter has none, they were given when it was compiled. */
  warnings: string[]
  cache: 'memory' | 'disk' | 'miss'
}

/** A supervisor plans many apps, often with one profile: each is compiled or read once per process. */
const compiled = new Map<string, Buffer>()

/** Forget the filters this process has (tests: the next launch probes the disk again). */
export function forgetLaunchFilters(): void {
  compiled.clear()
}

export async function launchFilter(request: LaunchFilterRequest): Promise<LaunchFilter> {
  const text = await readProfileText(request.file)
  const arch = seccompArchOf()
  const kernel = currentKernelVersion()
  const key = filterKey({text, arch, kernel, capabilities: request.capabilities, strict: request.strict, complain: request.complain})
  const inMemory = compiled.get(key)
  if (inMemory) return {filter: Buffer.from(inMemory), warnings: [], cache: 'memory'}
  const cacheFile = cachedFilterPath(request.cacheDir ?? seccompCacheDir(), filterHash(key))
  const onDisk = readCachedFilter(cacheFile, key)
  if (onDisk) {
    compiled.set(key, onDisk)
    return {filter: Buffer.from(onDisk), warnings: [], cache: 'disk'}
  }
  const {compileProfileText} = await import('./bpf.js')
  const {filter, warnings} = compileProfileText(text, {
    file: request.file,
    capabilities: request.capabilities,
    strict: request.strict,
    complain: request.complain,
    arch,
    kernel,
  })
  compiled.set(key, filter)
  writeCachedFilter(cacheFile, cacheFileContents(filter, key))
  return {filter: Buffer.from(filter), warnings, cache: 'miss'}
}
