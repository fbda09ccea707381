import {availableParallelism} from 'node:os'
import {readFileSync} from 'node:fs'
import {detectLayout, planCgroup} from '../cgroup/index.js'
import type {RawRunFlags} from '../config/schema.js'
import {formatBytes} from '../config/units.js'
import {HostError} from '../errors.js'
import {findOnPath, initPath} from '../paths.js'
import {resolveRunOptions, type HostFacts} from './options.js'
import {planLaunch, type LaunchPlan} from './plan.js'
import {launch, type LaunchOutcome} from './spawn.js'

export function hostFacts(): HostFacts {
  return {cpus: availableParallelism(), env: process.env, cwd: process.cwd(), readFile: path => readFileSync(path, 'utf8')}
}

/** Validates flags and decides the whole launch; touches nothing on the host. */
export async function planRun(raw: RawRunFlags, command: string[], host: HostFacts = hostFacts()): Promise<LaunchPlan> {
  const options = await resolveRunOptions(raw, command, host)
  const cgroup = planCgroup(detectLayout(), options.name, options.limits)
  return planLaunch(options, cgroup, {init: initPath(), unshare: findOnPath('unshare', host.env.PATH) ?? 'unshare'})
}

function formatPlan(plan: LaunchPlan): string {
  const lines = [`app ${plan.name} (cgroup ${plan.cgroup.mode})`]
  const delegation = plan.cgroup.delegation
  if (delegation?.leafDir) lines.push(`move contain to ${delegation.leafDir}`)
  if (delegation) lines.push(`write ${delegation.ownDir}/cgroup.subtree_control = ${delegation.enable.map(name => `+${name}`).join(' ')}`)
  for (const dir of plan.cgroup.dirs) lines.push(`mkdir ${dir}`)
  for (const {path, value} of plan.cgroup.writes) lines.push(`write ${path} = ${value}`)
  lines.push(`exec ${plan.argv.map(arg => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ')}`)
  return lines.join('\n')
}

function describeOutcome(outcome: LaunchOutcome): string | undefined {
  if (!outcome.oomKilled) return undefined
  const {memoryLimitBytes: limit, peakMemoryBytes: peak} = outcome.cgroup
  const figures = [limit === undefined ? undefined : `limit ${formatBytes(limit)}`, peak === undefined ? undefined : `peak ${formatBytes(peak)}`].filter(Boolean)
  return `contain: ${outcome.name} was OOM-killed by its memory limit${figures.length > 0 ? ` (${figures.join(', ')})` : ''}`
}

export interface RunIo {
  stdout(text: string): void
  stderr(text: string): void
}

/** `contain run`: the app's exit status becomes contain's. Errors are thrown as ContainError. */
export async function runApp(raw: RawRunFlags, command: string[], io: RunIo): Promise<number> {
  const plan = await planRun(raw, command)
  if (raw['dry-run']) {
    io.stdout(raw.json ? JSON.stringify({name: plan.name, namespaces: plan.namespaces, cgroup: plan.cgroup, argv: plan.argv}, null, 2) : formatPlan(plan))
    return 0
  }
  if (process.getuid?.() !== 0 && !plan.namespaces.includes('user')) {
    throw new HostError('contain run needs root to create cgroups and namespaces', {fix: 'run it as root (sudo), or add --userns to run in a user namespace'})
  }
  const outcome = await launch(plan)
  const message = describeOutcome(outcome)
  if (message) io.stderr(message)
  if (raw.json) io.stdout(JSON.stringify(outcome))
  return outcome.exitCode
}
