import {accessSync, constants, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {CONTAIN_CGROUP, detectLayout, type CgroupLayout} from './cgroup/index.js'
import {hierarchyFor} from './cgroup/layout.js'
import {findOnPath, initPath, packageRoot} from './paths.js'

export interface DoctorCheck {
  name: string
  ok: boolean
  detail: string
  /** What to do when !ok. */
  fix?: string
}

type Run = (command: string, args: string[]) => Promise<{exitCode: number; output: string}>

const CONTROLLERS = ['cpu', 'memory', 'pids', 'cpuset'] as const

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

function checkCgroups(layout: CgroupLayout): DoctorCheck[] {
  const checks: DoctorCheck[] = []
  for (const controller of CONTROLLERS) {
    const hierarchy = hierarchyFor(layout, controller)
    checks.push({
      name: `cgroup ${controller}`,
      ok: hierarchy !== undefined,
      detail: hierarchy ? `v${hierarchy.version}, app cgroups go in ${join(hierarchy.ownDir, CONTAIN_CGROUP)}/<project>/<app>` : 'not available to contain',
      fix: hierarchy
        ? undefined
        : layout.mode === 'v2'
          ? 'delegate it: run contain in a unit with Delegate=yes or under systemd-run --scope -p Delegate=yes'
          : `mount the ${controller} controller`,
    })
  }
  const v2 = layout.hierarchies.find(hierarchy => hierarchy.version === 2 && hierarchy.controllers.length > 0)
  if (v2 && v2.ownDir !== v2.mountPoint) {
    const others = (readText(join(v2.ownDir, 'cgroup.procs')) ?? '').split('\n').filter(pid => pid && pid !== String(process.pid))
    checks.push({
      name: 'cgroup delegation',
      ok: others.length === 0,
      detail:
        others.length === 0
          ? `contain is alone in ${v2.ownDir} and can create app cgroups below it`
          : `${others.length} other process(es) share ${v2.ownDir}, so cgroup v2 forbids enabling controllers for children`,
      fix: others.length === 0 ? undefined : 'run contain from a unit with Delegate=yes, or as: systemd-run --scope -p Delegate=yes contain ...',
    })
  }
  return checks
}

/** Where the device allow-list would be enforced: the v1 devices controller, else a cgroup v2 device program. */
function checkDevices(layout: CgroupLayout): DoctorCheck {
  const v1 = hierarchyFor(layout, 'devices')
  const v2 = layout.hierarchies.find(hierarchy => hierarchy.version === 2)
  const bpf = readText('/proc/sys/kernel/unprivileged_bpf_disabled') !== undefined
  if (v1) return {name: 'device allow-list', ok: true, detail: `v1 devices controller, app cgroups below ${v1.ownDir}`}
  if (v2 && bpf)
    return {
      name: 'device allow-list',
      ok: true,
      detail: `cgroup v2 device program on each app's cgroup below ${v2.ownDir} (the kernel must have CONFIG_CGROUP_BPF: a launch says so if not)`,
    }
  return {
    name: 'device allow-list',
    ok: false,
    detail: v2 ? 'cgroup v2 without the bpf() system call (CONFIG_BPF_SYSCALL)' : 'neither the v1 devices controller nor cgroup v2 is mounted',
    fix: 'mount the devices controller, or use a kernel with CONFIG_BPF_SYSCALL and CONFIG_CGROUP_BPF; until then apps start only with --privileged',
  }
}

async function checkTool(run: Run, tool: string, fix: string): Promise<DoctorCheck> {
  const path = findOnPath(tool)
  if (!path) return {name: tool, ok: false, detail: 'not found on PATH', fix}
  const {output} = await run(path, ['--version'])
  return {name: tool, ok: true, detail: output.trim().split('\n')[0] ?? path}
}

function checkHelper(): DoctorCheck {
  const helper = initPath()
  const fix = 'build it with: npm run build (needs gcc or cc)'
  try {
    accessSync(helper, constants.X_OK)
  } catch {
    return {name: 'native helper', ok: false, detail: `${helper} is not built`, fix}
  }
  const source = join(packageRoot(), 'native/contain-init.c')
  const stale = (statSync(source, {throwIfNoEntry: false})?.mtimeMs ?? 0) > statSync(helper).mtimeMs
  return {name: 'native helper', ok: !stale, detail: stale ? `${helper} is older than its source` : helper, fix: stale ? fix : undefined}
}

function checkSeccomp(): DoctorCheck {
  const status = readText('/proc/self/status') ?? ''
  const ok = /^Seccomp:/m.test(status)
  return {
    name: 'seccomp',
    ok,
    detail: ok ? 'the kernel supports seccomp filters' : 'this kernel was built without seccomp',
    fix: ok ? undefined : 'use a kernel with CONFIG_SECCOMP_FILTER, or run apps with --seccomp unconfined',
  }
}

function checkUserNamespaces(): DoctorCheck {
  const max = Number(readText('/proc/sys/user/max_user_namespaces') ?? '0')
  const unprivileged = readText('/proc/sys/kernel/unprivileged_userns_clone')?.trim()
  const ok = max > 0 && unprivileged !== '0'
  return {
    name: 'user namespaces',
    ok,
    detail: ok ? `allowed (max ${max})` : max === 0 ? 'user.max_user_namespaces is 0' : 'kernel.unprivileged_userns_clone is 0',
    fix: ok ? undefined : 'sysctl -w user.max_user_namespaces=15000 kernel.unprivileged_userns_clone=1 (only needed for --userns)',
  }
}

async function checkNamespaces(run: Run): Promise<DoctorCheck> {
  const {exitCode, output} = await run('unshare', ['--pid', '--mount', '--uts', '--ipc', '--cgroup', '--fork', '--mount-proc', 'true'])
  return {
    name: 'namespaces',
    ok: exitCode === 0,
    detail: exitCode === 0 ? 'pid, mount, uts, ipc and cgroup namespaces can be created' : output.trim(),
    fix: exitCode === 0 ? undefined : 'run contain as root, or with --userns where user namespaces are allowed',
  }
}

/** Everything contain needs from this host, each with its fix. */
export async function runDoctor(run: Run): Promise<{cgroupMode: string; checks: DoctorCheck[]}> {
  const isRoot = process.getuid?.() === 0
  const layout = detectLayout()
  const checks: DoctorCheck[] = [
    {
      name: 'root',
      ok: isRoot,
      detail: isRoot ? 'running as root' : `running as uid ${process.getuid?.()}`,
      fix: isRoot ? undefined : 'run as root for cgroup limits, or use --userns for namespaces only',
    },
    ...checkCgroups(layout),
    checkDevices(layout),
    await checkTool(run, 'unshare', 'apt-get install util-linux'),
    checkHelper(),
    checkSeccomp(),
    checkUserNamespaces(),
  ]
  if (isRoot) checks.push(await checkNamespaces(run))
  return {cgroupMode: layout.mode, checks}
}
