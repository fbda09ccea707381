// The supervisor suite (issues 4 and 6), a contain-only profile of `contain up`: restart latency split
// into the app, the launcher and the Node supervisor; the supervisor's resident memory per app; and the
// cost of seccomp (compile, cache, install). Every case is measured interleaved: round r runs each case
// once, in a rotating order, so drift on the machine hits all alike.
//
//   restart    an app `sh -c 'date +%s%N >> F; date +%s%N >> F'` under `restart: always` with
//              `backoff: {initial: 0ms, max: 0ms}`: the gap from one run's last stamp to the next run's
//              first stamp, read from F (nothing in src/ is instrumented). Three cases per round:
//                floor      the same command run back to back by a shell loop: the app's own exec/exit cost
//                launcher   the launcher argv contain builds (contain-init enter -> unshare -> contain-init run,
//                           with what contain-init reads: the seccomp filter on fd 4, the app's environment
//                           on fd 5, the device program on fd 6) run back to back by a shell loop: + cgroup,
//                           namespaces, the view, the filter
//                contain    `contain up -d` supervising it: + the Node supervisor noticing the exit and spawning
//   resident   the detached supervisor of a project with 1 and with 10 idle apps (`sleep 3600`), both up at
//              once: RSS and PSS from /proc/PID/smaps_rollup (median of 5 samples a round), and the
//              contain-init helpers each app keeps (informational: the supervisor is what the target is about)
//   seccomp    compileProfile on the default profile, in this process (bundled from src/ by esbuild):
//              cold (cache cleared), memory-cache hit, disk-cache hit; in fresh node processes: the first
//              compile with the built dist/ (a cache miss), and what planning a run with the default
//              filter costs over --seccomp unconfined (the resolver and planRun of the bundle); then, in
//              alternating pairs, the launcher argv alone without and with the filter, through
//              src/launch/helper-process.ts as contain starts it, and `contain run --seccomp unconfined --
//              /bin/true` vs `contain run -- /bin/true` through bin/run.js
//
// Run by bench/run.js: npm run bench -- --suite supervisor [--runs N] [--quick]. Scratch lives in the
// run's work dir (supervisor/: state dir, projects, stamps, bundle); every supervisor, app, cgroup and
// seccomp cache file this suite started or added is removed by its cleanup steps, also on Ctrl-C.
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync} from 'node:fs'
import {loadavg} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {appCgroups} from '../lib/contain.js'
import {descendants, pidAlive, processes, stopPid} from '../lib/proc.js'
import {round, summarize} from '../lib/stats.js'
import {roundsFor} from '../lib/suite.js'

export const name = 'supervisor'
export const title = 'contain up: restart latency, resident cost, seccomp'

const SECCOMP_CACHE = '/var/cache/contain/seccomp'
const MiB = 2 ** 20

const TARGETS = {
  restartMs: 10,
  extraAppMiB: 2,
  compileColdMs: 20,
  compileCachedMs: 1,
  filterAddedMs: 1,
}

// Set by run(): this suite's scratch inside the run's work dir, and the prefix every app, cgroup and
// project of this run carries, so cleanup and checks find exactly ours.
let root
let bin
let work
let stateRoot
let bundleFile
let PREFIX
let log
let stopping = false
const liveChildren = new Set()

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const since = start => Number(process.hrtime.bigint() - start) / 1e6

// ---------------------------------------------------------------------------------------------
// Processes

/** Runs a command to its end; resolves {code, signal, out, ms}. Never rejects. */
function runCommand(argv, {env = process.env, cwd = root, stdio = 'pipe', timeoutMs = 120_000, input} = {}) {
  return new Promise(resolve => {
    const start = process.hrtime.bigint()
    let child
    try {
      child = spawn(argv[0], argv.slice(1), {env, cwd, stdio: stdio === 'pipe' ? [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] : stdio})
    } catch (error) {
      resolve({code: null, signal: null, out: error.message, ms: NaN})
      return
    }
    liveChildren.add(child)
    let out = ''
    child.stdout?.on('data', chunk => (out += chunk))
    child.stderr?.on('data', chunk => (out += chunk))
    if (input !== undefined) child.stdin.end(input)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', error => (out += error.message))
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      liveChildren.delete(child)
      resolve({code, signal, out: out.trim(), ms: since(start)})
    })
  })
}

function contain(args, options = {}) {
  return runCommand([process.execPath, bin, ...args], {env: {...process.env, CONTAIN_STATE_DIR: stateRoot}, ...options})
}

/**
 * One timed launch, stdio ignored, as bench/lib/measure.js times them: spawn to exit.
 */
function timeLaunch(argv, {env} = {}) {
  return new Promise(resolve => {
    const start = process.hrtime.bigint()
    const child = spawn(argv[0], argv.slice(1), {stdio: 'ignore', env})
    liveChildren.add(child)
    child.once('error', error => {
      liveChildren.delete(child)
      resolve({ms: NaN, code: null, error: error.message})
    })
    child.once('close', (code, signal) => {
      liveChildren.delete(child)
      resolve({ms: since(start), code, signal})
    })
  })
}

/**
 * One timed launch of the launcher argv, started as contain starts it (src/launch/helper-process.ts:
 * the filter, the environment and the device program on their fds, its report on fd 3), in a cgroup
 * made beforehand: spawn to exit.
 */
function timeLauncher(bundle, plan) {
  return new Promise(resolve => {
    const start = process.hrtime.bigint()
    let helper
    try {
      helper = bundle.startHelper(plan.restartArgv ?? plan.argv, {
        stdio: ['ignore', 'ignore', 'ignore'],
        seccompFilter: plan.seccompFilter,
        environment: bundle.encodeEnvironment(plan.env),
        deviceProgram: plan.deviceProgram,
      })
    } catch (error) {
      resolve({ms: NaN, code: null, error: error.message})
      return
    }
    const child = helper.child
    liveChildren.add(child)
    child.once('error', error => {
      liveChildren.delete(child)
      resolve({ms: NaN, code: null, error: error.message})
    })
    child.once('close', (code, signal) => {
      liveChildren.delete(child)
      const report = bundle.parseInitReport(helper.status())
      resolve({ms: since(start), code, signal, error: report.error ? `${report.error.stage}: ${report.error.message}` : undefined})
    })
  })
}

