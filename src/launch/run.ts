import {accessSync, constants, statSync} from 'node:fs'
import {availableParallelism, hostname} from 'node:os'
import {dirname, resolve} from 'node:path'
import {planCgroup, planningLayout, RUN_SCOPE, type CgroupPlan} from '../cgroup/index.js'
import {MAX_HOST_FILE_BYTES, readFileUpTo} from '../trusted-file.js'
import {formatBytes} from '../format-bytes.js'
import {deviceRules, formatRule} from '../devices/rules.js'
import {HostError, OptionFieldsError} from '../errors.js'
import {findOnPath, initPath, stateRoot} from '../paths.js'
import {launchFilter} from '../seccomp/launch-filter.js'
import type {HostFacts, RunOptions} from './options.js'
import {isTerminal} from './environment.js'
import {planLaunch, type LaunchPlan} from './plan.js'
import type {ViewStep} from './view.js'
import {launch, type LaunchOutcome} from './spawn.js'
import {describeUser, rootWarning} from './user.js'

export function hostFacts(): HostFacts {
  // contain run passes its stdio to the app: TERM goes along when that is a terminal.
  return {
    cpus: availableParallelism(),
    env: process.env,
    cwd: process.cwd(),
    readFile: path => readFileUpTo(path, MAX_HOST_FILE_BYTES).toString('utf8'),
    terminal: isTerminal(0) || isTerminal(1),
    hostname: hostname(),
  }
}

export interface PlannedRun {
  options: RunOptions
  plan: LaunchPlan
  warnings: string[]
}

