#!/usr/bin/env node
// npm run bench -- [--suite launch,restart,...] [--runs N] [--quick] [--only a,b] [--no-install] [--keep-work]
//
// Orchestrates the benchmark suites: installs peers, gives each suite a context (work dir, cgroup layout,
// cleanup registry), writes bench/results/<date>-<suite>.{json,md,svg}, and - always, also on failure or
// Ctrl-C - removes every container, image, daemon, cgroup, mount and directory the bench created.
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeSync} from 'node:fs'
import {loadavg} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {ensurePackages} from './lib/apt.js'
import {parseArgs, usage} from './lib/args.js'
import {CgroupJanitor, cgroupLayout, commonParentPath} from './lib/cgroup.js'
import {Cleanup} from './lib/cleanup.js'
import {appCgroups} from './lib/contain.js'
import {clearNodeStartVariables, hostLimits, machineFacts} from './lib/facts.js'
import {
  mountsUnder,
  networkFingerprint,
  removeNewPaths,
  restoreSysctls,
  snapshotPaths,
  snapshotSysctls,
  stopProcessesReferencing,
  unmountUnder,
} from './lib/host.js'
import {log} from './lib/log.js'
import {abortMeasurements} from './lib/measure.js'
import {debianPackages} from './lib/peers/index.js'
import {pidAlive, processes} from './lib/proc.js'
import {writeReports} from './lib/report.js'
import {buildRootfs} from './lib/rootfs.js'

// In the order of the benchmark issue; a full run takes them all in this order.
const suites = {
  launch: () => import('./suites/launch.js'),
  restart: () => import('./suites/restart.js'),
  resident: () => import('./suites/resident.js'),
  logs: () => import('./suites/logs.js'),
  limits: () => import('./suites/limits.js'),
  rails: () => import('./suites/rails.js'),
  isolation: () => import('./suites/isolation.js'),
  deploy: () => import('./suites/deploy.js'),
  // contain alone, not in the benchmark issue's order: restart, memory and seccomp split into their parts.
  supervisor: () => import('./suites/supervisor.js'),
}

const benchDir = dirname(fileURLToPath(import.meta.url))
const repoRoot = join(benchDir, '..')
// bench/work/ is git-ignored scratch shared with other bench scripts (e.g. bench/lib/log-writer.js uses bench/work/logs):
// run.js keeps everything in its own subdirectory and never touches the rest.
const workRoot = join(benchDir, 'work')
const workDir = join(workRoot, 'run')
const resultsDir = join(benchDir, 'results')
const runPrefix = 'contain-bench-'

function localDate(d = new Date()) {
  const pad = n => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}

/** Every cgroup directory down to maxDepth in every hierarchy; `visit` returns false to not descend. */
function walkCgroups(layout, maxDepth, visit) {
  const walk = (dir, depth) => {
    let entries
    try {
      entries = readdirSync(dir, {withFileTypes: true})
    } catch {
      return
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue
      const path = join(dir, e.name)
      if (visit(path, e.name) !== false && depth < maxDepth) walk(path, depth + 1)
    }
  }
  for (const h of layout.hierarchies) walk(h.mountPoint, 1)
}

/** Bench cgroups (contain-bench-<pid>) at depth <= maxDepth in every hierarchy. */
function findBenchCgroups(layout, predicate, maxDepth = 6) {
  const found = []
  walkCgroups(layout, maxDepth, (path, name) => {
    if (!name.startsWith(runPrefix) || !predicate(name)) return true
    found.push(path)
    return false
  })
  return found
}

function cgroupDirSet(layout, maxDepth = 4) {
  const set = new Set()
  walkCgroups(layout, maxDepth, path => void set.add(path))
  return set
}

/** Leftovers of an earlier bench that was killed with SIGKILL: its processes, mounts and cgroups. */
async function recoverStale(layout) {
  const notes = []
  if (existsSync(workDir)) {
    const stopped = await stopProcessesReferencing(workDir)
    if (stopped.length) notes.push(`stopped ${stopped.join(', ')}`)
    const mounts = await unmountUnder(workDir)
    if (mounts.unmounted.length) notes.push(`unmounted ${mounts.unmounted.length} stale mount(s)`)
  }
  const stale = findBenchCgroups(layout, name => {
    const pid = Number(name.slice(runPrefix.length))
    return Number.isInteger(pid) && pid !== process.pid && !(pidAlive(pid) && processes().some(p => p.pid === pid && p.cmdline.includes('bench/run.js')))
  })
  if (stale.length) {
    const janitor = new CgroupJanitor()
    for (const dir of stale) janitor.adopt(dir)
    const r = await janitor.removeAll()
    notes.push(`removed ${r.removed.length} stale cgroup(s) of earlier runs${r.failed.length ? `, could not remove ${r.failed.join(', ')}` : ''}`)
  }
  return notes
}