// ---------------------------------------------------------------------------------------------
// contain's own modules, bundled from src/ as bench/lib/log-writer.js does

async function buildBundle() {
  const esbuild = await import('esbuild')
  await esbuild.build({
    stdin: {
      contents: [
        "export {compileProfile, clearCompileCache} from './src/seccomp/bpf.ts'",
        // Flags to a plan as contain run makes it: the one resolver, then the launch plan.
        "import {hostFacts, planRun as planOptions} from './src/launch/run.ts'",
        "import {resolveRunOptions} from './src/config/resolve.ts'",
        'export async function planRun(flags, command) { const host = hostFacts(); return planOptions(await resolveRunOptions(flags, command, host), host) }',
        "export {resolveSecurity} from './src/launch/security.ts'",
        "export {defaultSeccompProfile} from './src/paths.ts'",
        "export {packageRoot} from './src/paths.ts'",
        "export {AppCgroup} from './src/cgroup/index.ts'",
        // The one seam through which contain starts contain-init, and what it writes on its fds.
        "export {startHelper} from './src/launch/helper-process.ts'",
        "export {encodeEnvironment, HELPER_ENV} from './src/launch/plan.ts'",
        "export {parseInitReport} from './src/launch/status.ts'",
        "export {projectDir} from './src/supervisor/state.ts'",
        "export {processStartTime} from './src/process.ts'",
      ].join('\n'),
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: bundleFile,
    packages: 'external',
    logLevel: 'warning',
  })
  return import(pathToFileURL(bundleFile).href)
}

// ---------------------------------------------------------------------------------------------
// Projects under `contain up -d`

/** Writes DIR/contain.yml; returns the project's paths. */
function writeProject(name, yml) {
  const dir = join(work, name)
  mkdirSync(dir, {recursive: true})
  writeFileSync(join(dir, 'contain.yml'), yml)
  return {name, dir, file: join(dir, 'contain.yml')}
}

/** The supervisor of a project, from its state.json; undefined when none runs. */
function supervisorOf(bundle, project) {
  try {
    const state = JSON.parse(readFileSync(join(bundle.projectDir(project.file, {CONTAIN_STATE_DIR: stateRoot}), 'state.json'), 'utf8'))
    const pid = state.supervisor.pid
    // A zombie (exited, waiting for PID 1 to reap it) is not running.
    return pidAlive(pid) && bundle.processStartTime(pid) === state.supervisor.startTime ? pid : undefined
  } catch {
    return undefined
  }
}

const projectsUp = new Map()

async function up(bundle, project) {
  if (stopping) throw new Error('interrupted')
  projectsUp.set(project.dir, project)
  const result = await contain(['up', '-d'], {cwd: project.dir, timeoutMs: 60_000})
  if (result.code !== 0) throw new Error(`contain up -d in ${project.dir} failed (exit ${result.code}): ${result.out}`)
  const pid = supervisorOf(bundle, project)
  if (!pid) throw new Error(`contain up -d in ${project.dir}: no supervisor found in its state`)
  return pid
}

/** contain down, then the supervisor's own end (a zombie waiting for PID 1 counts as ended). */
async function down(bundle, project) {
  const pid = supervisorOf(bundle, project)
  const result = await contain(['down'], {cwd: project.dir, timeoutMs: 90_000})
  if (result.code !== 0) log.warn(`contain down in ${project.dir}: exit ${result.code}: ${result.out}`)
  if (pid && !(await waitGone(pid, 30_000))) log.warn(`supervisor ${pid} of ${project.dir} still running after contain down`)
  projectsUp.delete(project.dir)
  return result
}

async function waitGone(pid, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (pidAlive(pid) && Date.now() < deadline) await sleep(20)
  return !pidAlive(pid)
}

// ---------------------------------------------------------------------------------------------
// a. Restart latency

const appScript = file => `date +%s%N >> ${file}; date +%s%N >> ${file}`

/** The exit -> next start gaps (ms) in a stamps file: lines are start, end, start, end, ... */
function gapsIn(file) {
  let stamps
  try {
    stamps = readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(line => BigInt(line))
  } catch {
    return []
  }
  const gaps = []
  for (let i = 1; i + 1 < stamps.length; i += 2) gaps.push(Number(stamps[i + 1] - stamps[i]) / 1e6)
  return gaps
}

function stampLines(file) {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length
  } catch {
    return 0
  }
}

/** The first WARMUP gaps of every case are left out (the supervisor's JIT, the page cache). */
const WARMUP_GAPS = 3

async function restartFloor(runId, restarts) {
  const file = join(work, 'restart', `floor-${runId}.stamps`)
  const runs = restarts + WARMUP_GAPS + 1
  const loop = `i=0; while [ $i -lt ${runs} ]; do sh -c '${appScript(file)}'; i=$((i+1)); done`
  const result = await runCommand(['sh', '-c', loop], {timeoutMs: 120_000})
  if (result.code !== 0) throw new Error(`floor loop failed: ${result.out}`)
  return gapsIn(file).slice(WARMUP_GAPS, WARMUP_GAPS + restarts)
}

