#!/usr/bin/env node
// The log writer alone, a component of the logs suite (bench/suites/logs.js runs it as a child process:
// it measures its own process's CPU, which the bench's own work must not blur). An app prints `seq N`
// (default 2,000,000 short lines) as fast as it can, and contain's supervisor (src/supervisor/logs.ts, bundled on the fly by esbuild into
// bench/work/) timestamps and writes every line, rotating 10 MiB x 5 files. Measured interleaved against
// the pipe floor `seq N | cat > file`, round by round, medians reported:
//
//   floor       sh -c 'seq N | cat > file'                          wall time, spawn to exit
//   contain     AppLog in this process, seq as the app, attached as    wall time, spawn to log closed;
//               `contain up -d` attaches it (last lines kept for ps)  CPU of this process (main + libuv threads)
//   reference   the issue's "reuse the timestamp within a millisecond, one write per chunk" reader
//   +follower   contain again, with `followLog` running live in a separate Node process from the
//               first line to the last, across every rotation; it checks each line is 1, 2, 3, ... N
//
// The `contain` case keeps 10 files (nothing deleted), so every line can be counted in the files; the
// `+follower` case keeps the default 5, so the oldest files are deleted under the follower.
//
// Usage: node bench/lib/log-writer.js [--rounds 9] [--lines 2000000] [--no-reference] [--no-follower]
//        (internal) node bench/lib/log-writer.js --follower FILE N
import {spawn} from 'node:child_process'
import {closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync} from 'node:fs'
import {loadavg} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'
import {RATIO_STATISTIC, pairedRatio} from './stats.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')
const work = join(root, 'bench/work/logs')
const bundle = join(root, 'bench/work/logs-bundle.mjs')

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const {AppLog, nodeLogFileSystem, LastLines} = await buildBundle()
  KeepLastLines = LastLines
  // Counts rotations (app.log -> app.log.1) on the way.
  const counting = {...nodeLogFileSystem, rename: (from, to) => (to.endsWith('.1') && rotations++, nodeLogFileSystem.rename(from, to))}
  const Log = class extends AppLog {
    constructor(options) {
      super({...options, fs: counting})
    }
  }
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc')
  rmSync(work, {recursive: true, force: true})
  mkdirSync(work, {recursive: true})
  const appBytes = (await captureBytes('seq', [String(args.lines)])).length

  const cases = [
    {key: 'floor', run: () => floor(args.lines)},
    {key: 'contain', run: () => containRun(Log, args.lines, {maxFiles: 10, verify: true})},
    ...(args.reference ? [{key: 'reference', run: () => referenceRun(args.lines)}] : []),
    ...(args.follower ? [{key: '+follower', run: () => followerRun(Log, args.lines)}] : []),
  ]
  const samples = Object.fromEntries(cases.map(c => [c.key, []]))
  const load = []
  // One warm-up round (JIT, page cache), not counted.
  for (const c of cases) await c.run()
  for (let round = 1; round <= args.rounds; round++) {
    load.push(loadavg()[0])
    for (const c of cases) {
      gc()
      const sample = await c.run()
      samples[c.key].push(sample)
      if (sample.problem) console.error(`round ${round} ${c.key}: ${sample.problem}`)
    }
    const line = cases.map(c => `${c.key} ${samples[c.key].at(-1).ms.toFixed(0)} ms`).join(', ')
    console.error(`round ${round}/${args.rounds}: ${line}`)
  }
  report(args, appBytes, cases, samples, load)
}

function parseArgs(argv) {
  const args = {rounds: 9, lines: 2_000_000, reference: true, follower: true}
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') args.rounds = Number(argv[++i])
    else if (argv[i] === '--lines') args.lines = Number(argv[++i])
    else if (argv[i] === '--no-reference') args.reference = false
    else if (argv[i] === '--no-follower') args.follower = false
    else throw new Error(`unknown argument ${argv[i]}; usage: node bench/lib/log-writer.js [--rounds 9] [--lines 2000000] [--no-reference] [--no-follower]`)
  }
  if (!(args.rounds >= 1) || !(args.lines >= 1)) throw new Error('--rounds and --lines must be at least 1')
  return args
}