const machineLock = '/run/contain-bench.lock'

/**
 * Takes the machine-wide bench lock with O_EXCL (atomic, and never through a planted symlink);
 * a lock whose bench is gone is taken over. Returns the pid of a live holder, else undefined.
 */
function takeMachineLock() {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(machineLock, 'wx', 0o600)
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      process.on('exit', () => rmSync(machineLock, {force: true}))
      return undefined
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
    }
    const pid = Number(readFileSync(machineLock, 'utf8').trim())
    if (processes().some(p => p.pid === pid && p.cmdline.includes('bench/run.js'))) return pid
    rmSync(machineLock, {force: true})
  }
  throw new Error(`bench: could not take ${machineLock}: another bench keeps making it; remove it if no bench runs`)
}

async function main() {
  // Before anything is spawned: every peer, node -e 0 among them, starts without them.
  const nodeStartVariablesRemoved = clearNodeStartVariables()
  let opts
  try {
    opts = parseArgs(process.argv.slice(2))
  } catch (error) {
    console.error(`${error.message}\n${usage}`)
    return 2
  }
  if (opts.help) {
    console.log(usage)
    return 0
  }
  if (opts.render) {
    const result = JSON.parse(readFileSync(opts.render, 'utf8'))
    const files = writeReports(dirname(resolve(opts.render)), result)
    console.log(`wrote ${files.md} and ${files.svg}`)
    return 0
  }
  const selected = opts.suites ?? Object.keys(suites)
  for (const s of selected)
    if (!suites[s]) {
      console.error(`unknown suite "${s}" (known: ${Object.keys(suites).join(', ')})`)
      return 2
    }
  if (process.getuid?.() !== 0) {
    console.error('bench: run as root (cgroups, namespaces, dockerd and the OCI runtimes need it)')
    return 1
  }

  // One bench at a time on the machine, from whichever clone: two runs share the host's cgroup
  // parents (each janitor removes only the ancestors it saw itself create, so side by side they
  // left them behind), the peers' daemons and the CPUs every figure depends on.
  const held = takeMachineLock()
  if (held !== undefined) {
    console.error(`bench: another bench is running (pid ${held}); wait for it or stop it first`)
    return 1
  }

  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
  const cleanup = new Cleanup()
  cleanup.installSignalHandlers(abortMeasurements)
  const layout = cgroupLayout()
  const runId = `${runPrefix}${process.pid}`
  const commonParent = commonParentPath(layout)
  const janitor = new CgroupJanitor()

  log.step(`contain bench (${selected.join(', ')})${opts.quick ? ', quick' : ''}; cgroup ${layout.mode}; work dir ${workDir}`)
  const recovered = await recoverStale(layout)
  for (const note of recovered) log.warn(`earlier run: ${note}`)

  const networkBefore = await networkFingerprint()
  const sysctlsBefore = snapshotSysctls()
  const pathsBefore = snapshotPaths()
  const cgroupsBefore = cgroupDirSet(layout)
  const workExisted = existsSync(workDir) && readdirSync(workDir).length > 0
  const workRootExisted = existsSync(workRoot)
  mkdirSync(workDir, {recursive: true})

  // Undo steps run newest first: peers (registered later) → stray processes → mounts → cgroups → host state → work dir.
  cleanup.add('remove bench/work/run', async () => {
    const mounts = mountsUnder(workDir)
    if (mounts.length) throw new Error(`not removing ${workDir}: still mounted: ${mounts.join(', ')}`)
    if (opts.keepWork) {
      for (const sub of ['docker', 'podman']) rmSync(join(workDir, sub), {recursive: true, force: true})
      return 'kept (--keep-work), except the docker and podman stores'
    }
    rmSync(workDir, {recursive: true, force: true})
    // bench/work itself only if this run created it and nothing else has put files there since.
    if (!workRootExisted && readdirSync(workRoot).length === 0) rmSync(workRoot, {recursive: true, force: true})
    return `removed ${workDir}${workExisted ? ' (left over from an earlier run)' : ''}`
  })
  cleanup.add('restore kernel settings and remove tool state outside bench/work', async () => {
    const restored = restoreSysctls(sysctlsBefore)
    const removed = removeNewPaths(pathsBefore)
    return `${restored.length ? `restored ${restored.join(', ')}` : 'kernel settings unchanged'}; ${removed.length ? `removed ${removed.join(', ')}` : 'no new state outside bench/work'}`
  })
  cleanup.add('remove bench cgroups', async () => {
    const r = await janitor.removeAll()
    if (r.failed.length) throw new Error(`could not remove ${r.failed.join(', ')}`)
    // Which tool left how many directories (runtimes remove their leaf cgroups in some hierarchies only).
    const byTool = {}
    for (const dir of r.removed) {
      const rest = dir.split(`/${runId}`)[1]
      const key = rest === undefined ? 'ancestors' : (rest.split('/')[1] ?? runId)
      byTool[key] = (byTool[key] ?? 0) + 1
    }
    return `removed ${r.removed.length} cgroup dir(s): ${Object.entries(byTool)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`
  })
  cleanup.add('unmount everything under bench/work/run', async () => {
    const r = await unmountUnder(workDir)
    if (r.remaining.length) throw new Error(`still mounted: ${r.remaining.join(', ')}`)
    return `${r.unmounted.length} unmounted`
  })
  cleanup.add('stop bench processes still running', async () => {
    const stopped = await stopProcessesReferencing(workDir)
    return stopped.length ? stopped.join(', ') : 'none left'
  })
  if (commonParent) janitor.track(layout, `${commonParent}/${runId}`)

  const results = []
  let failure
  try {
    log.step('installing peers from Debian (missing ones only)')
    const packages = await ensurePackages(debianPackages, {install: opts.install})
    for (const [name, s] of Object.entries(packages)) if (s.status === 'failed' || s.status === 'missing') log.warn(`${name}: ${s.reason}`)
    const machine = await machineFacts(layout, nodeStartVariablesRemoved)
    let rootfsPromise
    for (const suiteName of selected) {
      cleanup.assertNotStopping()
      const suite = await suites[suiteName]()
      const suiteStarted = new Date()
      log.step(`suite ${suiteName}: ${suite.title}`)
      const ctx = {
        opts,
        repoRoot,
        benchDir,
        workDir,
        runId,
        layout,
        commonParent,
        janitor,
        cleanup,
        packages,
        log,
        hostLimits: hostLimits(),
        limits: {cpus: 1, memoryBytes: 256 * 2 ** 20, cpuQuota: 100_000, cpuPeriod: 100_000},
        rootfs: () => (rootfsPromise ??= buildRootfs(workDir)),
      }
      let out
      try {
        out = await suite.run(ctx)
      } catch (error) {
        // One suite failing (a peer's daemon, a missing example) does not cost the others their results.
        if (cleanup.started) throw error
        failure ??= error
        log.warn(`suite ${suiteName} failed: ${error?.stack ?? error}`)
        continue
      }
      const rootfs = rootfsPromise ? await rootfsPromise.catch(() => undefined) : undefined
      results.push({
        suite: suiteName,
        date: localDate(suiteStarted),
        startedAt: suiteStarted.toISOString(),
        finishedAt: new Date().toISOString(),
        durationSeconds: (Date.now() - suiteStarted) / 1000,
        command,
        workDir,
        machine: {
          ...machine,
          loadAverageAtEnd: loadavg().map(x => Number(x.toFixed(2))),
          toolVersions: Object.fromEntries((out.peers ?? []).filter(p => p.version).map(p => [p.id, p.version])),
          busybox: rootfs?.version,
          cgroupParentForRuntimes: commonParent ? `${commonParent}/${runId}` : undefined,
          hostHardLimits: ctx.hostLimits,
        },
        packages,
        ...out,
      })
    }
  } catch (error) {
    failure = error
    log.warn(`bench failed: ${error?.stack ?? error}`)
  } finally {
    log.step('cleaning up')
    await cleanup.run()
  }

  // Verify: nothing of ours is left, and the host network is as it was.
  const networkAfter = await networkFingerprint()
  const ours = new RegExp(`^${runId}$`)
  const hostCheck = {
    networkBefore: networkBefore.digest,
    networkAfter: networkAfter.digest,
    networkUnchanged: networkBefore.digest === networkAfter.digest,
    networkDiff:
      networkBefore.digest === networkAfter.digest ? undefined : Object.keys(networkAfter.parts).filter(k => networkAfter.parts[k] !== networkBefore.parts[k]),
    leftoverCgroups: [...new Set([...janitor.leftovers(), ...findBenchCgroups(layout, name => ours.test(name)), ...appCgroups(layout)])],
    leftoverMounts: mountsUnder(workDir),
    leftoverProcesses: processes()
      .filter(p => p.pid !== process.pid && p.cmdline.includes(workDir))
      .map(p => `${p.pid} ${p.cmdline}`),
    containerDaemonsRunning: processes()
      .filter(p => /^(dockerd|containerd|containerd-shim.*|conmon|podman)$/.test(p.comm))
      .map(p => `${p.pid} ${p.cmdline}`),
    // Informational only: on a shared host other sessions create cgroups too; nothing here is removed.
    cgroupsAppearedElsewhere: [...cgroupDirSet(layout)].filter(d => !cgroupsBefore.has(d)),
    workDirRemoved: opts.keepWork ? 'kept (--keep-work)' : !existsSync(workDir),
  }
  for (const [k, v] of Object.entries(hostCheck)) {
    if (k === 'cgroupsAppearedElsewhere') continue
    if ((Array.isArray(v) && v.length) || v === false) log.warn(`host check: ${k}: ${JSON.stringify(v)}`)
  }

  for (const result of results) {
    result.cleanup = cleanup.report
    result.hostCheck = hostCheck
    result.earlierRunRecovery = recovered.length ? recovered : undefined
    const files = writeReports(resultsDir, result)
    log.step(`wrote ${files.md}, ${files.json}, ${files.svg}`)
    printSummary(result)
  }
  if (failure) return 1
  return 0
}