/** The launcher argv contain builds for the app, run back to back from a shell, in a cgroup of its own. */
async function restartLauncher(bundle, runId, restarts) {
  const file = join(work, 'restart', `launcher-${runId}.stamps`)
  const {plan} = await bundle.planRun({name: `${PREFIX}-launcher`}, ['sh', '-c', appScript(file)])
  // What contain-init reads whole at its start, each from a file the shell opens on its fd.
  const inputs = [
    [4, 'filter.bpf', plan.seccompFilter],
    [5, 'environment', bundle.encodeEnvironment(plan.env)],
    [6, 'devices.bpf', plan.deviceProgram],
  ].filter(([, , bytes]) => bytes)
  const redirects = inputs.map(([fd, file, bytes]) => {
    writeFileSync(join(work, 'restart', file), bytes)
    return `${fd}<'${join(work, 'restart', file)}'`
  })
  // The cgroup is made here: the argv of a run into a made cgroup, without the reaper's handshake.
  const quoted = (plan.restartArgv ?? plan.argv).map(arg => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ')
  const runs = restarts + WARMUP_GAPS + 1
  const loop = `i=0; while [ $i -lt ${runs} ]; do ${quoted} 3>/dev/null ${redirects.join(' ')}; i=$((i+1)); done`
  const cgroup = bundle.AppCgroup.create(plan.cgroup)
  cgroupsHeld.add(cgroup)
  try {
    const result = await runCommand(['sh', '-c', loop], {env: bundle.HELPER_ENV, timeoutMs: 120_000})
    if (result.code !== 0) throw new Error(`launcher loop failed (exit ${result.code}): ${result.out}`)
  } finally {
    await cgroup.remove()
    cgroupsHeld.delete(cgroup)
  }
  return gapsIn(file).slice(WARMUP_GAPS, WARMUP_GAPS + restarts)
}

async function restartContain(bundle, runId, restarts) {
  // In the project's directory: the one host directory the app's view shows (writable) by default.
  const file = join(work, `restart-${runId}`, 'contain.stamps')
  const project = writeProject(
    `restart-${runId}`,
    [
      'apps:',
      `  ${PREFIX}-loop:`,
      `    command: ["sh", "-c", ${JSON.stringify(appScript(file))}]`,
      '    restart: always',
      // The smallest backoff: restart at once, every time (factor 1, no jitter, never reset).
      '    backoff: {initial: 0ms, max: 0ms, factor: 1, jitter: 0}',
      '',
    ].join('\n'),
  )
  const needed = 2 * (restarts + WARMUP_GAPS + 1)
  await up(bundle, project)
  try {
    const deadline = Date.now() + 120_000
    while (stampLines(file) < needed && Date.now() < deadline && !stopping) await sleep(20)
    if (stampLines(file) < needed) {
      const ps = await contain(['ps'], {cwd: project.dir})
      throw new Error(`only ${stampLines(file) >> 1} runs of ${needed >> 1} within 120 s; contain ps: ${ps.out}`)
    }
  } finally {
    await down(bundle, project)
  }
  return gapsIn(file).slice(WARMUP_GAPS, WARMUP_GAPS + restarts)
}

// ---------------------------------------------------------------------------------------------
// b. Resident cost

/** Rss and Pss of a process, in bytes, from /proc/PID/smaps_rollup. */
function memoryOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
    const field = name => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024
    return {rss: field('Rss'), pss: field('Pss')}
  } catch {
    return {rss: NaN, pss: NaN}
  }
}

function medianOf(values) {
  return summarize(values.filter(Number.isFinite)).median
}

async function residentRound(bundle, projects, roundIndex) {
  const order = roundIndex % 2 === 0 ? projects : [...projects].reverse()
  const pids = {}
  try {
    for (const project of order) pids[project.apps] = await up(bundle, project)
    // Every app reported running, as contain ps sees it (this is also the status path a user takes).
    for (const project of order) {
      const ps = await contain(['ps', '--json'], {cwd: project.dir})
      const statuses = JSON.parse(ps.out || '[]')
      if (statuses.length !== project.apps || !statuses.every(s => s.state === 'running')) throw new Error(`${project.dir}: not all apps running: ${ps.out}`)
    }
    await sleep(1500)
    const samples = Object.fromEntries(order.map(p => [p.apps, {rss: [], pss: [], helperRss: [], helperPss: [], helpers: 0}]))
    for (let i = 0; i < 5; i++) {
      for (const project of order) {
        const pid = pids[project.apps]
        const own = memoryOf(pid)
        const helpers = descendants(pid).filter(p => p.comm !== 'sleep')
        const helperMemory = helpers.map(p => memoryOf(p.pid))
        const s = samples[project.apps]
        s.rss.push(own.rss)
        s.pss.push(own.pss)
        s.helperRss.push(helperMemory.reduce((a, m) => a + m.rss, 0))
        s.helperPss.push(helperMemory.reduce((a, m) => a + m.pss, 0))
        s.helpers = helpers.length
      }
      await sleep(200)
    }
    return Object.fromEntries(
      Object.entries(samples).map(([apps, s]) => [
        apps,
        {rss: medianOf(s.rss), pss: medianOf(s.pss), helperRss: medianOf(s.helperRss), helperPss: medianOf(s.helperPss), helpers: s.helpers},
      ]),
    )
  } finally {
    await Promise.all(order.filter(p => projectsUp.has(p.dir)).map(p => down(bundle, p)))
  }
}

// ---------------------------------------------------------------------------------------------
// c. Seccomp

async function compileRound(bundle, compileOptions, diskCacheDir) {
  const time = async (options, expected) => {
    const start = process.hrtime.bigint()
    const compiled = await bundle.compileProfile(options)
    const ms = since(start)
    if (compiled.cache !== expected) throw new Error(`compileProfile: expected a ${expected} result, got ${compiled.cache}`)
    return ms
  }
  const out = {cold: [], memory: [], disk: []}
  for (let i = 0; i < 3; i++) {
    bundle.clearCompileCache()
    out.cold.push(await time(compileOptions, 'miss'))
    out.memory.push(await time(compileOptions, 'memory'))
    bundle.clearCompileCache()
    out.disk.push(await time({...compileOptions, cacheDir: diskCacheDir}, 'disk'))
  }
  return out
}

/** The seccomp compiler's chunk of dist/, as shipped (loaded only on a cache miss). */
function distEntries() {
  const dist = join(root, 'dist')
  const bpfChunk = (listDir(dist) ?? []).find(name => /^bpf-[\w-]+\.js$/.test(name))
  return {bpfChunk: bpfChunk && join(dist, bpfChunk)}
}

