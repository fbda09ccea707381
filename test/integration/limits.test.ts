import {existsSync, readFileSync, rmdirSync} from 'node:fs'
import {dirname, join} from 'node:path'
import t from 'tap'
import {appCgroupDirs, assertNothingLeftBehind, contain, requireRoot, startContain, tapLoader} from './helpers.js'

/** Busy for `seconds` of wall time, then prints the CPU-seconds it got per second. */
const busyLoop = (seconds: number) =>
  `const start = Date.now(), before = process.cpuUsage(); while (Date.now() - start < ${seconds * 1000}); const used = process.cpuUsage(before); console.log((used.user + used.system) / 1e6 / ((Date.now() - start) / 1000))`

if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  t.test('--cpus 0.25: a busy loop gets 0.25 ± 0.05 CPU-seconds per second', async t => {
    const result = await contain(['run', ...tapLoader, '--cpus', '0.25', '--', process.execPath, '-e', busyLoop(3)])
    t.equal(result.exitCode, 0, result.stderr)
    const share = Number(result.stdout.trim())
    t.ok(Math.abs(share - 0.25) <= 0.05, `measured ${share.toFixed(3)} CPU-seconds per second`)
  })

  t.test('-m 64m: allocating 200 MB is OOM-killed, exits 137 and is reported as OOM', async t => {
    const allocate = 'const chunks = []; for (let i = 0; i < 200; i++) chunks.push(Buffer.alloc(1 << 20, 1)); console.log("survived")'
    const result = await contain(['run', ...tapLoader, '--name', 'oom', '-m', '64m', '--json', '--', process.execPath, '-e', allocate])
    t.equal(result.exitCode, 137)
    t.notMatch(result.stdout, /survived/)
    t.match(result.stderr, /oom was OOM-killed by its memory limit \(limit 64 MiB, peak \d+(\.\d)? MiB\)/)
    const outcome = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}')
    t.equal(outcome.oomKilled, true)
    t.ok(outcome.cgroup.oomKills >= 1)
  })

  t.test('--pids-limit 20: a fork loop cannot pass 20 processes and contain exits cleanly', async t => {
    // Forks 50 sleepers, counting the forks the kernel refuses, then reads its cgroup's count.
    const forkLoop = [
      'import os, time',
      'refused = 0',
      'for _ in range(50):',
      '    try:',
      '        if os.fork() == 0:',
      '            time.sleep(30)',
      '            os._exit(0)',
      '    except OSError:',
      '        refused += 1',
      'path = "/sys/fs/cgroup/pids.current" if os.path.exists("/sys/fs/cgroup/pids.current") else "/sys/fs/cgroup/pids/pids.current"',
      'print(refused, open(path).read().strip())',
    ].join('\n')
    const result = await contain(['run', '--pids-limit', '20', '--', '/usr/bin/python3', '-c', forkLoop])
    t.equal(result.exitCode, 0, result.stderr)
    const [refused, current] = result.stdout.trim().split(' ').map(Number)
    t.ok(refused > 0, `${refused} forks refused`)
    t.ok(current <= 20, `${current} processes in the cgroup at the peak`)
  })

  t.test('--memory-reservation 48m: v2 passes the protection on through every cgroup contain made; v1 sets the soft limit', async t => {
    const reserved = String(48 * 1024 * 1024)
    const app = startContain(['run', '--name', 'reserve', '--memory-reservation', '48m', '--', 'sleep', '30'])
    try {
      let dirs: string[] = []
      // The app is in its cgroup only once contain has written every limit and passed the protection on.
      const joined = (dir: string) => existsSync(join(dir, 'cgroup.procs')) && readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() !== ''
      for (let tries = 0; tries < 200 && !dirs.some(joined); tries++) {
        await new Promise(resolve => setTimeout(resolve, 25))
        dirs = appCgroupDirs('reserve', 'run')
      }
      const v2 = dirs.find(dir => existsSync(join(dir, 'memory.low')))
      if (v2) {
        // The app, contain/run and contain: an ancestor at 0 would cap the app's protection at 0.
        for (const dir of [v2, dirname(v2), dirname(dirname(v2))]) t.equal(readFileSync(join(dir, 'memory.low'), 'utf8').trim(), reserved, `${dir}/memory.low`)
      } else {
        const v1 = dirs.find(dir => existsSync(join(dir, 'memory.soft_limit_in_bytes')))
        t.ok(v1, `the app's memory cgroup among ${dirs.join(', ')}`)
        if (v1) t.equal(readFileSync(join(v1, 'memory.soft_limit_in_bytes'), 'utf8').trim(), reserved, 'v1: the soft limit (no protection to pass on)')
      }
    } finally {
      app.process.kill('SIGTERM')
      await app.process
      if (app.unit) rmdirSync(app.unit)
    }
  })
}