/** src/supervisor/logs.ts and log-follow.ts as one ES module, with the esbuild the project installs. */
async function buildBundle() {
  const esbuild = await import('esbuild')
  await esbuild.build({
    stdin: {contents: "export * from './src/supervisor/logs.ts'\nexport * from './src/supervisor/log-follow.ts'\n", resolveDir: root, loader: 'ts'},
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: bundle,
    logLevel: 'warning',
  })
  return import(pathToFileURL(bundle).href)
}

function captureBytes(command, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {stdio: ['ignore', 'pipe', 'inherit']})
    const chunks = []
    child.stdout.on('data', chunk => chunks.push(chunk))
    child.on('error', reject)
    child.on('close', code => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${command} exited ${code}`))))
  })
}

let rotations = 0
let KeepLastLines
const since = start => Number(process.hrtime.bigint() - start) / 1e6

/** The pipe floor: the same bytes through a pipe into a file, nothing else. */
function floor(lines) {
  const file = join(work, 'floor.txt')
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const child = spawn('sh', ['-c', `seq ${lines} | cat > '${file}'`], {stdio: 'ignore'})
    child.on('error', reject)
    child.on('exit', code => resolve({ms: since(start), problem: code === 0 ? undefined : `exit ${code}`}))
  })
}

/** Starts `seq` as the app with both pipes on an AppLog; resolves when the app is gone and the log closed. */
function runApp(AppLog, lines, dir, logOptions) {
  const file = join(dir, 'app.log')
  const errors = []
  rotations = 0
  const log = new AppLog({file, ...logOptions, onError: error => errors.push(error.message)})
  return new Promise((resolve, reject) => {
    const cpu = process.cpuUsage()
    const start = process.hrtime.bigint()
    const child = spawn('seq', [String(lines)], {stdio: ['ignore', 'pipe', 'pipe']})
    // As the detached supervisor attaches them (src/supervisor/up.ts): it keeps each app's last lines for ps.
    const lastLines = []
    const keeper = new KeepLastLines(20, line => lastLines.push(line) > 20 && lastLines.shift())
    log.attach(child.stdout, 'out', lines => keeper.add(lines))
    log.attach(child.stderr, 'err', lines => keeper.add(lines))
    child.on('error', reject)
    child.on('close', async code => {
      await log.close()
      keeper.flush()
      const ms = since(start)
      const used = process.cpuUsage(cpu)
      resolve({
        file,
        ms,
        cpuMs: (used.user + used.system) / 1000,
        rotations,
        problem: code !== 0 ? `seq exited ${code}` : errors.length ? errors.join('; ') : undefined,
      })
    })
  })
}

async function containRun(AppLog, lines, {maxFiles, verify}) {
  const dir = join(work, 'contain')
  rmSync(dir, {recursive: true, force: true})
  const sample = await runApp(AppLog, lines, dir, {maxFiles})
  if (verify && !sample.problem) {
    const check = checkFiles(sample.file, maxFiles, lines)
    sample.linesInFiles = check.count
    sample.files = check.files
    if (check.problem) sample.problem = check.problem
  }
  return sample
}

/** Counts the records in every file, oldest first, and checks they read 1..N, each whole and timestamped. */
function checkFiles(file, maxFiles, lines) {
  let expected = 1
  let count = 0
  let files = 0
  for (let index = maxFiles - 1; index >= 0; index--) {
    let data
    try {
      data = readFileSync(index === 0 ? file : `${file}.${index}`)
    } catch {
      continue
    }
    files++
    if (data.length > 10 * 2 ** 20) return {count, files, problem: `file ${index} has ${data.length} bytes, over 10 MiB`}
    let start = 0
    while (start < data.length) {
      const end = data.indexOf(10, start)
      if (end === -1) return {count, files, problem: `file ${index} ends mid-line`}
      // 2026-11-29T05:45:12.123Z out 123
      if (data[start + 23] !== 0x5a || data.toString('latin1', start + 24, start + 29) !== ' out ')
        return {count, files, problem: `bad record at line ${count + 1}`}
      let value = 0
      for (let i = start + 29; i < end; i++) value = value * 10 + data[i] - 48
      if (value !== expected) return {count, files, problem: `line ${count + 1} is ${value}, expected ${expected}`}
      expected++
      count++
      start = end + 1
    }
  }
  return {count, files, problem: count === lines ? undefined : `${count} lines in the files, expected ${lines}`}
}

/** The issue's 0.64 s reader: one ISO string per millisecond, lines as strings, one writeSync per chunk, no rotation. */
function referenceRun(lines) {
  const dir = join(work, 'reference')
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  const fd = openSync(join(dir, 'app.log'), 'a')
  return new Promise((resolve, reject) => {
    const cpu = process.cpuUsage()
    const start = process.hrtime.bigint()
    const child = spawn('seq', [String(lines)], {stdio: ['ignore', 'pipe', 'ignore']})
    let lastMs = -1
    let stamp = ''
    let partial = ''
    child.stdout.on('data', chunk => {
      const now = Date.now()
      if (now !== lastMs) {
        lastMs = now
        stamp = `${new Date(now).toISOString()} out `
      }
      const parts = (partial + chunk.toString('utf8')).split('\n')
      partial = parts.pop()
      let out = ''
      for (const line of parts) out += `${stamp}${line}\n`
      writeSync(fd, out)
    })
    child.on('error', reject)
    child.on('close', () => {
      closeSync(fd)
      const used = process.cpuUsage(cpu)
      resolve({ms: since(start), cpuMs: (used.user + used.system) / 1000})
    })
  })
}

/** contain with a live follower process: started and watching before the app's first line. */
async function followerRun(AppLog, lines) {
  const dir = join(work, 'followed')
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  const file = join(dir, 'app.log')
  const follower = spawn(process.execPath, [fileURLToPath(import.meta.url), '--follower', file, String(lines)], {stdio: ['ignore', 'pipe', 'inherit']})
  let output = ''
  const ready = new Promise(resolve => follower.stdout.on('data', chunk => (output += chunk) && output.includes('ready\n') && resolve()))
  const exited = new Promise(resolve => follower.on('close', resolve))
  await ready
  const sample = await runApp(AppLog, lines, dir, {})
  const writerDone = process.hrtime.bigint()
  await exited
  sample.followerLagMs = since(writerDone)
  const result = JSON.parse(output.slice(output.indexOf('{')))
  Object.assign(sample, {followerLines: result.lines, followerMissing: result.missing, followerDuplicates: result.duplicates, followerCpuMs: result.cpuMs})
  if (result.lines !== lines || result.missing || result.duplicates) sample.problem = `follower: ${JSON.stringify(result)}`
  return sample
}

/** The follower process: followLog from the start, counting 1..N; exits once it has N or after 20 s without lines. */
async function followerMain(file, lines) {
  const {followLog} = await import(pathToFileURL(bundle).href)
  const controller = new AbortController()
  const result = {lines: 0, missing: 0, duplicates: 0, cpuMs: 0}
  let expected = 1
  let idle
  const stopIdle = () => {
    clearTimeout(idle)
    idle = setTimeout(() => controller.abort(), 20_000)
  }
  stopIdle()
  const lastStamp = Buffer.alloc(24)
  const start = process.cpuUsage()
  await followLog(file, {
    lines: 0,
    signal: controller.signal,
    onReady: () => process.stdout.write('ready\n'),
    // As contain logs -f takes them: the records' bytes, each `<time> out <n>\n`.
    onRecords: records => {
      stopIdle()
      for (let start = 0; start < records.length;) {
        const end = records.indexOf(10, start)
        let value = 0
        for (let i = start + 29; i < end; i++) value = value * 10 + records[i] - 48
        result.lines++
        if (value === expected) expected++
        else if (value < expected) result.duplicates++
        else {
          result.missing += value - expected
          expected = value + 1
        }
        const order = records.compare(lastStamp, 0, 24, start, start + 24)
        if (order < 0) result.outOfOrder = (result.outOfOrder ?? 0) + 1
        else if (order > 0) records.copy(lastStamp, 0, start, start + 24)
        start = end + 1
      }
      if (expected > lines) controller.abort()
    },
  })
  clearTimeout(idle)
  result.missing += Math.max(0, lines + 1 - expected)
  const used = process.cpuUsage(start)
  result.cpuMs = (used.user + used.system) / 1000
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

function median(values) {
  const sorted = values.filter(v => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function report(args, appBytes, cases, samples, load) {
  const rows = cases.map(({key}) => {
    const list = samples[key]
    const ms = median(list.map(s => s.ms))
    // The bench's one statistic for ratios: each case against the floor of its own round, then the median.
    const ratio = pairedRatio(
      list.map(s => s.ms),
      samples.floor.map(s => s.ms),
    )?.median
    const cpuMs = median(list.map(s => s.cpuMs))
    return {
      case: key,
      medianMs: round(ms),
      minMs: round(Math.min(...list.map(s => s.ms))),
      ratioToFloor: round(ratio, 2),
      cpuSecondsPer100MB: Number.isFinite(cpuMs) ? round((cpuMs / 1000) * (1e8 / appBytes), 2) : undefined,
      problems: list.filter(s => s.problem).length,
    }
  })
  const followed = samples['+follower'] ?? []
  const result = {
    command: `node bench/lib/log-writer.js${args.rounds !== 9 ? ` --rounds ${args.rounds}` : ''}${args.lines !== 2_000_000 ? ` --lines ${args.lines}` : ''}`,
    date: new Date().toISOString(),
    node: process.version,
    lines: args.lines,
    appBytes,
    rounds: args.rounds,
    ratioStatistic: RATIO_STATISTIC,
    loadAverage1m: {min: round(Math.min(...load), 2), max: round(Math.max(...load), 2)},
    rows,
    contain: {linesInFiles: samples.contain.map(s => s.linesInFiles), files: samples.contain[0]?.files, rotations: samples.contain[0]?.rotations},
    follower: followed.length
      ? {
          lines: followed.map(s => s.followerLines),
          missing: followed.map(s => s.followerMissing),
          duplicates: followed.map(s => s.followerDuplicates),
          rotations: followed[0].rotations,
          medianCatchUpAfterWriterMs: round(median(followed.map(s => s.followerLagMs))),
          medianFollowerCpuMs: round(median(followed.map(s => s.followerCpuMs))),
        }
      : undefined,
    samples,
  }
  writeFileSync(join(root, 'bench/work/logs-results.json'), `${JSON.stringify(result, null, 2)}\n`)
  console.log(
    `\n${result.command}  (${args.lines} lines, ${appBytes} bytes of app output, ${args.rounds} interleaved rounds, node ${process.version}, load ${result.loadAverage1m.min}-${result.loadAverage1m.max})\n`,
  )
  console.log(`× floor: the ${RATIO_STATISTIC} (each case against the floor of its own round).\n`)
  console.log('| case | median ms | min ms | × floor | CPU-s per 100 MB | runs with problems |')
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const r of rows) console.log(`| ${r.case} | ${r.medianMs} | ${r.minMs} | ${r.ratioToFloor} | ${r.cpuSecondsPer100MB ?? '-'} | ${r.problems} |`)
  console.log(
    `\ncontain (10 files kept, ${result.contain.rotations} rotations a run): lines counted in the files per round: ${result.contain.linesInFiles.join(', ')}`,
  )
  if (result.follower) {
    const lost = result.follower.missing.reduce((a, b) => a + b, 0)
    console.log(`+follower (5 files kept, ${result.follower.rotations} rotations a run): follower lines per round: ${result.follower.lines.join(', ')}`)
    console.log(
      `  lost ${lost}, duplicated ${result.follower.duplicates.reduce((a, b) => a + b, 0)}; the follower finished ${result.follower.medianCatchUpAfterWriterMs} ms after the writer (median), using ${result.follower.medianFollowerCpuMs} CPU-ms`,
    )
  }
  console.log(`\nall samples: bench/work/logs-results.json`)
}

function round(value, digits = 1) {
  return Number.isFinite(value) ? Number(value.toFixed(digits)) : value
}

if (process.argv[2] === '--follower') await followerMain(process.argv[3], Number(process.argv[4]))
else await main()
