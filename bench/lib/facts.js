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
  const hard = name => {
    const line = limits.split('\n').find(l => l.startsWith(name))
    const value = line?.slice(name.length).trim().split(/\s+/)[1]
    return value === 'unlimited' || value === undefined ? 1_048_576 : Number(value)
  }
  return {nofile: Math.min(hard('Max open files'), 1_048_576), nproc: Math.min(hard('Max processes'), 4_194_304)}
}

/**
 * Variables that change what Node does at every start. NODE_EXTRA_CA_CERTS (set on some hosts,
 * this one among them) makes each node process load a CA bundle: about 40 ms here, which would
 * raise the `node -e 0` floor that every launch ratio is taken against, and flatter contain.
 * Every suite measures without them; the result files name the ones removed.
 */
export const NODE_START_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS']

/** Removes NODE_START_VARIABLES from this process's environment (every peer inherits it); returns what was set. */
export function clearNodeStartVariables(env = process.env) {
  const removed = {}
  for (const name of NODE_START_VARIABLES) {
    if (env[name] === undefined) continue
    removed[name] = env[name]
    delete env[name]
  }
  return removed
}

export async function machineFacts(layout, nodeStartVariablesRemoved = {}) {
  const osRelease = read('/etc/os-release').match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1]
  return {
    kernel: release(),
    kernelBuild: version(),
    os: osRelease,
    cpuModel: cpus()[0]?.model ?? read('/proc/cpuinfo').match(/model name\s*:\s*(.*)/)?.[1],
    cpuCount: cpus().length,
    memoryMiB: Math.round(totalmem() / 2 ** 20),
    cgroupMode: layout.mode,
    ownCgroups: Object.fromEntries(layout.hierarchies.map(h => [h.version === 2 ? 'unified (v2)' : h.controllers.join(','), h.ownPath])),
    node: process.version,
    nodeStartVariablesRemoved,
    uid: process.getuid?.(),
    loadAverageAtStart: loadavg().map(x => Number(x.toFixed(2))),
    virtualization: (await run('systemd-detect-virt', [])).stdout || undefined,
  }
}
