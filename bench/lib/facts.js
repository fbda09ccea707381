// Facts about the machine that go into every result file.
import {cpus, loadavg, release, totalmem, version} from 'node:os'
import {readFileSync} from 'node:fs'
import {run} from './proc.js'

function read(file) {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

export function hostLimits() {
  const limits = read('/proc/self/limits')
  const hard = (name) => {
    const line = limits.split('\n').find((l) => l.startsWith(name))
    const value = line?.slice(name.length).trim().split(/\s+/)[1]
    return value === 'unlimited' || value === undefined ? 1_048_576 : Number(value)
  }
  return {nofile: Math.min(hard('Max open files'), 1_048_576), nproc: Math.min(hard('Max processes'), 4_194_304)}
}

export async function machineFacts(layout) {
  const osRelease = read('/etc/os-release').match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1]
  return {
    kernel: release(),
    kernelBuild: version(),
    os: osRelease,
    cpuModel: cpus()[0]?.model ?? read('/proc/cpuinfo').match(/model name\s*:\s*(.*)/)?.[1],
    cpuCount: cpus().length,
    memoryMiB: Math.round(totalmem() / 2 ** 20),
    cgroupMode: layout.mode,
    ownCgroups: Object.fromEntries(layout.hierarchies.map((h) => [h.version === 2 ? 'unified (v2)' : h.controllers.join(','), h.ownPath])),
    node: process.version,
    uid: process.getuid?.(),
    loadAverageAtStart: loadavg().map((x) => Number(x.toFixed(2))),
    virtualization: (await run('systemd-detect-virt', [])).stdout || undefined,
  }
}
