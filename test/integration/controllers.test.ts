/**
 * The limits that the unit tests check only against a fake cgroupfs, asserted on the real kernel:
 * what the app gets (CPU time, affinity) and what the app and the host read in its cgroup's files
 * (--cpu-shares, --cpuset-cpus, --memory-reservation, --memory-swap), and the kill of the whole
 * cgroup (cgroup.kill on v2) that ends a process which left the app's process tree. Runs on this
 * host and in both cgroup v2 guests (scripts/test.js).
 */
import {existsSync, readdirSync, readFileSync, rmdirSync} from 'node:fs'
import {release} from 'node:os'
import {join} from 'node:path'
import t from 'tap'
import {detectLayout} from '../../src/cgroup/layout.js'
import {appCgroupDirs, assertNothingLeftBehind, contain, requireRoot, startContain} from './helpers.js'

const MiB = 2 ** 20
const inGuest = process.env.RUNVM_GUEST === '1'
const v2 = detectLayout().mode === 'v2'
const mark = `ctl${process.pid.toString(36)}`
const hasCpuset = detectLayout().hierarchies.some(hierarchy => hierarchy.controllers.includes('cpuset'))

/** The first of `files` that exists in one of app NAME's cgroup directories, read on the host. */
function hostCgroupFile(name: string, files: string[]): string | undefined {
  for (const dir of appCgroupDirs(name)) for (const file of files) if (existsSync(join(dir, file))) return readFileSync(join(dir, file), 'utf8').trim()
  return undefined
}

/**
 * Runs `script` (sh) as app NAME; once the app has printed "ready", reads the first of `files` that
 * exists on the host side of its cgroup, then stops the app. Returns the app's lines before "ready".
 */
async function appAndHost(name: string, flags: string[], script: string, files: string[]): Promise<{app: string[]; host: string | undefined}> {
  const started = startContain(['run', '--name', name, ...flags, '--', 'sh', '-c', `${script}; echo ready; exec sleep 30`])
  let output = ''
  try {
    await new Promise<void>((resolve, reject) => {
      started.process.stdout?.on('data', chunk => {
        output += chunk
        if (output.includes('ready\n')) resolve()
      })
      void started.process.then(result => reject(new Error(`the app ended before it was ready: ${result.all}`)))
    })
    return {app: output.split('ready\n')[0].trim().split('\n'), host: hostCgroupFile(name, files)}
  } finally {
    started.process.kill('SIGTERM')
    await started.process
    if (started.unit) rmdirSync(started.unit)
  }
}

/** This process's CPUs, as the kernel's affinity list says ("0-1", "0,2"). */
function allowedCpus(): number[] {
  const list = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(\S+)$/m)?.[1] ?? '0'
  return list.split(',').flatMap(part => {
    const [from, to = from] = part.split('-').map(Number)
    return Array.from({length: to - from + 1}, (_, index) => from + index)
  })
}

/**
 * Sleeps until `start` (epoch ms), so that neither app slows the other's start, then spins until
 * `end` and prints the CPU-seconds it got in between, or "late" if it started after `start`.
 * Python, not node: its start costs little CPU time, which the app with fewer shares gets slowly
 * on a loaded CPU.
 */
const spinner = [
  'import sys, time',
  'start, end = (int(arg) / 1000 for arg in sys.argv[1:3])',
  'if time.time() > start:',
  '    print("late")',
  '    sys.exit(0)',
  'time.sleep(start - time.time())',
  'before = time.process_time()',
  'while time.time() < end:',
  '    pass',
  'print(time.process_time() - before)',
].join('\n')