/** Runs `code` (an ES module) in a fresh node process; it reports one JSON value on fd 3. */
function freshNode(code) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: root,
      env: {...process.env, CONTAIN_STATE_DIR: stateRoot},
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    })
    liveChildren.add(child)
    let report = ''
    let errors = ''
    child.stdio[3].on('data', chunk => (report += chunk))
    child.stderr.on('data', chunk => (errors += chunk))
    child.once('error', reject)
    child.once('close', code => {
      liveChildren.delete(child)
      if (code !== 0 || !report) reject(new Error(`fresh node process (exit ${code}): ${errors.trim().slice(-800)}`))
      else resolve(JSON.parse(report))
    })
  })
}

/**
 * A cache miss in `contain run`, in a fresh node process with dist/ as shipped: load the compiler
 * chunk and compile with the cache cleared (cold JIT).
 */
async function compileFresh(compileOptions) {
  const {bpfChunk} = distEntries()
  if (!bpfChunk) throw new Error('no dist/bpf-*.js: run npm run build')
  return freshNode(`
    import {writeSync} from 'node:fs'
    const t0 = performance.now()
    const m = await import(${JSON.stringify(pathToFileURL(bpfChunk).href)})
    const t1 = performance.now()
    m.clearCompileCache()
    const compiled = await m.compileProfile(${JSON.stringify(compileOptions)})
    const t2 = performance.now()
    writeSync(3, JSON.stringify({importMs: t1 - t0, compileMs: t2 - t1, cache: compiled.cache, instructions: compiled.filter.length / 8}))
  `).then(r => {
    if (r.cache !== 'miss') throw new Error(`fresh compile: expected a miss, got ${r.cache}`)
    return r
  })
}

/**
 * What the filter costs `contain run` in Node, in a fresh process: the bundle's resolver and planRun
 * (what contain run does between parsing its flags and spawning) with --seccomp unconfined first
 * (loads and warms the common path), then the default profile (the process's first seccomp use:
 * cold, with the cached filter in /var/cache/contain/seccomp), unconfined again, and the default
 * again (warm).
 */
async function nodeSideFresh() {
  const name = `${PREFIX}-dry`
  return freshNode(`
    import {writeSync} from 'node:fs'
    const {planRun} = await import(${JSON.stringify(pathToFileURL(bundleFile).href)})
    const time = async (seccomp) => {
      const t = performance.now()
      await planRun({name: ${JSON.stringify(name)}, ...(seccomp ? {seccomp} : {})}, ['/bin/true'])
      return performance.now() - t
    }
    const warmup = await time('unconfined')
    const firstDefault = await time()
    const unconfined = await time('unconfined')
    const warmDefault = await time()
    writeSync(3, JSON.stringify({warmup, firstDefault, unconfined, warmDefault}))
  `)
}