function printSummary(result) {
  if (result.sections) {
    console.log(`\n${result.title} (${result.config.rounds} rounds)`)
    for (const section of result.sections.filter(x => x.columns && x.summary !== false)) {
      console.log(`\n  ${section.title}`)
      const rows = [section.columns, ...section.rows].map(r =>
        r.map(c =>
          c === undefined || c === null ? '–' : typeof c === 'number' ? (Math.abs(c) >= 100 ? c.toFixed(1) : c.toFixed(2)) : String(c).replace(/\*\*/g, ''),
        ),
      )
      const widths = rows[0].map((_, i) => Math.min(48, Math.max(...rows.map(r => String(r[i] ?? '').length))))
      for (const r of rows) console.log(`  ${r.map((c, i) => (i === 0 ? String(c).slice(0, 48).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')}`)
    }
    console.log('')
    for (const t of result.targets ?? [])
      console.log(
        `target: ${t.text}: ${t.status}${t.value === undefined || t.value === null ? '' : ` (${Number(t.value).toFixed(2)}${t.unit ? ` ${t.unit}` : ''})`}`,
      )
    for (const p of (result.peers ?? []).filter(p => !p.available)) console.log(`unavailable: ${p.id}: ${p.reason}`)
    return
  }
  for (const [name, label] of Object.entries(result.config.workloads)) {
    console.log(`\n${result.title}: ${label} (${result.config.rounds} rounds, ms)`)
    console.log(
      `${'tool'.padEnd(36)} ${'median'.padStart(9)} ${'min'.padStart(9)} ${'max'.padStart(9)} ${'p90'.padStart(9)} ${'×node'.padStart(7)} ${'×contain'.padStart(9)}`,
    )
    for (const r of result.summary[name]) {
      const f = x => (x === null || x === undefined ? '–' : x.toFixed(2)).padStart(9)
      console.log(
        `${r.label.padEnd(36)} ${f(r.median)} ${f(r.min)} ${f(r.max)} ${f(r.p90)} ${(r.xNode?.toFixed(2) ?? '–').padStart(7)} ${(r.xContain?.toFixed(2) ?? '–').padStart(9)}`,
      )
    }
  }
  console.log('')
  for (const t of result.targets)
    console.log(`target [${t.workload}] ${t.text}: ${t.status}${t.ratio !== undefined ? ` (${t.ratio.toFixed(2)}×)` : ` (${t.detail})`}`)
  for (const p of result.peers.filter(p => !p.available)) console.log(`unavailable: ${p.id}: ${p.reason}`)
}

process.exitCode = await main()