if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  t.test(
    '--cpu-shares: two apps competing for one CPU get CPU time in the ratio of their shares',
    {skip: allowedCpus().length > 1 && !hasCpuset ? 'several CPUs and no cpuset controller: the two apps cannot be made to compete for one' : false},
    async t => {
      // 2048 against 512 shares (cpu.weight 79 against 20 on v2): 80 % and 20 % of one CPU. Both count
      // the same window of wall time, which opens once both have surely started. One contain up
      // runs both, so that their cgroups are siblings (as two contain runs would not be below two
      // systemd units, in the nested guest, where each unit then gets its own equal share).
      const lead = inGuest ? 15_000 : 4000
      const start = Date.now() + lead
      const end = start + (inGuest ? 4000 : 3000)
      // On one CPU (the v2 guests) they compete anyway; their kernel has no cpuset controller.
      const pin = allowedCpus().length > 1 ? '    cpuset: "0"\n' : ''
      const app = (name: string, shares: number) =>
        `  ${name}${mark}:\n    command: ${JSON.stringify(['/usr/bin/python3', '-c', spinner, String(start), String(end)])}\n    cpu_shares: ${shares}\n${pin}`
      const dir = t.testdir({'contain.yml': `apps:\n${app('big', 2048)}${app('small', 512)}`, state: {}})
      const result = await contain(['up', '--no-color', '-f', join(dir, 'contain.yml')], {env: {CONTAIN_STATE_DIR: join(dir, 'state')}})
      t.equal(result.exitCode, 0, result.stderr)
      const said = (name: string) => result.stdout.match(new RegExp(`^${name}${mark}\\s*\\| (\\S+)$`, 'm'))?.[1] ?? ''
      t.not(said('big'), 'late', `both apps started within the ${lead} ms lead`)
      t.not(said('small'), 'late', `both apps started within the ${lead} ms lead`)
      const [bigSeconds, smallSeconds] = [Number(said('big')), Number(said('small'))]
      const share = bigSeconds / (bigSeconds + smallSeconds)
      t.ok(
        bigSeconds + smallSeconds > 0.5,
        `the two got ${(bigSeconds + smallSeconds).toFixed(2)} CPU-seconds between them in the window (${result.stdout.trim().split('\n').join('; ')})`,
      )
      // Equal shares would give 50 %: a cpu.shares/cpu.weight that does nothing cannot land in this band.
      t.ok(
        Math.abs(share - 0.8) <= 0.1,
        `2048 shares got ${(share * 100).toFixed(1)} % of the CPU against 512 (${bigSeconds.toFixed(2)} s and ${smallSeconds.toFixed(2)} s; expected 80 ± 10 %)`,
      )
    },
  )

  t.test(
    "--cpuset-cpus: the app's affinity (sched_getaffinity) and its cpuset are the given CPU",
    {skip: hasCpuset ? false : "this kernel has no cpuset controller (the v2 guests' kernel: cpu io memory pids)"},
    async t => {
      const cpu = allowedCpus().at(-1) ?? 0
      const result = await appAndHost(
        `cpuset${mark}`,
        ['--cpuset-cpus', String(cpu)],
        'sed -n "s/^Cpus_allowed_list:[[:space:]]*//p" /proc/self/status; cat /sys/fs/cgroup/cpuset.cpus 2>/dev/null || cat /sys/fs/cgroup/cpuset/cpuset.cpus',
        ['cpuset.cpus'],
      )
      t.same(
        result.app,
        [String(cpu), String(cpu)],
        `inside: Cpus_allowed_list and cpuset.cpus are ${cpu} (the test itself may use ${allowedCpus().join(',')})`,
      )
      t.equal(result.host, String(cpu), "on the host: the app cgroup's cpuset.cpus")
      if (allowedCpus().length === 1) t.comment('one CPU here: the affinity would be the same without the cpuset; the cgroup files still tell')
    },
  )

  t.test('--memory-reservation: memory.low (v2) or memory.soft_limit_in_bytes (v1), inside and on the host', async t => {
    const result = await appAndHost(
      `reserve${mark}`,
      ['-m', '64m', '--memory-reservation', '32m'],
      'cat /sys/fs/cgroup/memory.low 2>/dev/null || cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes',
      ['memory.low', 'memory.soft_limit_in_bytes'],
    )
    t.same(result.app, [String(32 * MiB)], 'the app reads 32 MiB in its own cgroup')
    t.equal(result.host, String(32 * MiB), "the host reads 32 MiB in the app's cgroup")
  })

  t.test('--memory-swap: memory plus swap is limited (memory.swap.max on v2, memory.memsw.limit_in_bytes on v1)', async t => {
    const swapFile = v2 ? 'memory.swap.max' : 'memory.memsw.limit_in_bytes'
    // 32 MiB of memory and 64 MiB of memory plus swap: 32 MiB of swap.
    const expected = v2 ? 32 * MiB : 64 * MiB
    const result = await appAndHost(
      `swap${mark}`,
      ['-m', '32m', '--memory-swap', '64m'],
      `cat /sys/fs/cgroup/${swapFile} 2>/dev/null || cat /sys/fs/cgroup/memory/${swapFile} 2>/dev/null || echo none`,
      [swapFile],
    )
    if (result.host === undefined) {
      // The file is the kernel's: without it contain can only warn (the v1 and v2 unit tests check that it does).
      t.skip(`the kernel does not account swap here (no ${swapFile}; swapaccount=1 on the kernel command line turns it on)`, () => {})
      return
    }
    t.same(result.app, [String(expected)], `the app reads ${swapFile} ${expected / MiB} MiB`)
    t.equal(result.host, String(expected), `the host reads ${swapFile} ${expected / MiB} MiB`)

    if (readFileSync('/proc/swaps', 'utf8').trim().split('\n').length < 2) {
      t.skip('no swap is on here: whether 48 MB fit in 32m of memory plus 32m of swap cannot be tried', () => {})
      return
    }
    const allocate = (mb: number) => [
      'run',
      '-m',
      '32m',
      '--memory-swap',
      '64m',
      '--',
      process.execPath,
      '-e',
      `const chunks = []; for (let i = 0; i < ${mb}; i++) chunks.push(Buffer.alloc(1 << 20, 1)); console.log("survived")`,
    ]
    const fits = await contain(allocate(48))
    t.match(fits.stdout, /survived/, `48 MB fit in 32m of memory plus 32m of swap (exit ${fits.exitCode})`)
    const tooMuch = await contain(allocate(100))
    t.equal(tooMuch.exitCode, 137, '100 MB do not: OOM-killed')
  })

  t.test("a process that left the app's tree (a double-forked daemon) is killed when the app ends; its cgroup is gone", async t => {
    // Without a pid namespace the daemon outlives the app's PID 1: only the cgroup still holds it,
    // and only contain's kill of the whole cgroup (cgroup.kill on v2) can end it.
    const daemonMark = `daemon${mark}`
    const name = `kill${mark}`
    const script = `setsid sh -c "sleep 300; : ${daemonMark}" </dev/null >/dev/null 2>&1 & sleep 0.3; grep -l ${daemonMark} /proc/[0-9]*/cmdline >/dev/null 2>&1 && echo daemon-running`
    const daemons = () =>
      readdirSync('/proc')
        .filter(pid => /^\d+$/.test(pid))
        .filter(pid => {
          try {
            const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
            return argv.startsWith('sh\0') && argv.includes(`: ${daemonMark}`)
          } catch {
            return false
          }
        })
    const result = await contain(['run', '--name', name, '--namespaces', '-pid', '--', 'sh', '-c', script])
    t.equal(result.exitCode, 0, result.stderr)
    t.match(result.stdout, /daemon-running/, "the daemon ran, outside the app's process tree")
    t.same(daemons(), [], 'the daemon was killed with the app')
    t.same(appCgroupDirs(name), [], "the app's cgroup is gone")
    if (v2) {
      const [major, minor] = release().split('.').map(Number)
      t.ok(major > 5 || (major === 5 && minor >= 14), `kernel ${release()} has cgroup.kill (5.14+), which contain uses where it exists`)
    }
  })
}