/** Root may create cgroups anywhere; another user only below a cgroup delegated to it (chown'd by systemd). */
function mayWrite(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Without a delegated cgroup a non-root user (--userns) still gets namespaces, capabilities and
 * seccomp: the app then runs in contain's own cgroup, and ends with its PID 1 (pid namespace).
 * Limits cannot be had that way, and are refused with the reason.
 */
function cgroupForUser(cgroup: CgroupPlan, options: RunOptions, warnings: string[]): CgroupPlan {
  // contain's own cgroup, above `contain/<scope>/<app>`: whatever is below it is made by contain.
  const denied = process.getuid?.() === 0 ? undefined : cgroup.dirs.map(dir => dirname(dirname(dirname(dir)))).find(dir => !mayWrite(dir))
  if (denied === undefined) return cgroup
  const who = `contain (uid ${process.getuid?.()}) may not create cgroups below ${denied}, which is not delegated to this user`
  // The limits' fields; config/naming.ts names them as the user wrote them (--memory, mem_limit).
  const fields = Object.keys(options.limits).filter(key => key !== 'cpuPeriodMicros')
  if (fields.length > 0) {
    throw new OptionFieldsError(fields, names => ({
      problem: `need${names.length === 1 ? 's' : ''} a cgroup of the app's own, and ${who}`,
      fix: 'run contain as root, or in a delegated cgroup (systemd-run --user --scope -p Delegate=yes contain run ...), or leave the limits out',
    }))
  }
  if (!options.namespaces.includes('pid')) {
    throw new HostError(`without the pid namespace contain needs a cgroup to find every process of the app when it ends, and ${who}`, {
      fix: 'keep the pid namespace (leave -pid out of --namespaces), or run contain as root',
    })
  }
  warnings.push(`${who}: the app runs without limits, in contain's own cgroup, and ends with its PID 1`)
  return {...cgroup, delegation: undefined, parents: [], dirs: [], writes: [], procsFiles: [], attachFiles: [], cloneInto: undefined, deviceProgram: undefined}
}

/**
 * Decides the whole launch of validated options (config/resolve.ts), seccomp filter included;
 * touches no cgroup. `scope` is the project's key (projectKey) for an app of contain up; contain
 * run's apps share RUN_SCOPE.
 */
export async function planRun(options: RunOptions, host: HostFacts = hostFacts(), scope = RUN_SCOPE): Promise<PlannedRun> {
  const warnings: string[] = []
  // Only root can restrict devices (devices.* files, bpf()); an app started by another user opens
  // no more devices than that user may, and cannot create device nodes in its user namespace.
  const devices = process.getuid?.() === 0 ? deviceRules(options.devices, options.security.privileged) : undefined
  const cgroup = cgroupForUser(planCgroup(planningLayout(), {scope, name: options.name}, options.limits, undefined, devices), options, warnings)
  if (options.security.privileged) warnings.push('--privileged: the app gets every capability and no seccomp filter; it can undo its own isolation')
  let seccompFilter: Buffer | undefined
  const {seccompProfile, seccompStrict, seccompMode, capabilities} = options.security
  if (seccompProfile !== undefined) {
    const filter = await launchFilter({file: seccompProfile, capabilities, strict: seccompStrict, complain: seccompMode === 'complain'})
    seccompFilter = filter.filter
    warnings.push(...filter.warnings)
  }
  // Where this user's supervisors keep their control sockets, configured and default: hidden from the app.
  const hidden = [stateRoot(host.env as NodeJS.ProcessEnv), stateRoot({...host.env, CONTAIN_STATE_DIR: undefined})].map(dir => resolve(dir))
  const procEntry = (path: string) => {
    const stat = statSync(path, {throwIfNoEntry: false})
    return stat?.isDirectory() ? 'directory' : stat ? 'file' : undefined
  }
  const plan = planLaunch(options, cgroup, {init: initPath(), unshare: findOnPath('unshare', host.env.PATH) ?? 'unshare'}, seccompFilter, {
    hiddenPaths: hidden,
    procEntry,
  })
  if (options.view === 'host')
    warnings.push(
      "view host: the app sees and may use the host's whole filesystem (its home directories, /root, other apps, /dev); leave --view host / view: host out for a view of its own",
    )
  warnings.push(...(plan.view?.warnings ?? []))
  return {options, plan, warnings}
}

/** One line per step of the app's view, in mount order. */
function describeStep(step: ViewStep): string {
  if (step.kind === 'symlink') return `symlink ${step.target} -> ${step.to}`
  if (step.kind === 'fs')
    return `${step.fsType} ${step.target}${step.data ? ` ${step.data}` : ''}${step.readOnly ? ' read-only' : ''}${step.noexec ? ' noexec' : ''}`
  return `bind ${step.source === '.' ? step.target : step.source} ${step.target} ${step.readOnly ? 'read-only' : 'writable'}${step.devices ? ' device' : ''}`
}

function formatPlan(plan: LaunchPlan, options: RunOptions): string {
  const lines = [
    `app ${plan.name} (cgroup ${plan.cgroup.mode})`,
    describeUser({user: options.user, reason: options.userReason}, options.workdir, process.geteuid?.() ?? 0),
    `environment: ${Object.keys(plan.env).join(' ')}`,
  ]
  const delegation = plan.cgroup.delegation
  if (delegation?.leafDir) lines.push(`move contain to ${delegation.leafDir}`)
  if (delegation) lines.push(`write ${delegation.ownDir}/cgroup.subtree_control = ${delegation.enable.map(name => `+${name}`).join(' ')}`)
  for (const parent of plan.cgroup.parents) {
    lines.push(`mkdir ${parent.dir} (shared, if missing; removed when its last app goes)`)
    if (parent.inheritCpuset) lines.push(`copy cpuset.cpus and cpuset.mems into ${parent.dir} from its parent, if empty`)
    if (parent.enable.length > 0) lines.push(`write ${parent.dir}/cgroup.subtree_control = ${parent.enable.map(name => `+${name}`).join(' ')}`)
  }
  for (const dir of plan.cgroup.dirs) lines.push(`mkdir ${dir}`)
  for (const {path, value} of plan.cgroup.writes) lines.push(`write ${path} = ${value}`)
  if (plan.cgroup.deviceProgram) {
    const {cgroup, rules} = plan.cgroup.deviceProgram
    lines.push(`device program for ${cgroup}: ${(plan.deviceProgram?.length ?? 0) / 8} eBPF instructions, allowing only:`)
    for (const rule of rules) lines.push(`  ${formatRule(rule)}${rule.note ? `  (${rule.note})` : ''}`)
  }
  for (const bind of plan.deviceBinds) lines.push(`device ${bind.host} -> ${bind.container}`)
  for (const [index, address] of plan.listen.entries()) lines.push(`listen ${address.text} as fd ${3 + index} (${address.name})`)
  if (plan.seccompFilter) lines.push(`seccomp filter: ${plan.seccompFilter.length / 8} BPF instructions`)
  for (const step of plan.view?.steps ?? []) lines.push(`view ${describeStep(step)}`)
  lines.push(`exec ${plan.argv.map(arg => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ')}`)
  return lines.join('\n')
}

function describeOutcome(outcome: LaunchOutcome): string | undefined {
  if (!outcome.oomKilled) return undefined
  const {memoryLimitBytes: limit, peakMemoryBytes: peak} = outcome.cgroup
  const figures = [limit === undefined ? undefined : `limit ${formatBytes(limit)}`, peak === undefined ? undefined : `peak ${formatBytes(peak)}`].filter(
    Boolean,
  )
  return `contain: ${outcome.name} was OOM-killed by its memory limit${figures.length > 0 ? ` (${figures.join(', ')})` : ''}`
}

/** After a complain-mode run: what the profile would have denied, by name, and how to allow it. */
async function reportComplaints(options: RunOptions, sinceUptime: number): Promise<string> {
  const {loggedSyscalls} = await import('../seccomp/complain.js')
  try {
    const logged = await loggedSyscalls(sinceUptime, options.security.seccompProfile ?? '', options.security.capabilities)
    if (logged.length === 0) return `contain: seccomp complain mode: the profile would have denied nothing ${options.name} did`
    const lines = logged.map(entry => `  ${entry.name} (${entry.calls} call${entry.calls === 1 ? '' : 's'}): allow with ${entry.fix}`)
    return [`contain: seccomp complain mode: the profile would have denied these system calls of ${options.name}:`, ...lines].join('\n')
  } catch (error) {
    return `contain: seccomp complain mode: cannot read the kernel log (${(error as Error).message}); the denials are logged there as audit type=1326 (run as root, or read dmesg)`
  }
}

export interface RunIo {
  stdout(text: string): void
  stderr(text: string): void
}

/** What `contain run` does besides the app's options: only plan (--dry-run), and print JSON. */
export interface RunMode {
  dryRun?: boolean
  json?: boolean
}

/** `contain run`: the app's exit status becomes contain's. Errors are thrown as ContainError. */
export async function runApp(resolved: RunOptions, mode: RunMode, io: RunIo, host: HostFacts = hostFacts()): Promise<number> {
  const {options, plan, warnings} = await planRun(resolved, host)
  if (!mode.dryRun && process.getuid?.() !== 0 && !plan.namespaces.includes('user')) {
    throw new HostError('contain run needs root to create cgroups and namespaces', {fix: 'run it as root (sudo), or add --userns to run in a user namespace'})
  }
  // The root warning is not among planRun's warnings: `contain up` gives all its root apps one line.
  if (options.userReason === 'directory-root') io.stderr(`contain: warning: ${rootWarning([options.name], [options.workdir])}`)
  for (const warning of warnings) io.stderr(`contain: warning: ${warning}`)
  if (mode.dryRun) {
    io.stdout(
      mode.json
        ? JSON.stringify(
            {
              name: plan.name,
              namespaces: plan.namespaces,
              cgroup: plan.cgroup,
              view: plan.view?.steps,
              argv: plan.argv,
              seccompInstructions: (plan.seccompFilter?.length ?? 0) / 8,
              user: {...(options.user ?? {}), reason: options.userReason},
              environment: Object.keys(plan.env),
              deviceBinds: plan.deviceBinds,
              listen: plan.listen,
              deviceProgramInstructions: (plan.deviceProgram?.length ?? 0) / 8,
            },
            null,
            2,
          )
        : formatPlan(plan, options),
    )
    return 0
  }
  const complain = options.security.seccompMode === 'complain'
  const startedAt = complain ? (await import('../seccomp/complain.js')).kernelUptime() : 0
  const outcome = await launch(plan)
  const message = describeOutcome(outcome)
  if (message) io.stderr(message)
  if (complain) io.stderr(await reportComplaints(options, startedAt))
  if (mode.json) io.stdout(JSON.stringify(outcome))
  return outcome.exitCode
}
