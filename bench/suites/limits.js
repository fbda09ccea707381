// Suite 5: how exact the limits are. CPU: an app that only burns CPU on one thread per CPU of the machine
// (`benchtool spin N`, so it could use more than any limit below the machine's size) under --cpus
// 0.1/0.25/0.5/1.0 (and 1.5 with 2 CPUs or more); its on-CPU time over a few seconds of wall time, summed
// over its threads from /proc/PID/task/*/schedstat (the scheduler's own nanosecond count), against the
// limit, in percentage points. Every sample counts. OOM: an app that stamps
// the time and then allocates and touches 1 MiB at a time (`benchtool alloc`) under a 64 MiB limit
// (swap off: --memory-swap equal); time from its stamp to the exit of the tool, with exit status 137.
// Each round runs every case once, in a rotating order. The floor for the OOM kill is a bare cgroup
// the bench makes itself (memory limit, the process in it, nothing else).
import {spawn} from 'node:child_process'
import {mkdirSync, readFileSync, rmdirSync, writeFileSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {hierarchyFor, readProcs} from '../lib/cgroup.js'
import {processCpuSeconds} from '../lib/cpuacct.js'
import {appPrefix, containArgv} from '../lib/contain.js'
import {Unavailable} from '../lib/peers/common.js'
import {startDocker} from '../lib/peers/docker.js'
import {descendants, killPid, pidAlive, tail} from '../lib/proc.js'
import {round, summarize} from '../lib/stats.js'
import {rotate, roundsFor, runRounds, statCells} from '../lib/suite.js'

export const name = 'limits'
export const title = 'CPU limit accuracy and time to OOM kill'

// One spinner thread per CPU: a single thread can never exceed 1.0, so a limit of 1 CPU or more would be
// unmeasurable (and a broken one invisible).
const spinThreads = availableParallelism()
const cpuLimits = [0.1, 0.25, 0.5, 1.0, ...(spinThreads >= 2 ? [1.5] : [])]
const oomMiB = 64
const nowNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6))

/** Spawns argv; resolves {code, signal, endNs, out} when it exits. */
function spawnTool(argv, env) {
  const child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe'], env})
  let out = ''
  child.stdout.on('data', c => (out += c))
  child.stderr.on('data', c => (out += c))
  child.done = new Promise(resolve => {
    child.on('error', e => resolve({code: null, error: e.message, endNs: nowNs(), out}))
    child.on('close', (code, signal) => resolve({code, signal, endNs: nowNs(), out}))
  })
  return child
}

