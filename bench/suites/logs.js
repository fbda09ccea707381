// Suite 4: the log path. An app prints `seq N` (2,000,000 short lines by default) as fast as it can;
// how fast the lines reach the log file and a live follower, whether any is lost, and what the
// supervisor spends on it. Per round, after one warm-up round, in a rotating order:
//   floor    sh -c 'seq N | cat > file'                          the pipe floor of the issue
//   contain  node bench/lib/log-writer.js --rounds 1 --no-reference         contain's log writer alone (src/supervisor/
//            logs.ts, the code the supervisor runs) as that script measures it: its own floor, the writer
//            (10 files kept, every line counted), and a live follower process across rotation (5 files kept)
//   containUp      contain up -d + contain logs -f, the whole path through a running supervisor
//   docker         docker run -d (json-file), no follower
//   dockerFollowed docker run -d (json-file) + docker logs -f
// contain up and docker do the same work and are timed the same way: the app is `benchtool go GO STAMP
// seq N` under 1 CPU, 256 MiB and no network; it waits for the bench to create GO (the followers are
// already watching, the container or app already started), stamps CLOCK_REALTIME and execs seq. The clock
// runs from that stamp to the last line in the log file (its tail read every 5 ms) and to the last line
// at the follower; daemon CPU is read between GO and the end. So no container start is in any figure.
import {spawn} from 'node:child_process'
import {closeSync, createReadStream, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {join} from 'node:path'
import {processCpuSeconds} from '../lib/cpuacct.js'
import {ContainProjects, appPrefix} from '../lib/contain.js'
import {Unavailable} from '../lib/peers/common.js'
import {startDocker} from '../lib/peers/docker.js'
import {run as exec, tail, which} from '../lib/proc.js'
import {RATIO_STATISTIC, pairedRatio, round, roundsText, summarize} from '../lib/stats.js'
import {roundsFor, runRounds, statCells} from '../lib/suite.js'

export const name = 'logs'
export const title = 'Log path'

const since = start => Number(process.hrtime.bigint() - start) / 1e6

function floor(ctx, lines) {
  const file = join(ctx.workDir, 'logs-floor.txt')
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const child = spawn('/bin/sh', ['-c', `seq ${lines} | cat > '${file}'`], {stdio: 'ignore'})
    child.on('error', reject)
    child.on('exit', code => {
      rmSync(file, {force: true})
      code === 0 ? resolve({ms: since(start)}) : reject(new Error(`floor exited ${code}`))
    })
  })
}

/** bench/lib/log-writer.js for one round (after its own warm-up round); its JSON result. */
async function containRound(ctx, lines) {
  const script = join(ctx.benchDir, 'lib/log-writer.js')
  const r = await exec(process.execPath, [script, '--rounds', '1', '--lines', String(lines), '--no-reference'], {cwd: ctx.repoRoot, timeout: 600_000})
  if (!r.ok) throw new Error(`node bench/lib/log-writer.js failed (exit ${r.exitCode}): ${tail(r.all, 600)}`)
  const out = JSON.parse(readFileSync(join(ctx.benchDir, 'work/logs-results.json'), 'utf8'))
  const row = key => out.rows.find(x => x.case === key)
  const contain = row('contain')
  const followed = row('+follower')
  return {
    floorMs: row('floor')?.medianMs,
    ms: contain?.medianMs,
    cpuSecondsPer100MB: contain?.cpuSecondsPer100MB,
    linesInFiles: out.contain?.linesInFiles?.[0],
    rotations: out.contain?.rotations,
    followerMs: followed?.medianMs,
    followerCatchUpMs: out.follower?.medianCatchUpAfterWriterMs,
    followerLines: out.follower?.lines?.[0],
    followerMissing: out.follower?.missing?.[0],
    followerDuplicates: out.follower?.duplicates?.[0],
    followerRotations: out.follower?.rotations,
    problems: (contain?.problems ?? 0) + (followed?.problems ?? 0),
    appBytes: out.appBytes,
  }
}

