import {InvalidValueError} from '../errors.js'

const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*([bkmgtp]?)(?:i?b)?$/i
const SIZE_MULTIPLIERS: Record<string, number> = {'': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50}

/** Docker's minimum for --memory: below it the app cannot even start its runtime. */
export const MIN_MEMORY_BYTES = 6 * 2 ** 20

/** Parses a size the way Docker does: binary multiples, optional unit b/k/m/g/t/p, decimals allowed. */
export function parseSize(field: string, text: string): number {
  const match = SIZE_PATTERN.exec(text.trim())
  if (!match) {
    throw new InvalidValueError(field, text, 'not a size', 'use a number with an optional unit b, k, m or g, e.g. 512m or 1.5g')
  }
  const bytes = Math.floor(Number(match[1]) * SIZE_MULTIPLIERS[match[2].toLowerCase()])
  if (!Number.isSafeInteger(bytes)) throw new InvalidValueError(field, text, 'size is too large', 'use a smaller size')
  return bytes
}

/** --memory and friends: a size of at least 6 MiB (Docker's floor). */
export function parseMemoryLimit(field: string, text: string): number {
  const bytes = parseSize(field, text)
  if (bytes < MIN_MEMORY_BYTES) {
    throw new InvalidValueError(field, text, 'the minimum memory limit is 6 MiB', 'use 6m or more')
  }
  return bytes
}

/** --memory-swap: a size, or -1 for unlimited swap. */
export function parseSwapLimit(field: string, text: string): number | 'unlimited' {
  if (text.trim() === '-1') return 'unlimited'
  return parseMemoryLimit(field, text)
}

/** --cpus: a decimal number of CPUs between 0.01 and the host's count, as Docker accepts it. */
export function parseCpus(field: string, text: string, hostCpus: number): number {
  const cpus = /^\d*\.?\d+$/.test(text.trim()) ? Number(text) : Number.NaN
  if (!Number.isFinite(cpus)) throw new InvalidValueError(field, text, 'not a number', 'use a decimal number of CPUs, e.g. 0.5 or 2')
  if (cpus < 0.01 || cpus > hostCpus) {
    throw new InvalidValueError(field, text, `the range of CPUs is 0.01 to ${hostCpus} on this host`, `use a value from 0.01 to ${hostCpus}`)
  }
  return cpus
}

/** A whole number in [min, max]. */
export function parseInteger(field: string, text: string, min: number, max: number, fix: string): number {
  const value = /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidValueError(field, text, `must be a whole number from ${min} to ${max}`, fix)
  }
  return value
}

/** A CPU list as the kernel writes it ("0-3,8"): every CPU must exist on this host. */
export function parseCpuList(field: string, text: string, hostCpus: number): string {
  const list = text.trim()
  const ranges = list.split(',').map(part => /^(\d+)(?:-(\d+))?$/.exec(part))
  for (const range of ranges) {
    const first = range ? Number(range[1]) : Number.NaN
    const last = range?.[2] === undefined ? first : Number(range[2])
    if (!range || last < first) {
      throw new InvalidValueError(field, text, 'not a CPU list', 'use CPU numbers and ranges such as 0-1 or 0,2')
    }
    if (last >= hostCpus) {
      throw new InvalidValueError(field, text, `CPU ${last} does not exist (this host has CPUs 0-${hostCpus - 1})`, `use CPUs from 0 to ${hostCpus - 1}`)
    }
  }
  return list
}

export {formatBytes} from '../format-bytes.js'
