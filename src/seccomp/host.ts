import {release} from 'node:os'
import {HostError} from '../errors.js'
import type {SeccompArch} from './syscalls.js'

/** A kernel's major.minor, as seccomp profiles' minKernel gives it. */
export interface KernelVersion {
  major: number
  minor: number
}

/** The seccomp architecture of this host; contain compiles filters for x86_64 and aarch64. */
export function seccompArchOf(nodeArch: string = process.arch): SeccompArch {
  if (nodeArch === 'x64') return 'x86_64'
  if (nodeArch === 'arm64') return 'aarch64'
  throw new HostError(`seccomp: contain compiles filters for x86_64 and aarch64 only, and this host is ${nodeArch}`, {
    fix: 'run on an x86_64 or aarch64 host, or run the app with --seccomp unconfined',
  })
}

/** The running kernel's major.minor, from uname's release ("6.1.0-18-amd64" -> 6.1). */
export function currentKernelVersion(kernelRelease: string = release()): KernelVersion {
  const match = /^(\d+)\.(\d+)/.exec(kernelRelease)
  if (!match) {
    throw new HostError(`cannot read the kernel version from ${JSON.stringify(kernelRelease)}`, {
      fix: 'pass the kernel version explicitly; minKernel rules need it',
    })
  }
  return {major: Number(match[1]), minor: Number(match[2])}
}