/** The last line of a file, or '' (reads only its tail). */
function lastLine(file) {
  let fd
  try {
    fd = openSync(file, 'r')
    const size = fstatSync(fd).size
    const buf = Buffer.alloc(Math.min(size, 128))
    readSync(fd, buf, 0, buf.length, size - buf.length)
    const text = buf.toString('latin1')
    return text.endsWith('\n') ? text.slice(text.lastIndexOf('\n', text.length - 2) + 1, -1) : ''
  } catch {
    return ''
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * The whole path through a running supervisor: `contain up -d` of `benchtool go GO STAMP seq N` (the same
 * app, limits and network as docker's); the supervisor writes its log (10 MiB × 10 files, so every line
 * stays countable) while `contain logs -f` follows it from the start. Time from the app's stamp to the last
 * line in the file and to the follower's last line; supervisor CPU (all its threads) between GO and the
 * end (the follower reads the files itself, not through it).
 */
async function containUpRound(ctx, projects, app, lines, r) {
  const name = `${appPrefix()}-seq`
  const projectName = `logs-${r}`
  // GO and STAMP in the project's own directory: the app's view shows it, writable.
  const appDir = join(projects.base, projectName)
  const go = join(appDir, 'go')
  const stamp = join(appDir, 'stamp')
  const logDir = join(ctx.workDir, 'logs-up', String(r))
  const project = projects.project(
    projectName,
    [
      'apps:',
      `  ${name}:`,
      `    command: ${JSON.stringify([app.benchtool, 'go', go, stamp, app.seq, String(lines)])}`,
      '    restart: "no"',
      `    cpus: ${ctx.limits.cpus}`,
      `    mem_limit: ${ctx.limits.memoryBytes}b`,
      '    network_mode: none',
      `    logging: {dir: ${JSON.stringify(logDir)}, max_size: 10m, max_files: 10}`,
      '',
    ].join('\n'),
  )
  const file = join(logDir, `${name}.log`)
  const supervisor = await projects.up(project)
  try {
    const follower = spawn(projects.argv[0], [...projects.argv.slice(1), 'logs', '-f', name], {
      cwd: project.dir,
      env: project.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const followed = countFollower(follower, lines)
    await sleep(300) // the follower is watching before the first line
    const cpu0 = processCpuSeconds(supervisor)
    writeFileSync(go, '')
    const deadline = Date.now() + 120_000
    const fileEnd = await waitForLastLine(ctx, file, line => line.endsWith(` ${lines}`), deadline)
    const f = await Promise.race([followed, sleep(Math.max(0, deadline - Date.now()))])
    const cpu = processCpuSeconds(supervisor) - cpu0
    follower.kill('SIGTERM')
    const started = hrAtRealtime(BigInt(readFileSync(stamp, 'utf8').trim()))
    let inFiles = 0
    for (let i = 0; i < 10; i++) {
      const p = i === 0 ? file : `${file}.${i}`
      if (existsSync(p)) inFiles += await countLines(p)
    }
    if (!fileEnd) throw new Error(`the log file did not reach line ${lines} within 120 s`)
    const follow = f ?? {lines: 0, missing: 0, expected: 1}
    return {
      ms: msBetween(started, fileEnd),
      followerMs: msBetween(started, follow.end),
      cpuSeconds: cpu,
      linesInFiles: inFiles,
      followerLines: follow.lines,
      followerMissing: follow.missing + Math.max(0, lines + 1 - follow.expected),
      followerDuplicates: follow.duplicates,
    }
  } finally {
    await projects.down(project)
    rmSync(logDir, {recursive: true, force: true})
  }
}

const msBetween = (from, to) => (to === undefined ? undefined : Number(to - from) / 1e6)

/** Polls the last line of `file` every 5 ms until `done(line)`; its hrtime, or undefined at the deadline. */
async function waitForLastLine(ctx, file, done, deadline) {
  while (Date.now() < deadline) {
    ctx.cleanup.assertNotStopping()
    if (done(lastLine(file))) return process.hrtime.bigint()
    await sleep(5)
  }
  return undefined
}

/**
 * Counts a follower's lines and checks they read 1, 2, 3, ...; resolves {end, lines, missing, duplicates,
 * expected, code, errors} when line `last` arrives (end: its hrtime) or when the follower closes.
 */
function countFollower(child, last) {
  return new Promise((resolve, reject) => {
    let expected = 1
    let value = 0
    let lines = 0
    let missing = 0
    let duplicates = 0
    let errors = ''
    let end
    const result = code => ({end, lines, missing, duplicates, expected, code, errors: errors.trim()})
    child.stdout.on('data', chunk => {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i]
        if (c === 10) {
          lines++
          if (value === expected) expected++
          else if (value < expected) duplicates++
          else {
            missing += value - expected
            expected = value + 1
          }
          value = 0
        } else if (c >= 48 && c <= 57) value = value * 10 + c - 48
      }
      if (expected > last && end === undefined) {
        end = process.hrtime.bigint()
        resolve(result(null))
      }
    })
    child.stderr.on('data', c => (errors += c))
    child.on('error', reject)
    child.on('close', code => resolve(result(code)))
  })
}

/** The hrtime value at a CLOCK_REALTIME instant (ns), through the offset between the two clocks now. */
function hrAtRealtime(realNs) {
  const nowReal = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6))
  return process.hrtime.bigint() - (nowReal - realNs)
}