async function waitFor(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`)
    await sleep(25)
  }
}

/** CPU-seconds per second of the spinner (all its threads) over windowMs, after 500 ms of warm-up. */
async function cpuRate(pid, windowMs) {
  await sleep(500)
  const c0 = processCpuSeconds(pid)
  const t0 = process.hrtime.bigint()
  await sleep(windowMs)
  const c1 = processCpuSeconds(pid)
  const wall = Number(process.hrtime.bigint() - t0) / 1e9
  if (!Number.isFinite(c0) || !Number.isFinite(c1)) throw new Error('the spinner ended during the window')
  return (c1 - c0) / wall
}

function stampOf(file) {
  const line = readFileSync(file, 'utf8').split('\n').find(Boolean)
  if (!line) throw new Error(`no stamp in ${file}`)
  return BigInt(line)
}

export async function run(ctx) {
  const rounds = roundsFor(ctx, {quick: 1, full: 2})
  const oomRounds = ctx.opts.quick ? 3 : 5
  const windowMs = ctx.opts.quick ? 2000 : 3000
  const rootfs = await ctx.rootfs()
  if (!rootfs.benchtool) throw new Error(rootfs.benchtoolError)
  const dir = join(ctx.workDir, 'limits')
  mkdirSync(dir, {recursive: true})
  const peers = []
  const cpuCases = []
  const oomCases = []
  let seq = 0
  const live = new Set()
  ctx.cleanup.add('limits: stop tools still running', async () => {
    for (const child of live) if (child.pid && pidAlive(child.pid)) killPid(child.pid, 'SIGKILL')
    return `${live.size} left`
  })

  // The floor of the OOM kill: a memory cgroup of the bench's own, the allocator moved into it by a shell.
  const mem = hierarchyFor(ctx.layout, 'memory')
  if (mem) {
    oomCases.push({
      id: 'floor',
      label: 'bare cgroup (the kernel alone)',
      run: async file => {
        const cg = join(mem.ownDir, ctx.runId, `oom-${seq++}`)
        ctx.janitor.make(cg, mem.ownDir)
        const limitFile = mem.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'
        writeFileSync(join(cg, limitFile), String(oomMiB * 2 ** 20))
        if (mem.version === 2) writeFileSync(join(cg, 'memory.swap.max'), '0')
        const child = spawnTool(['/bin/sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$1" alloc "$2" 1', cg, rootfs.benchtool, file])
        const end = await child.done
        await waitFor(() => readProcs(cg).length === 0, 5000, 'empty cgroup')
        rmdirSync(cg)
        return {end, ok: end.signal === 'SIGKILL' || end.code === 137}
      },
    })
  }

  // What one spinner gets with no limit in the same round: on a busy machine, less than 1 CPU, and then a
  // limit at or above it cannot be told from contention.
  cpuCases.push({
    id: 'free',
    label: 'no limit (CPU available)',
    run: async () => {
      const child = spawnTool([rootfs.benchtool, 'spin', String(spinThreads)])
      live.add(child)
      try {
        return await cpuRate(child.pid, windowMs)
      } finally {
        killPid(child.pid, 'SIGKILL')
        await child.done
        live.delete(child)
      }
    },
  })

  try {
    const argv = containArgv(ctx)
    cpuCases.push({
      id: 'contain',
      label: 'contain run --cpus',
      run: async cpus => {
        const child = spawnTool([
          ...argv,
          'run',
          '--name',
          `${appPrefix()}-cpu${seq++}`,
          '--network',
          'none',
          '--cpus',
          String(cpus),
          '--',
          rootfs.benchtool,
          'spin',
          String(spinThreads),
        ])
        live.add(child)
        try {
          const pid = await waitFor(() => descendants(child.pid).find(p => p.comm === 'benchtool')?.pid, 20_000, 'contain run: spinner')
          return await cpuRate(pid, windowMs)
        } finally {
          killPid(child.pid, 'SIGTERM')
          const end = await child.done
          live.delete(child)
          if (end.code !== 143 && end.code !== 0 && end.signal !== 'SIGTERM')
            ctx.log.warn(`contain run --cpus ${cpus}: exit ${end.code}: ${tail(end.out, 200)}`)
        }
      },
    })
    oomCases.push({
      id: 'contain',
      label: `contain run -m ${oomMiB}m`,
      run: async file => {
        const child = spawnTool([
          ...argv,
          'run',
          '--name',
          `${appPrefix()}-oom${seq++}`,
          '--network',
          'none',
          '-m',
          `${oomMiB}m`,
          '--memory-swap',
          `${oomMiB}m`,
          '--',
          rootfs.benchtool,
          'alloc',
          file,
          '1',
        ])
        live.add(child)
        const end = await child.done
        live.delete(child)
        return {end, ok: end.code === 137}
      },
    })
    peers.push({
      id: 'contain',
      label: 'contain run',
      available: true,
      command: [...argv, 'run', '--network', 'none', '--cpus', 'X', '--', 'benchtool', 'spin', String(spinThreads)],
      note: `OOM: run --network none -m ${oomMiB}m --memory-swap ${oomMiB}m -- benchtool alloc FILE 1`,
    })
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error
    peers.push({id: 'contain', label: 'contain run', available: false, reason: error.message})
  }

  try {
    const d = await startDocker(ctx)
    const base = ['--pull', 'never', '--network', 'none']
    cpuCases.push({
      id: 'docker',
      label: 'docker run --cpus',
      run: async cpus => {
        const r = await d.cli(['run', '-d', ...base, '--cpus', String(cpus), d.image, '/bin/benchtool', 'spin', String(spinThreads)])
        if (!r.ok) throw new Error(`docker run: ${tail(r.all, 300)}`)
        const id = r.stdout.trim()
        try {
          const pid = Number((await d.cli(['inspect', '-f', '{{.State.Pid}}', id])).stdout)
          if (!pid) throw new Error(`docker inspect: no pid for ${id}`)
          return await cpuRate(pid, windowMs)
        } finally {
          await d.cli(['rm', '--force', id])
        }
      },
    })
    oomCases.push({
      id: 'docker',
      label: `docker run -m ${oomMiB}m`,
      run: async file => {
        const stamps = join(dir, `docker-${seq++}`)
        mkdirSync(stamps)
        const name = `${appPrefix()}-oom${seq}`
        const child = spawnTool(
          [
            ...d.argvPrefix,
            'run',
            '--name',
            name,
            ...base,
            '-m',
            `${oomMiB}m`,
            '--memory-swap',
            `${oomMiB}m`,
            '-v',
            `${stamps}:/stamps`,
            d.image,
            '/bin/benchtool',
            'alloc',
            '/stamps/s',
            '1',
          ],
          d.env,
        )
        live.add(child)
        const end = await child.done
        live.delete(child)
        const oomKilled = (await d.cli(['inspect', '-f', '{{.State.OOMKilled}}', name])).stdout
        await d.cli(['rm', '--force', name])
        writeFileSync(file, readFileSync(join(stamps, 's')))
        return {end, ok: end.code === 137, oomKilled}
      },
    })
    peers.push({
      id: 'docker',
      label: 'docker run',
      available: true,
      version: d.version,
      note: `${d.note}; OOM: run --network none -m ${oomMiB}m --memory-swap ${oomMiB}m -v DIR:/stamps IMAGE benchtool alloc /stamps/s 1`,
      command: [...d.argvPrefix, 'run', '-d', ...base, '--cpus', 'X', d.image, '/bin/benchtool', 'spin', String(spinThreads)],
    })
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error
    peers.push({id: 'docker', label: 'docker run', available: false, reason: error.message})
  }

  const failures = []
  const load = []
  const cpu = Object.fromEntries(cpuCases.flatMap(c => (c.id === 'free' ? [1] : cpuLimits).map(l => [`${c.id}@${l}`, []])))
  for (let r = 0; r < rounds; r++) {
    load.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]))
    for (const limit of cpuLimits) {
      for (const c of rotate(cpuCases, r)) {
        if (c.id === 'free' && limit !== 1) continue
        ctx.cleanup.assertNotStopping()
        // cpu[key][r] stays round r (null when it failed), so a sample meets the free spinner of its round.
        try {
          cpu[`${c.id}@${limit}`][r] = await c.run(limit)
        } catch (error) {
          if (ctx.cleanup.started) throw error
          cpu[`${c.id}@${limit}`][r] = null
          failures.push({round: r + 1, case: `${c.id} --cpus ${limit}`, error: String(error?.message ?? error)})
        }
      }
    }
    ctx.log.info(
      `CPU round ${r + 1}/${rounds}: ${Object.entries(cpu)
        .map(([k, v]) => `${k} ${v[r]?.toFixed(3) ?? '–'}`)
        .join(', ')}`,
    )
  }
  // OOM: one warm-up round for every case alike (the first container of dockerd, the page cache), then
  // rounds whose samples stay in round order (null when that run failed).
  const oomWarmup = 1
  const oomCasesTimed = oomCases.map(c => ({
    id: c.id,
    run: async file => {
      const {end, ok, oomKilled} = await c.run(file)
      if (!ok) throw new Error(`expected an OOM kill (137), got ${end.error ?? end.signal ?? end.code}: ${tail(end.out, 200)}`)
      return {ms: Number(end.endNs - stampOf(file)) / 1e6, oomKilled}
    },
  }))
  const oomRun = await runRounds(ctx, oomCasesTimed, oomRounds, {
    warmup: oomWarmup,
    args: async (c, r) => [join(dir, `oom-${c.id}-${r}`)],
    describe: got => `OOM ${oomCases.map(c => `${c.id} ${got[c.id] ? `${got[c.id].ms.toFixed(1)} ms` : 'failed'}`).join(', ')}`,
  })
  failures.push(...oomRun.failures.map(f => ({...f, case: `${f.case} OOM`})))
  const oom = Object.fromEntries(Object.entries(oomRun.samples).map(([id, v]) => [id, v.filter(Boolean)]))
  ctx.log.info(
    `OOM: ${Object.entries(oom)
      .map(([k, v]) => `${k} ${v.length ? summarize(v.map(x => x.ms)).median.toFixed(1) : '–'} ms`)
      .join(', ')}`,
  )

  const cpuRows = []
  const errorsPp = {}
  for (const c of cpuCases) {
    errorsPp[c.id] = []
    for (const limit of cpuLimits) {
      const v = (cpu[`${c.id}@${limit}`] ?? []).filter(x => x !== null && x !== undefined)
      if (!v.length) continue
      if (c.id === 'free') {
        const s = summarize(v)
        cpuRows.push([c.label, 'none', round(s.median, 4), round(s.min, 4), round(s.max, 4), undefined, undefined, String(s.n)])
        continue
      }
      const s = summarize(v)
      const pp = v.map(x => (x - limit) * 100)
      errorsPp[c.id].push(...pp)
      const worst = pp.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0)
      cpuRows.push([c.label, limit, round(s.median, 4), round(s.min, 4), round(s.max, 4), round((s.median - limit) * 100, 2), round(worst, 2), String(s.n)])
    }
  }
  const oomRows = oomCases
    .filter(c => oom[c.id].length)
    .map(c => [
      c.label,
      ...statCells(summarize(oom[c.id].map(x => x.ms)), 2),
      c.id === 'docker' ? `State.OOMKilled ${[...new Set(oom[c.id].map(x => x.oomKilled))].join('/')}` : 'exit 137',
    ])

  const targets = []
  // Every sample counts. A round where the unlimited spinner got less than limit + 5 pp was a busy one (the
  // limit could not be told from contention there): said beside the figure, not dropped.
  const free = cpu['free@1'] ?? []
  const busy = (limit, r) => free[r] !== undefined && free[r] !== null && free[r] < limit + 0.05
  for (const c of cpuCases.filter(x => x.id !== 'free')) {
    const all = cpuLimits
      .flatMap(limit => cpu[`${c.id}@${limit}`].map((x, r) => ({limit, r, pp: x === null ? undefined : (x - limit) * 100})))
      .filter(x => x.pp !== undefined)
    if (!all.length) {
      targets.push({
        text: `CPU accuracy within ±1 percentage point (${c.label})`,
        status: 'n/a',
        detail: 'no sample: every run failed (see the failed samples)',
      })
      continue
    }
    const worst = Math.max(...all.map(x => Math.abs(x.pp)))
    const busyCount = all.filter(x => busy(x.limit, x.r)).length
    targets.push({
      text: `CPU accuracy within ±1 percentage point (${c.label}, worst sample)`,
      value: worst,
      unit: 'pp',
      status: c.id === 'contain' ? (worst <= 1 ? 'met' : 'missed') : 'info',
      detail: `all ${all.length} samples (limits ${cpuLimits.join(', ')}), ${windowMs / 1000} s windows, ${spinThreads} spinner threads${busyCount ? `; ${busyCount} of them in rounds where an unlimited spinner got less than limit + 5 pp (busy machine)` : ''}`,
    })
  }
  const profile = []
  const containWorst = errorsPp.contain?.length ? Math.max(...errorsPp.contain.map(Math.abs)) : undefined
  if (containWorst !== undefined && containWorst > 1)
    profile.push(
      "contain writes cpu.cfs_quota_us = cpus × cfs_period_us (100 ms) and the kernel enforces it; a reading below the limit on a busy 2-core machine means the spinner did not get the CPU it was allowed (others were running), not a wrong quota — compare docker's row of the same round, and rerun on an idle machine.",
    )

  return {
    suite: name,
    title,
    config: {rounds, oomRounds, oomWarmup, quick: ctx.opts.quick, windowMs, cpuLimits, spinThreads, oomMiB},
    peers,
    intro: [
      `CPU: \`benchtool spin ${spinThreads}\` (${spinThreads} threads, so it can use more than any limit below ${spinThreads} CPUs) under each limit; its on-CPU time summed over its threads from \`/proc/PID/task/*/schedstat\` over ${windowMs / 1000} s of wall time (after 0.5 s), as CPU-seconds per second; "off" is (measured − limit) × 100 percentage points. OOM: \`benchtool alloc\` stamps CLOCK_REALTIME, then allocates and touches 1 MiB at a time under a ${oomMiB} MiB limit with no swap; the time runs from its stamp to the exit of the tool as the bench sees it (so it includes the tool noticing the kill and exiting). Equal work: contain and docker both run the app with no network (\`--network none\`) and only the limit under test; the OOM cases have one warm-up round each, the CPU windows start 0.5 s after the spinner is found.`,
    ],
    sections: [
      {title: 'CPU limit accuracy', columns: ['tool', 'limit (CPUs)', 'median CPU-s/s', 'min', 'max', 'median off (pp)', 'worst off (pp)', 'n'], rows: cpuRows},
      {
        title: `Time to OOM kill under ${oomMiB} MiB (ms, allocation start → tool exited)`,
        columns: ['tool', 'median', 'min', 'max', 'p90', 'n', 'seen as'],
        rows: oomRows,
      },
    ],
    targets,
    profile,
    chart: {
      title: 'time to OOM kill',
      unit: 'ms',
      axisLabel: `ms from the start of allocation to the tool's exit, ${oomMiB} MiB limit (bar = median)`,
      groups: [{name: 'oom', label: 'allocation start → exit'}],
      rows: oomCases.filter(c => oom[c.id].length).map(c => ({id: c.id, label: c.label, stats: {oom: summarize(oom[c.id].map(x => x.ms))}})),
    },
    samples: {cpu, oom: oomRun.samples},
    failures,
    loadAverage1mPerRound: load,
  }
}
