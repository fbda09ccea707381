/**
 * Part 4 of the hardening suite: the log disk fills up, the app runs out of pids, a fork bomb
 * runs under a pids limit. contain keeps supervising, reports what went wrong once, recovers,
 * and answers `contain ps` within 2 s throughout.
 */
import {execa} from 'execa'
import {existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {appPid, appProcessDirs, cli, figure, requireRoot, settledLeftovers, sleep, startCli, token, until} from './helpers.js'

const mark = token('rf')

if (requireRoot(t)) {
  t.test('log disk full: the app keeps running, the failure is reported once, logging resumes', async t => {
    const dir = t.testdir({})
    const disk = join(dir, 'logdisk')
    mkdirSync(disk)
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=700', `contain-test-${mark}`, disk])
    const app = `l${mark}`
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    let up: ReturnType<typeof startCli> | undefined
    try {
      writeFileSync(
        join(dir, 'contain.yml'),
        `apps:\n  ${app}:\n    command: ["sh", "-c", "i=0; while :; do i=$((i+1)); echo line $i of the app that keeps talking; sleep 0.005; done"]\n    logging: {dir: ${JSON.stringify(disk)}, max_size: 10m}\n`,
      )
      // Fill the disk: the filler stops at ENOSPC.
      await execa('sh', ['-c', `head -c 2m /dev/zero > ${disk}/filler`], {reject: false})
      up = startCli(['up', '--no-color'], {cwd: dir, env, timeoutMs: 120_000})
      let stderr = ''
      up.stderr?.on('data', chunk => (stderr += chunk))
      await until(() => appPid(app, 'sh') !== undefined, 'the app', 15_000)
      const pid = appPid(app, 'sh')
      await until(() => /cannot write its log/.test(stderr), 'the log failure to be reported', 15_000)
      await sleep(1500) // a second and a half of lines that cannot be written
      const reports = stderr.match(/cannot write its log/g)?.length ?? 0
      t.equal(reports, 1, `reported once while the disk stayed full: ${stderr.split('\n')[0]}`)
      t.equal(appPid(app, 'sh'), pid, 'the app kept running (same pid, no restart)')
      rmSync(join(disk, 'filler'))
      await until(() => /writing its log again \(\d+ lines were dropped\)/.test(stderr), 'logging to resume', 15_000)
      const logFile = join(disk, `${app}.log`)
      const size = statSync(logFile).size
      await until(() => statSync(logFile).size > size, 'new lines in the log', 10_000)
      const last = readFileSync(logFile, 'utf8').trim().split('\n').at(-1) ?? ''
      t.match(last, /^\d{4}-\d\d-\d\dT[\d:.]+Z out line \d+ of the app/, 'the log holds whole new lines again')
      figure(
        t,
        `log disk full: ${reports} report while full, ${stderr.match(/(\d+) lines were dropped/)?.[1]} lines dropped, logging resumed, app pid unchanged`,
      )
    } finally {
      if (up) {
        up.kill('SIGTERM')
        await up
      }
      await execa('umount', [disk], {reject: false})
    }
    t.same(await settledLeftovers(mark, join(dir, 'state')), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
  })

  t.test('pids exhaustion inside the app: forks fail in the app, contain is unaffected', async t => {
    const started = Date.now()
    const result = await cli(
      ['run', '--name', `p${mark}`, '--pids-limit', '10', '--', 'sh', '-c', 'i=0; while [ $i -lt 40 ]; do sleep 2 & i=$((i+1)); done; wait; echo done'],
      {timeoutMs: 60_000},
    )
    t.match(result.stderr, /fork|Resource temporarily unavailable/i, 'the app saw its forks refused')
    t.not(result.exitCode, 125, `contain reported the app's own exit status (${result.exitCode}), not a failure of its own`)
    t.ok(Date.now() - started < 30_000, `contain ended with the app (${Date.now() - started} ms)`)
    t.same(await settledLeftovers(mark), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
  })

  t.test('a fork bomb under a pids limit never makes contain unresponsive', async t => {
    const dir = t.testdir({
      'contain.yml': `apps:\n  b${mark}:\n    command: ["sh", "-c", "bomb() { bomb | bomb & }; bomb; sleep 60"]\n    pids_limit: 64\n    cpus: 1\n    stop_grace_period: 1s\n`,
    })
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    const times: number[] = []
    try {
      const up = await cli(['up', '-d'], {cwd: dir, env})
      t.equal(up.exitCode, 0, up.stderr)
      await sleep(1000)
      // The cap held: the kernel refused forks at 64 (pids.events counts each refusal), and the
      // app's cgroup never held more. Without the limit the bomb would run into the hundreds.
      // A supervised app's processes and limits are in its instance's cgroup, below the app's: the deepest.
      const pidsDir = appProcessDirs(`b${mark}`)
        .filter(cgroup => existsSync(join(cgroup, 'pids.max')))
        .sort((a, b) => b.length - a.length)[0]
      t.ok(pidsDir, `the app's pids cgroup: ${pidsDir}`)
      if (pidsDir) {
        const read = (file: string) => readFileSync(join(pidsDir, file), 'utf8').trim()
        t.equal(read('pids.max'), '64', 'pids.max is 64')
        const refused = Number(read('pids.events').match(/^max (\d+)$/m)?.[1] ?? 0)
        t.ok(refused > 0, `the kernel refused ${refused} forks at the cap (pids.events)`)
        const peak = existsSync(join(pidsDir, 'pids.peak')) ? Number(read('pids.peak')) : Number(read('pids.current'))
        t.ok(peak <= 64 && Number(read('pids.current')) <= 64, `at most 64 processes (now ${read('pids.current')}, peak ${peak})`)
      }
      for (let i = 0; i < 5; i++) {
        const ps = await cli(['ps', '--json'], {cwd: dir, env, timeoutMs: 10_000})
        times.push(ps.ms)
        t.equal(ps.exitCode, 0, `ps answered: ${ps.stderr}`)
        t.ok(ps.ms < 2000, `contain ps answered in ${ps.ms} ms`)
      }
    } finally {
      const down = await cli(['down'], {cwd: dir, env, timeoutMs: 60_000})
      t.equal(down.exitCode, 0, `down during the bomb: ${down.stderr}`)
    }
    t.same(await settledLeftovers(mark, join(dir, 'state')), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
    figure(t, `fork bomb under pids_limit 64 (cpus 1 of 2): contain ps answered in ${Math.min(...times)}-${Math.max(...times)} ms (limit 2000)`)
  })
}