/** Counts newline bytes in a file without holding it in memory. */
function countLines(file) {
  return new Promise((resolve, reject) => {
    let n = 0
    createReadStream(file, {highWaterMark: 1 << 20})
      .on('data', chunk => {
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++
      })
      .on('error', reject)
      .on('end', () => resolve(n))
  })
}

/**
 * docker run -d of the same app as contain up's (`benchtool go /stamps/go /stamps/stamp /bin/seq N`, 1 CPU,
 * 256 MiB, no network), json-file; with `follow`, `docker logs -f` watching before GO. Time from the app's
 * stamp to the last line in the json-file and at the follower; CPU of dockerd + containerd + shim between
 * GO and the end (the container's own CPU is in a cgroup of its own, not counted, as the app's is not for
 * contain).
 */
async function dockerRound(ctx, d, dir, lines, follow) {
  const stamps = join(dir, `docker-${dockerSeq++}`)
  mkdirSync(stamps)
  const r = await d.cli([
    'run',
    '-d',
    ...dockerFlags(ctx),
    '-v',
    `${stamps}:/stamps`,
    d.image,
    '/bin/benchtool',
    'go',
    '/stamps/go',
    '/stamps/stamp',
    '/bin/seq',
    String(lines),
  ])
  if (!r.ok) throw new Error(`docker run: ${tail(r.all, 300)}`)
  const id = r.stdout.trim()
  try {
    const file = join(d.dataRoot, 'containers', id, `${id}-json.log`)
    let followed
    if (follow) {
      const child = spawn(d.argvPrefix[0], [...d.argvPrefix.slice(1), 'logs', '-f', id], {stdio: ['ignore', 'pipe', 'pipe'], env: d.env})
      followed = countFollower(child, lines)
      await sleep(300) // the follower is watching before the first line, as contain's is
    }
    const cpuBefore = d.accounting?.usageSeconds()
    writeFileSync(join(stamps, 'go'), '')
    const deadline = Date.now() + 180_000
    const fileEnd = await waitForLastLine(ctx, file, line => line.startsWith(`{"log":"${lines}\\n"`), deadline)
    const f = followed ? await Promise.race([followed, sleep(Math.max(0, deadline - Date.now()))]) : undefined
    const cpu = d.accounting ? d.accounting.usageSeconds() - cpuBefore : undefined
    const waited = await d.cli(['wait', id])
    if (!waited.ok || waited.stdout.trim() !== '0') throw new Error(`docker wait: ${tail(waited.all, 200)}`)
    if (!fileEnd) throw new Error(`the json-file did not reach line ${lines} within 180 s`)
    const started = hrAtRealtime(BigInt(readFileSync(join(stamps, 'stamp'), 'utf8').trim()))
    const inFile = await countLines(file)
    if (f && (f.lines !== lines || f.missing))
      ctx.log.warn(`docker logs -f: ${f.lines} lines, ${f.missing} missing (exit ${f.code}${f.errors ? `: ${tail(f.errors, 200)}` : ''})`)
    return {
      ms: msBetween(started, fileEnd),
      followerMs: f ? msBetween(started, f.end) : undefined,
      cpuSeconds: cpu,
      linesInFile: inFile,
      followerLines: f?.lines,
      followerMissing: f ? f.missing + Math.max(0, lines + 1 - f.expected) : undefined,
      followerDuplicates: f?.duplicates,
    }
  } finally {
    await d.cli(['rm', '--force', id])
    rmSync(stamps, {recursive: true, force: true})
  }
}
let dockerSeq = 0
const dockerFlags = ctx => [
  '--pull',
  'never',
  '--network',
  'none',
  '--cpus',
  String(ctx.limits.cpus),
  '--memory',
  `${ctx.limits.memoryBytes}b`,
  '--log-driver',
  'json-file',
]