/** Alternating pairs: contain run unconfined / default, and the launcher argv without / with the filter. */
async function launchRound(bundle, launches, launcherPlans, roundIndex) {
  const out = {cli: [], launcher: [], failures: []}
  const env = {...process.env, CONTAIN_STATE_DIR: stateRoot}
  const cli = seccomp => [
    process.execPath,
    bin,
    'run',
    '--name',
    `${PREFIX}-run-${seccomp ? 'u' : 'd'}`,
    ...(seccomp ? ['--seccomp', seccomp] : []),
    '--',
    '/bin/true',
  ]
  const launcher = ({plan}) => timeLauncher(bundle, plan)
  const kinds = {
    cli: [() => timeLaunch(cli('unconfined'), {env}), () => timeLaunch(cli(undefined), {env})],
    launcher: [() => launcher(launcherPlans.unconfined), () => launcher(launcherPlans.filter)],
  }
  for (let i = 0; i < launches && !stopping; i++) {
    // Each pair is [without, with]; which one runs first flips every launch, so neither always goes first.
    const flip = (i + roundIndex) % 2 === 1
    for (const [kind, [without, withFilter]] of Object.entries(kinds)) {
      const pair = []
      for (const [slot, run] of flip
        ? [
            [1, withFilter],
            [0, without],
          ]
        : [
            [0, without],
            [1, withFilter],
          ]) {
        const r = await run()
        if (r.code === 0 && !r.error) pair[slot] = r.ms
        else out.failures.push({kind, withFilter: slot === 1, code: r.code, signal: r.signal, error: r.error})
      }
      if (pair[0] !== undefined && pair[1] !== undefined) out[kind].push(pair)
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Host state: what the bench may leave, before and after

/** App cgroups named after this run (contain/<project>/sb<pid>-*), in every hierarchy. */
const ourCgroups = layout => appCgroups(layout, PREFIX)

function listDir(dir) {
  try {
    return readdirSync(dir)
  } catch {
    return undefined
  }
}

/** Our processes: anything naming the work dir (supervisors, app shells), or inside one of our cgroups. */
function ourProcesses(layout) {
  const inCgroups = new Set(
    ourCgroups(layout).flatMap(dir => {
      try {
        return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)
      } catch {
        return []
      }
    }),
  )
  return processes().filter(p => p.pid !== process.pid && (p.cmdline.includes(work) || inCgroups.has(p.pid)))
}

const cgroupsHeld = new Set()

/**
 * Other engineers rebuild dist/ and native/ on this machine; a case that fails (for instance when
 * contain-init was being rewritten as the supervisor spawned it) is run once more, and the failure
 * is kept in the result.
 */
const retried = []
async function once(what, round, run) {
  try {
    return await run()
  } catch (error) {
    if (stopping) throw error
    log.warn(`round ${round + 1}: ${what} failed, running it once more: ${error.message}`)
    retried.push({round: round + 1, case: what, error: String(error.message).slice(0, 2000)})
    return run()
  }
}

function stat(values, digits = 2) {
  const s = summarize(values.filter(Number.isFinite))
  return {n: s.n, median: round(s.median, digits), min: round(s.min, digits), max: round(s.max, digits), p90: round(s.p90, digits)}
}

const status = ok => (ok ? 'met' : 'missed')

function summarise(config, samples) {
  const allGaps = key => samples.restart.flatMap(r => r[key])
  const perRound = key => samples.restart.map(r => summarize(r[key]).median)
  const restart = {
    floor: stat(allGaps('floor')),
    launcher: stat(allGaps('launcher')),
    contain: stat(allGaps('contain')),
  }
  // contain's share: per round, median contain gap minus median floor gap; then the median of those.
  const share = stat(samples.restart.map((r, i) => perRound('contain')[i] - perRound('floor')[i]))
  const launcherShare = stat(samples.restart.map((r, i) => perRound('launcher')[i] - perRound('floor')[i]))
  const nodeShare = stat(samples.restart.map((r, i) => perRound('contain')[i] - perRound('launcher')[i]))

  const res = samples.resident
  const mib = bytes => bytes / MiB
  const resident = {
    rss1: stat(res.map(r => mib(r[1].rss))),
    rss10: stat(res.map(r => mib(r[10].rss))),
    pss1: stat(res.map(r => mib(r[1].pss))),
    pss10: stat(res.map(r => mib(r[10].pss))),
    rssPerExtraApp: stat(
      res.map(r => mib(r[10].rss - r[1].rss) / 9),
      3,
    ),
    pssPerExtraApp: stat(
      res.map(r => mib(r[10].pss - r[1].pss) / 9),
      3,
    ),
    helpersPerApp: res[0] ? res[0][1].helpers : undefined,
    helperRssPerApp: stat(
      res.map(r => mib(r[10].helperRss) / 10),
      3,
    ),
    helperPssPerApp: stat(
      res.map(r => mib(r[10].helperPss) / 10),
      3,
    ),
  }

  const sc = samples.seccomp
  const side = (kind, slot) => sc.launch.flatMap(r => r[kind].map(pair => pair[slot]))
  const added = kind => sc.launch.flatMap(r => r[kind].map(([without, withFilter]) => withFilter - without))
  const seccomp = {
    compileCold: stat(
      sc.compile.flatMap(r => r.cold),
      3,
    ),
    compileFresh: stat(
      sc.fresh.map(r => r.compileMs),
      3,
    ),
    compilerImport: stat(
      sc.fresh.map(r => r.importMs),
      3,
    ),
    nodeSide: stat(
      sc.nodeSide.map(r => r.firstDefault - r.unconfined),
      3,
    ),
    nodeSideWarm: stat(
      sc.nodeSide.map(r => r.warmDefault - r.unconfined),
      3,
    ),
    dryUnconfined: stat(
      sc.nodeSide.map(r => r.unconfined),
      3,
    ),
    dryFirstDefault: stat(
      sc.nodeSide.map(r => r.firstDefault),
      3,
    ),
    compileMemory: stat(
      sc.compile.flatMap(r => r.memory),
      4,
    ),
    compileDisk: stat(
      sc.compile.flatMap(r => r.disk),
      4,
    ),
    instructions: sc.fresh[0]?.instructions,
    cliUnconfined: stat(side('cli', 0)),
    cliDefault: stat(side('cli', 1)),
    cliAdded: stat(added('cli'), 3),
    launcherUnconfined: stat(side('launcher', 0), 3),
    launcherFilter: stat(side('launcher', 1), 3),
    launcherAdded: stat(added('launcher'), 3),
    failures: sc.launch.flatMap(r => r.failures),
  }
  // What the filter adds to contain run, from its parts: Node (load the chunk, disk-cache hit) + launcher (pipe, install).
  seccomp.composite = round(seccomp.nodeSide.median + seccomp.launcherAdded.median, 3)
  const cliSpread = summarize(added('cli'))
  seccomp.cliAddedStandardError = round(cliSpread.stdev / Math.sqrt(cliSpread.n), 2)

  const targets = [
    {
      id: 'restart',
      text: `restart latency ≤ ${TARGETS.restartMs} ms + backoff (backoff 0): contain's share (contain gap − floor gap)`,
      value: share.median,
      unit: 'ms',
      status: status(share.median <= TARGETS.restartMs),
    },
    {
      id: 'restart-raw',
      text: `raw exit → next-start gap ≤ ${TARGETS.restartMs} ms (includes the app's own exec of sh and date, and its exit)`,
      value: restart.contain.median,
      unit: 'ms',
      status: status(restart.contain.median <= TARGETS.restartMs),
    },
    {
      id: 'resident-rss',
      text: `each extra app adds ≤ ${TARGETS.extraAppMiB} MB to the supervisor (RSS)`,
      value: resident.rssPerExtraApp.median,
      unit: 'MiB',
      status: status(resident.rssPerExtraApp.median <= TARGETS.extraAppMiB),
    },
    {
      id: 'resident-pss',
      text: `each extra app adds ≤ ${TARGETS.extraAppMiB} MB to the supervisor (PSS)`,
      value: resident.pssPerExtraApp.median,
      unit: 'MiB',
      status: status(resident.pssPerExtraApp.median <= TARGETS.extraAppMiB),
    },
    {
      id: 'compile-cold',
      text: `compile the default profile ≤ ${TARGETS.compileColdMs} ms cold (warm process, cache cleared)`,
      value: seccomp.compileCold.median,
      unit: 'ms',
      status: status(seccomp.compileCold.median <= TARGETS.compileColdMs),
    },
    {
      id: 'compile-fresh',
      text: `compile the default profile ≤ ${TARGETS.compileColdMs} ms cold (first compile in a fresh process)`,
      value: seccomp.compileFresh.median,
      unit: 'ms',
      status: status(seccomp.compileFresh.median <= TARGETS.compileColdMs),
    },
    {
      id: 'compile-memory',
      text: `cached compile ~0 (≤ ${TARGETS.compileCachedMs} ms): in-memory hit`,
      value: seccomp.compileMemory.median,
      unit: 'ms',
      status: status(seccomp.compileMemory.median <= TARGETS.compileCachedMs),
    },
    {
      id: 'compile-disk',
      text: `cached compile ~0 (≤ ${TARGETS.compileCachedMs} ms): disk-cache hit (what a new contain run gets)`,
      value: seccomp.compileDisk.median,
      unit: 'ms',
      status: status(seccomp.compileDisk.median <= TARGETS.compileCachedMs),
    },
    {
      id: 'filter-added',
      text: `seccomp adds ≤ ${TARGETS.filterAddedMs} ms to a launch: Node side (first default − unconfined plan, fresh process) + launcher side (with − without filter)`,
      value: seccomp.composite,
      unit: 'ms',
      status: status(seccomp.composite <= TARGETS.filterAddedMs),
    },
    {
      id: 'filter-launcher',
      text: `filter install ≤ ${TARGETS.filterAddedMs} ms: the launcher argv with − without the filter (pipe + install, no Node)`,
      value: seccomp.launcherAdded.median,
      unit: 'ms',
      status: status(seccomp.launcherAdded.median <= TARGETS.filterAddedMs),
    },
  ]
  return {summary: {restart: {...restart, containShare: share, launcherShare, nodeShare}, resident, seccomp}, targets}
}

const f = (x, digits = 2) => (x === undefined || x === null || Number.isNaN(x) ? '–' : Number(x).toFixed(digits))
const cellStatus = t => (t.status === 'missed' ? '**missed**' : 'met')

function tableRows(result) {
  const {restart, resident, seccomp} = result.summary
  const t = Object.fromEntries(result.targets.map(x => [x.id, x]))
  const row = (what, s, unit, target = '', digits = 2) => [
    what,
    `${f(s.median, digits)} ${unit}`,
    f(s.min, digits),
    f(s.max, digits),
    f(s.p90, digits),
    String(s.n),
    target,
  ]
  return [
    ["**a. restart latency** (exit → next run's first stamp)", '', '', '', '', '', ''],
    row('floor: the app alone, back to back from sh', restart.floor, 'ms'),
    row('launcher argv back to back from sh (cgroup, namespaces, mounts, seccomp)', restart.launcher, 'ms'),
    row('contain up -d, restart: always, backoff 0', restart.contain, 'ms', `${cellStatus(t['restart-raw'])} (raw ≤ ${TARGETS.restartMs} ms)`),
    row("→ contain's share: contain − floor (per-round medians)", restart.containShare, 'ms', `${cellStatus(t.restart)} (≤ ${TARGETS.restartMs} ms + backoff)`),
    row('  of which launcher: launcher − floor', restart.launcherShare, 'ms'),
    row('  of which Node supervisor: contain − launcher', restart.nodeShare, 'ms'),
    ['**b. resident cost** of the supervisor (contain up -d, `sleep 3600` apps)', '', '', '', '', '', ''],
    row('supervisor RSS, 1 app', resident.rss1, 'MiB', '', 1),
    row('supervisor RSS, 10 apps', resident.rss10, 'MiB', '', 1),
    row('supervisor PSS, 1 app', resident.pss1, 'MiB', '', 1),
    row('supervisor PSS, 10 apps', resident.pss10, 'MiB', '', 1),
    row('→ RSS per extra app: (10 − 1) / 9', resident.rssPerExtraApp, 'MiB', `${cellStatus(t['resident-rss'])} (≤ ${TARGETS.extraAppMiB} MB)`, 3),
    row('→ PSS per extra app: (10 − 1) / 9', resident.pssPerExtraApp, 'MiB', `${cellStatus(t['resident-pss'])} (≤ ${TARGETS.extraAppMiB} MB)`, 3),
    row(`contain-init helpers per app (${resident.helpersPerApp ?? '?'} processes), RSS`, resident.helperRssPerApp, 'MiB', 'informational', 3),
    row('contain-init helpers per app, PSS', resident.helperPssPerApp, 'MiB', 'informational', 3),
    [`**c. seccomp** (default profile, ${seccomp.instructions ?? '?'} BPF instructions)`, '', '', '', '', '', ''],
    row('compile, cold: cache cleared, warm process', seccomp.compileCold, 'ms', `${cellStatus(t['compile-cold'])} (≤ ${TARGETS.compileColdMs} ms)`, 3),
    row(
      'compile, cold: first compile in a fresh node process (dist/, cache cleared)',
      seccomp.compileFresh,
      'ms',
      `${cellStatus(t['compile-fresh'])} (≤ ${TARGETS.compileColdMs} ms)`,
      3,
    ),
    row('compile, cached in memory', seccomp.compileMemory, 'ms', `${cellStatus(t['compile-memory'])} (≤ ${TARGETS.compileCachedMs} ms)`, 4),
    row('compile, cached on disk (fresh memory cache)', seccomp.compileDisk, 'ms', `${cellStatus(t['compile-disk'])} (≤ ${TARGETS.compileCachedMs} ms)`, 4),
    row('  (a cache miss also loads the compiler chunk first)', seccomp.compilerImport, 'ms', 'informational', 3),
    row('resolve and plan a run, --seccomp unconfined (fresh node, bundle, warmed)', seccomp.dryUnconfined, 'ms', '', 3),
    row('resolve and plan a run, default filter, first use in that process (cached filter)', seccomp.dryFirstDefault, 'ms', '', 3),
    row('→ Node side: first default − unconfined (per process)', seccomp.nodeSide, 'ms', '', 3),
    row('  the same once warm: second default − unconfined', seccomp.nodeSideWarm, 'ms', 'informational', 3),
    row('launcher argv, /bin/true, no filter', seccomp.launcherUnconfined, 'ms', '', 3),
    row('launcher argv, /bin/true, with the filter', seccomp.launcherFilter, 'ms', '', 3),
    row(
      '→ launcher side: with − without filter (paired)',
      seccomp.launcherAdded,
      'ms',
      `${cellStatus(t['filter-launcher'])} (≤ ${TARGETS.filterAddedMs} ms)`,
      3,
    ),
    [
      '→ seccomp added to a launch: Node side + launcher side (medians)',
      `${f(seccomp.composite, 3)} ms`,
      '',
      '',
      '',
      '',
      `${cellStatus(t['filter-added'])} (≤ ${TARGETS.filterAddedMs} ms)`,
    ],
    row('contain run --seccomp unconfined -- /bin/true', seccomp.cliUnconfined, 'ms'),
    row('contain run -- /bin/true (default filter)', seccomp.cliDefault, 'ms'),
    row(`  default − unconfined, paired (direct, but ± ${f(seccomp.cliAddedStandardError)} ms standard error)`, seccomp.cliAdded, 'ms', 'informational', 3),
  ]
}

/** How each figure is taken: the report's introduction. */
function intro(config) {
  return [
    `Times in ms, memory in MiB (2^20 bytes; the targets say MB). ${config.rounds} interleaved rounds; ${config.restarts} restarts per case per round (after ${WARMUP_GAPS} warm-up restarts); ${config.launches} launches per case per round. median/min/max/p90 are over all samples of all rounds, except the "→" rows, which are over per-round (or per-pair) differences. p90 is nearest-rank.`,
    `- **Restart latency.** The app is \`sh -c 'date +%s%N >> F; date +%s%N >> F'\`: a stamp as it starts and one just before it exits. A gap is the next run's first stamp minus the previous run's last stamp. *floor* runs the same command back to back from a shell loop (the app's own cost); *launcher* runs the exact argv contain builds for the app (contain-init enter → unshare → contain-init run, with the default seccomp filter, the app's environment and the device program on fds 4, 5 and 6, as contain-init reads them) back to back from a shell loop, in a cgroup created with contain's AppCgroup; *contain* is \`contain up -d\` with \`restart: always\` and \`backoff: {initial: 0ms, max: 0ms, factor: 1, jitter: 0}\`. The first ${WARMUP_GAPS} gaps of each case and round are dropped. The target is judged on contain's share (contain − floor), since the floor is the app's own work and any launcher pays it; the raw gap is shown with its own verdict.`,
    "- **Resident cost.** Two projects are up at the same time each round, one with 1 and one with 10 apps `sleep 3600` (no limits); after `contain ps --json` shows every app running and 1.5 s more, the supervisor's `Rss`/`Pss` from `/proc/PID/smaps_rollup` are sampled 5 times 200 ms apart (median). Per extra app = (10-app − 1-app) / 9 per round. The contain-init processes that stay per app (the monitor outside the pid namespace and PID 1 inside) are shown separately: they are what conmon is for podman, not part of the supervisor.",
    '- **Seccomp compile.** `compileProfile` from src/seccomp/bpf.ts, bundled by esbuild into the work dir, on templates/seccomp/default.json with the default capability set: *cold* after `clearCompileCache()` (3 per round), *memory* the call right after, *disk* after `clearCompileCache()` with a cache directory holding the filter. *First compile in a fresh process* uses the built `dist/` as shipped: a new `node` loads the chunk `contain run` loads, then the compiler chunk (timed apart), then compiles with the cache cleared (one process per round): what a launch pays on a cache miss.',
    `- **Seccomp at launch.** What the filter adds to \`contain run\`, from its two parts. Node side: a fresh \`node\` imports the bundle and times its resolver and planRun (what contain run does between its flags and the spawn) for \`--seccomp unconfined\` (warm-up), the default profile (the first seccomp use in that process, the filter cached in ${SECCOMP_CACHE}), unconfined again, default again; the Node side is first default − unconfined (one process per round). Launcher side: the launcher argv for \`/bin/true\` started through src/launch/helper-process.ts as contain starts it, with and without the filter (alternating pairs, the order within a pair flipping each time; the median of the paired differences). The target is judged on the sum of the two medians. The direct comparison, \`contain run --name … --seccomp unconfined -- /bin/true\` vs \`contain run --name … -- /bin/true\` in alternating pairs (spawn to exit, stdio ignored), is shown too, but a launch is two orders of magnitude longer than the effect and its spread is far wider than 1 ms.`,
  ]
}

export async function run(ctx) {
  root = ctx.repoRoot
  bin = join(root, 'bin/run.js')
  log = ctx.log
  work = join(ctx.workDir, 'supervisor')
  stateRoot = join(work, 'state')
  bundleFile = join(work, 'bundle.mjs')
  PREFIX = `sb${process.pid}`
  stopping = false
  if (!existsSync(join(root, 'dist/cli.js')) || !existsSync(join(root, 'native/build/contain-init')))
    throw new Error('contain is not built: run npm run build first')
  const config = {
    rounds: roundsFor(ctx, {quick: 1, full: 10}),
    restarts: ctx.opts.quick ? 15 : 40,
    launches: ctx.opts.quick ? 4 : 10,
    warmupGaps: WARMUP_GAPS,
    quick: ctx.opts.quick,
    prefix: PREFIX,
  }
  const layout = ctx.layout
  const cacheBefore = {dirs: ['/var/cache/contain', SECCOMP_CACHE].filter(d => existsSync(d)), files: new Set(listDir(SECCOMP_CACHE) ?? [])}
  let bundle

  // Undo steps run newest first: supervisors and apps -> cgroups -> seccomp cache files -> the suite's scratch.
  ctx.cleanup.add('supervisor suite: remove its scratch (state dir, projects, stamps, bundle)', async () => {
    rmSync(work, {recursive: true, force: true})
    return `removed ${work}`
  })
  ctx.cleanup.add(`supervisor suite: remove seccomp cache files it added to ${SECCOMP_CACHE}`, async () => {
    const added = (listDir(SECCOMP_CACHE) ?? []).filter(name => !cacheBefore.files.has(name))
    for (const name of added) rmSync(join(SECCOMP_CACHE, name), {force: true})
    for (const dir of [SECCOMP_CACHE, '/var/cache/contain']) if (!cacheBefore.dirs.includes(dir) && (listDir(dir) ?? ['x']).length === 0) rmdirSync(dir)
    return added.length ? `removed ${added.join(', ')}` : 'none added'
  })
  ctx.cleanup.add(`supervisor suite: remove app cgroups named ${PREFIX}*`, async () => {
    for (const cgroup of cgroupsHeld) await cgroup.remove().catch(() => undefined)
    cgroupsHeld.clear()
    const removed = []
    for (const dir of ourCgroups(layout)) {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)) await stopPid(pid, 2000)
      rmdirSync(dir)
      removed.push(dir)
    }
    return removed.length ? `removed ${removed.join(', ')}` : 'none left'
  })
  ctx.cleanup.add('supervisor suite: stop the supervisors and apps it started', async () => {
    stopping = true
    for (const child of liveChildren) if (child.pid) child.kill('SIGKILL')
    const notes = []
    for (const project of [...projectsUp.values()]) {
      if (bundle && supervisorOf(bundle, project)) {
        await down(bundle, project)
        notes.push(`contain down in ${project.dir}`)
      }
    }
    for (const p of ourProcesses(layout)) notes.push(`${p.pid} ${p.comm}: ${await stopPid(p.pid, 5000)}`)
    return notes.length ? notes.join('; ') : 'none running'
  })

  mkdirSync(join(work, 'restart'), {recursive: true})
  mkdirSync(stateRoot, {recursive: true, mode: 0o700})
  // planRun in this process hides the same state dir from the apps as the supervisor does.
  const stateBefore = process.env.CONTAIN_STATE_DIR
  process.env.CONTAIN_STATE_DIR = stateRoot
  try {
    log.info(`${config.rounds} rounds, ${config.restarts} restarts, ${config.launches} launches per case; work dir ${work}`)
    bundle = await buildBundle()
    const security = bundle.resolveSecurity({}, id => `--${id}`)
    const compileOptions = {file: bundle.defaultSeccompProfile(bundle.packageRoot()), capabilities: security.capabilities}
    const diskCacheDir = join(work, 'seccomp-cache')
    await bundle.compileProfile({...compileOptions, cacheDir: diskCacheDir})
    const launcherPlans = {}
    for (const [key, raw] of [
      ['unconfined', {seccomp: 'unconfined'}],
      ['filter', {}],
    ]) {
      const {plan} = await bundle.planRun({name: `${PREFIX}-true-${key}`, ...raw}, ['/bin/true'])
      const cgroup = bundle.AppCgroup.create(plan.cgroup)
      cgroupsHeld.add(cgroup)
      launcherPlans[key] = {plan, cgroup}
    }
    if (!launcherPlans.filter.plan.seccompFilter || launcherPlans.unconfined.plan.seccompFilter)
      throw new Error('the launcher plans do not differ by the seccomp filter alone')

    const resident = [
      {...writeProject('resident-1', `apps:\n  ${PREFIX}-solo:\n    command: sleep 3600\n`), apps: 1},
      {
        ...writeProject('resident-10', `apps:\n${Array.from({length: 10}, (_, i) => `  ${PREFIX}-idle${i + 1}:\n    command: sleep 3600\n`).join('')}`),
        apps: 10,
      },
    ]

    const samples = {restart: [], resident: [], seccomp: {compile: [], fresh: [], nodeSide: [], launch: []}}
    const loadPerRound = []
    // One warm-up round of the launches (page cache, the seccomp disk cache of contain run), not counted.
    const warm = await launchRound(bundle, 1, launcherPlans, 0)
    if (warm.failures.length) throw new Error(`a warm-up launch failed: ${JSON.stringify(warm.failures[0])}`)
    for (let r = 0; r < config.rounds; r++) {
      ctx.cleanup.assertNotStopping()
      const roundStart = Date.now()
      loadPerRound.push(Number(loadavg()[0].toFixed(2)))
      const restart = {}
      const blocks = [
        async () => {
          // The three restart cases in a rotating order.
          const cases = [
            ['floor', id => restartFloor(id, config.restarts)],
            ['launcher', id => restartLauncher(bundle, id, config.restarts)],
            ['contain', id => restartContain(bundle, id, config.restarts)],
          ]
          for (let i = 0; i < cases.length; i++) {
            const [key, run] = cases[(i + r) % cases.length]
            restart[key] = await once(`restart ${key}`, r, () => run(`${r}-${retried.length}`))
            if (restart[key].length < config.restarts) throw new Error(`${key}: ${restart[key].length} gaps, expected ${config.restarts}`)
          }
          samples.restart.push(restart)
        },
        async () => samples.resident.push(await once('resident', r, () => residentRound(bundle, resident, r))),
        async () => {
          samples.seccomp.compile.push(await compileRound(bundle, compileOptions, diskCacheDir))
          samples.seccomp.fresh.push(await compileFresh(compileOptions))
          samples.seccomp.nodeSide.push(await nodeSideFresh())
          samples.seccomp.launch.push(await launchRound(bundle, config.launches, launcherPlans, r))
        },
      ]
      for (let i = 0; i < blocks.length; i++) await blocks[(i + r) % blocks.length]()
      const med = xs => f(summarize(xs).median)
      log.info(
        `round ${r + 1}/${config.rounds} (${((Date.now() - roundStart) / 1000).toFixed(1)} s): restart gap floor ${med(restart.floor)} / launcher ${med(restart.launcher)} / contain ${med(restart.contain)} ms; supervisor RSS 1 app ${f(samples.resident.at(-1)[1].rss / MiB, 1)} MiB, 10 apps ${f(samples.resident.at(-1)[10].rss / MiB, 1)} MiB; run unconfined ${med(samples.seccomp.launch.at(-1).cli.map(p => p[0]))} / default ${med(samples.seccomp.launch.at(-1).cli.map(p => p[1]))} ms`,
      )
    }
    for (const {cgroup} of Object.values(launcherPlans)) {
      await cgroup.remove()
      cgroupsHeld.delete(cgroup)
    }
    const {summary, targets} = summarise(config, samples)
    const launchFailures = summary.seccomp.failures.map(failure => ({round: '-', case: `launch ${failure.kind}`, error: JSON.stringify(failure)}))
    return {
      suite: name,
      title,
      config,
      intro: intro(config),
      sections: [
        {
          title: 'Restart latency, resident cost, seccomp',
          columns: ['case', 'median', 'min', 'max', 'p90', 'n', 'target'],
          rows: tableRows({summary, targets}),
        },
      ],
      targets: targets.map(target => ({...target, value: round(target.value, 3)})),
      summary,
      failures: [...retried, ...launchFailures],
      loadAverage1mPerRound: loadPerRound,
      samples,
    }
  } finally {
    if (stateBefore === undefined) delete process.env.CONTAIN_STATE_DIR
    else process.env.CONTAIN_STATE_DIR = stateBefore
  }
}