export async function run(ctx) {
  const rounds = roundsFor(ctx, {quick: 1, full: 3})
  const warmup = 1
  const lines = ctx.opts.quick ? 500_000 : 2_000_000
  const followLines = Math.min(lines, 500_000)
  const followMb = Number((await exec('/bin/sh', ['-c', `seq ${followLines} | wc -c`])).stdout) / 1e6
  const appBytes = Number((await exec('/bin/sh', ['-c', `seq ${lines} | wc -c`])).stdout)
  const mb = appBytes / 1e6
  const limits = `${ctx.limits.cpus} CPU, ${ctx.limits.memoryBytes / 2 ** 20} MiB, no network`
  const rootfs = await ctx.rootfs()
  if (!rootfs.benchtool) throw new Error(rootfs.benchtoolError)
  const dir = join(ctx.workDir, 'logs')
  mkdirSync(dir, {recursive: true})
  const peers = [{id: 'floor', label: 'seq N | cat > file', available: true, command: ['sh', '-c', `seq ${lines} | cat > FILE`]}]
  const cases = [{id: 'floor', run: () => floor(ctx, lines)}]

  // bench/lib/log-writer.js leaves its scratch in bench/work/: removed after the suite unless it was there before.
  const logsScratch = ['work/logs', 'work/logs-bundle.mjs', 'work/logs-results.json'].map(p => join(ctx.benchDir, p)).filter(p => !existsSync(p))
  ctx.cleanup.add('remove bench/lib/log-writer.js scratch', async () => {
    for (const p of logsScratch) rmSync(p, {recursive: true, force: true})
    return logsScratch.length ? `removed ${logsScratch.map(p => p.slice(ctx.benchDir.length + 1)).join(', ')}` : 'none'
  })
  if (existsSync(join(ctx.benchDir, 'lib/log-writer.js'))) {
    cases.push({id: 'contain', run: () => containRound(ctx, lines)})
    peers.push({
      id: 'contain',
      label: 'contain log writer alone (bench/lib/log-writer.js)',
      available: true,
      command: [process.execPath, 'bench/lib/log-writer.js', '--rounds', '1', '--lines', String(lines), '--no-reference'],
      note: 'a component, not a peer of docker: the writer code on a pipe from seq in one process, no limits, no container',
    })
  } else peers.push({id: 'contain', label: 'contain log writer alone', available: false, reason: 'bench/lib/log-writer.js is missing'})

  const seq = which('seq', ['/usr/bin', '/bin'])
  try {
    if (!seq) throw new Unavailable('seq not found in /usr/bin or /bin')
    const projects = new ContainProjects(ctx)
    cases.push({id: 'containUp', run: r => containUpRound(ctx, projects, {benchtool: rootfs.benchtool, seq}, lines, r)})
    peers.push({
      id: 'containUp',
      label: 'contain up -d + contain logs -f',
      available: true,
      command: [...projects.argv, 'up', '-d'],
      note: `app: benchtool go GO STAMP ${seq} ${lines}; cpus: ${ctx.limits.cpus}, mem_limit: ${ctx.limits.memoryBytes}b, network_mode: none; logging 10m × 10 files; follower: contain logs -f`,
    })
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error
    peers.push({id: 'containUp', label: 'contain up -d', available: false, reason: error.message})
  }

  try {
    const d = await startDocker(ctx)
    // Without a follower (the file and the daemon's CPU for writing it), and with one (dockerd then also
    // decodes the json-file and streams it to the CLI).
    cases.push({id: 'docker', run: () => dockerRound(ctx, d, dir, lines, false)})
    // docker logs -f streams about 50,000 lines/s here: on 2,000,000 lines one round would take 40 s, so the
    // followed case runs a quarter of the lines (its time is scaled to N lines; the report says so).
    cases.push({id: 'dockerFollowed', run: () => dockerRound(ctx, d, dir, followLines, true)})
    peers.push({
      id: 'docker',
      label: 'docker run -d, json-file + docker logs -f',
      available: true,
      version: d.version,
      note: `${d.note}; CPU of dockerd + containerd + shim from ${d.accounting ? 'their cgroup' : '(no accounting cgroup: not measured)'}`,
      command: [
        ...d.argvPrefix,
        'run',
        '-d',
        ...dockerFlags(ctx),
        '-v',
        'DIR:/stamps',
        d.image,
        '/bin/benchtool',
        'go',
        '/stamps/go',
        '/stamps/stamp',
        '/bin/seq',
        String(lines),
      ],
    })
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error
    peers.push({id: 'docker', label: 'docker run -d, json-file', available: false, reason: error.message})
  }

  const {samples, failures, load} = await runRounds(ctx, cases, rounds, {
    warmup,
    args: async (c, r) => [r],
    describe: got => cases.map(c => `${c.id} ${got[c.id]?.ms !== undefined ? `${Math.round(got[c.id].ms)} ms` : 'failed'}`).join(', '),
  })

  // Every "× floor" is the median of per-round ratios: each case against the floor of its own round
  // (bench/lib/log-writer.js's rows against the floor it measured itself in the same invocation).
  const perRound = (id, f) => (samples[id] ?? []).map((s, i) => (s && samples.floor[i] ? f(s, samples.floor[i]) : null))
  const ratioOf = (id, f) =>
    pairedRatio(
      perRound(id, f),
      perRound(id, () => 1),
    )
  const values = (id, f) =>
    samples[id]
      ?.filter(Boolean)
      .map(f)
      .filter(x => x !== undefined && Number.isFinite(x)) ?? []
  const med = xs => (xs.length ? summarize(xs).median : undefined)
  const sum = xs => xs.reduce((a, b) => a + b, 0)

  const rows = []
  const chartRows = []
  const addRow = (label, id, ms, ratio, cpuPer100, lost, note) => {
    if (!ms.length) return
    const s = summarize(ms)
    rows.push([
      label,
      ...statCells(s, 1),
      Math.round(lines / (s.median / 1000)).toLocaleString('en'),
      round(mb / (s.median / 1000), 1),
      ratio ? round(ratio.median, 2) : undefined,
      cpuPer100 === undefined ? undefined : round(cpuPer100, 2),
      lost,
      note,
    ])
    chartRows.push({id, label, stats: {ratio: ratio ? {...summarize(ratio.ratios)} : undefined}})
  }
  addRow(
    'floor: seq N | cat > file',
    'floor',
    values('floor', s => s.ms),
    ratioOf('floor', () => 1),
    undefined,
    '–',
    'bench process, spawn to exit',
  )
  addRow(
    'contain writer alone → log file (10 files kept)',
    'contain',
    values('contain', s => s.ms),
    ratioOf('contain', s => s.ms / s.floorMs),
    med(values('contain', s => s.cpuSecondsPer100MB)),
    String(sum(values('contain', s => lines - s.linesInFiles))),
    'component (bench/lib/log-writer.js): no container, no limits; against its own floor of that round',
  )
  addRow(
    'contain writer alone → live follower (5 files kept)',
    'containFollower',
    values('contain', s => s.followerMs + (s.followerCatchUpMs ?? 0)),
    ratioOf('contain', s => (s.followerMs + (s.followerCatchUpMs ?? 0)) / s.floorMs),
    undefined,
    String(sum(values('contain', s => s.followerMissing))),
    `component; across ${samples.contain?.find(Boolean)?.followerRotations ?? '?'} rotations; writer + follower catch-up`,
  )
  addRow(
    'contain up → log file (supervisor)',
    'containUp',
    values('containUp', s => s.ms),
    ratioOf('containUp', (s, f) => s.ms / f.ms),
    med(values('containUp', s => (s.cpuSeconds / mb) * 100)),
    String(sum(values('containUp', s => lines - s.linesInFiles))),
    `app stamp → last line in the file; ${limits}; CPU of the supervisor (all threads)`,
  )
  addRow(
    'contain up → contain logs -f',
    'containUpFollower',
    values('containUp', s => s.followerMs),
    ratioOf('containUp', (s, f) => s.followerMs / f.ms),
    undefined,
    String(sum(values('containUp', s => s.followerMissing))),
    'app stamp → last line at the follower',
  )
  addRow(
    'docker json-file → log file',
    'docker',
    values('docker', s => s.ms),
    ratioOf('docker', (s, f) => s.ms / f.ms),
    med(values('docker', s => (s.cpuSeconds / mb) * 100)),
    String(sum(values('docker', s => lines - s.linesInFile))),
    `app stamp → last line in the json-file; ${limits}; CPU of dockerd + containerd + shim`,
  )
  // Scaled to N lines when it ran fewer (time × N / lines run): the time and ratio compare per line; CPU is per 100 MB anyway.
  const scale = lines / followLines
  addRow(
    `docker → docker logs -f${scale !== 1 ? ' (scaled)' : ''}`,
    'dockerFollower',
    values('dockerFollowed', s => s.followerMs * scale),
    ratioOf('dockerFollowed', (s, f) => (s.followerMs * scale) / f.ms),
    med(values('dockerFollowed', s => (s.cpuSeconds / followMb) * 100)),
    String(sum(values('dockerFollowed', s => s.followerMissing + (followLines - s.linesInFile)))),
    `app stamp → last line at the follower; CPU includes serving it${scale !== 1 ? `; not the same work: ran seq ${followLines.toLocaleString('en')} (docker logs -f is too slow for ${lines.toLocaleString('en')} in a round), times ×${scale}` : ''}`,
  )

  const contain = {
    ratio: ratioOf('contain', s => s.ms / s.floorMs)?.median,
    cpu: med(values('contain', s => s.cpuSecondsPer100MB)),
    lost: sum(values('contain', s => lines - s.linesInFiles)),
    followerLost: sum(values('contain', s => s.followerMissing)),
    problems: sum(values('contain', s => s.problems)),
  }
  const up = {
    n: values('containUp', s => s.ms).length,
    ratio: ratioOf('containUp', (s, f) => s.ms / f.ms)?.median,
    cpu: med(values('containUp', s => (s.cpuSeconds / mb) * 100)),
    lost: sum(values('containUp', s => lines - s.linesInFiles)),
    followerLost: sum(values('containUp', s => s.followerMissing)),
    followerMs: med(values('containUp', s => s.followerMs)),
    ms: med(values('containUp', s => s.ms)),
  }
  const docker = {ratio: ratioOf('docker', (s, f) => s.ms / f.ms)?.median, cpu: med(values('docker', s => (s.cpuSeconds / mb) * 100))}
  const dockerOverContain = pairedRatio(
    perRound('docker', s => s.ms),
    perRound('containUp', s => s.ms),
  )
  const targets = []
  const writer = samples.contain?.some(Boolean)
  const verdict = ok => (ok ? 'met' : 'missed')
  // Judged on the whole path through a running supervisor when it was measured; the writer alone
  // (bench/lib/log-writer.js) is the component figure beside it.
  if (up.n) {
    targets.push({
      text: 'log path ≤ 1.5× the pipe floor (contain up, end to end)',
      value: up.ratio,
      unit: '×',
      status: verdict(up.ratio <= 1.5),
      detail: `${RATIO_STATISTIC}${writer ? `; the log writer alone (bench/lib/log-writer.js): ${round(contain.ratio, 2)}×` : ''}`,
    })
    targets.push({
      text: '≤ 5 CPU-seconds per 100 MB (the supervisor process)',
      value: up.cpu,
      unit: 'CPU-s',
      status: verdict(up.cpu <= 5),
      detail: `per 100 MB of app output, all its threads${writer ? `; the writer alone: ${round(contain.cpu, 2)}` : ''}`,
    })
  } else if (writer) {
    targets.push({
      text: 'log path ≤ 1.5× the pipe floor (the log writer, bench/lib/log-writer.js)',
      value: contain.ratio,
      unit: '×',
      status: verdict(contain.ratio <= 1.5),
      detail: RATIO_STATISTIC,
    })
    targets.push({
      text: '≤ 5 CPU-seconds per 100 MB (the writer process)',
      value: contain.cpu,
      unit: 'CPU-s',
      status: verdict(contain.cpu <= 5),
      detail: 'main thread + libuv, per 100 MB of app output',
    })
  }
  if (writer || up.n) {
    targets.push({
      text: '0 lines lost in the files',
      value: contain.lost + up.lost,
      unit: 'lines',
      status: verdict(contain.lost + up.lost === 0 && contain.problems === 0),
      detail: 'every line counted in the kept files (10 × 10 MiB), both paths',
    })
    targets.push({
      text: '0 lines lost for a live follower across rotation',
      value: contain.followerLost + up.followerLost,
      unit: 'lines',
      status: verdict(contain.followerLost + up.followerLost === 0),
      detail: 'followLog in its own process with 5 files kept (oldest deleted under it), and contain logs -f',
    })
  }
  if (docker.ratio !== undefined)
    targets.push({
      text: "docker's json-file path against the floor",
      value: docker.ratio,
      unit: '×',
      status: 'info',
      detail: `${RATIO_STATISTIC}; ${round(docker.cpu, 1)} CPU-s per 100 MB here`,
    })
  if (dockerOverContain)
    targets.push({
      text: 'docker / contain up, app stamp → last line in the log file',
      value: dockerOverContain.median,
      unit: '×',
      status: 'info',
      detail: `same app, limits (${limits}) and clock; ${RATIO_STATISTIC} (${roundsText(dockerOverContain.n)})`,
    })

  const profile = []
  if (up.n && writer)
    profile.push(
      `end to end, contain up takes ${round(up.ratio, 2)}× the floor and its supervisor ${round(up.cpu, 2)} CPU-s per 100 MB; the log writer alone, on a pipe from seq in one process (bench/lib/log-writer.js), ${round(contain.ratio, 2)}× and ${round(contain.cpu, 2)} CPU-s. The difference is the supervisor process around the same writer code: the app's output crosses a socket pair into a process that also serves the control socket and keeps the last lines for ps, and the app runs under ${ctx.limits.cpus} CPU of quota.`,
    )
  else if (writer && contain.ratio > 1.5)
    profile.push(
      `the log writer takes ${round(contain.ratio, 2)}× the floor: the app's bytes cross one more pipe into Node, are split into lines, timestamped and written (and rotated at 10 MiB).`,
    )
  if (writer)
    profile.push(
      "`node bench/lib/log-writer.js` (without --no-reference) also runs the issue's reference reader, to show what part of the writer is the line splitting.",
    )
  if (up.n && up.followerMs !== undefined && up.ms !== undefined && up.followerMs > 2 * up.ms)
    profile.push(
      `contain logs -f had the last line ${round(up.followerMs - up.ms, 0)} ms after the file did (median): the follower is a second Node process that inotify wakes as the file grows, reading and writing whole runs of records.`,
    )
  const shortFollows = values('dockerFollowed', s => s).filter(s => s.followerLines < followLines)
  if (shortFollows.length)
    profile.push(
      `docker logs -f ended before the last line in ${shortFollows.length} of ${values('dockerFollowed', s => s).length} rounds (${shortFollows.map(s => s.followerLines.toLocaleString('en')).join(', ')} of ${followLines.toLocaleString('en')} lines): it stops when the container has exited, caught up or not. Those are the lines lost in its row.`,
    )
  if (docker.cpu !== undefined)
    profile.push(`docker: ${round(docker.cpu, 1)} CPU-s per 100 MB in dockerd + containerd + shim, ${round(docker.ratio, 1)}× the floor.`)

  return {
    suite: name,
    title,
    ratioStatistic: RATIO_STATISTIC,
    config: {
      rounds,
      warmup,
      quick: ctx.opts.quick,
      lines,
      followLines,
      appBytes,
      limits: {cpus: ctx.limits.cpus, memoryBytes: ctx.limits.memoryBytes, network: 'none'},
    },
    peers,
    intro: [
      `The app prints \`seq ${lines.toLocaleString('en')}\` (${round(mb, 1)} MB) as fast as it can. Each round runs every case once, in a rotating order, after one warm-up round; "× floor" is the ${RATIO_STATISTIC} to the floor of the same round. Lines/s and MB/s are computed from the median time.`,
      `Equal work for contain up and docker: the same static app (\`benchtool go GO STAMP seq N\`), the same limits (${limits}), each follower watching before the app starts printing, and the same clock: from the app's own CLOCK_REALTIME stamp, taken when the bench creates GO (after the container or app has started), to the last line in the log file (read every 5 ms) or at the follower. No container start is in any time. Daemon CPU is read from GO to the end: contain's supervisor (every thread), docker's dockerd + containerd + shim (their cgroup). Where the work differs, the row says so: \`contain writer alone\` is a component (bench/lib/log-writer.js, one round per invocation after its own warm-up, no container and no limits), and docker logs -f runs fewer lines, scaled.`,
    ],
    sections: [
      {
        title: 'Lines reaching the file and the follower',
        columns: ['path', 'median ms', 'min', 'max', 'p90', 'n', 'lines/s', 'MB/s', '× floor', 'CPU-s per 100 MB', 'lines lost', 'note'],
        rows,
      },
    ],
    targets,
    profile,
    chart: {
      title: 'log path against the pipe floor',
      unit: '×',
      scale: 'log',
      axisLabel: `time to write seq ${lines.toLocaleString('en')} to the file (or follower), × the pipe floor of the same round (bar = median of per-round ratios)`,
      groups: [{name: 'ratio', label: '× floor'}],
      reference: {ms: 1.5, label: 'target: 1.5× floor'},
      rows: chartRows.filter(r => r.stats.ratio),
    },
    samples,
    failures,
    loadAverage1mPerRound: load,
  }
}
