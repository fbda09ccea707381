#!/usr/bin/env node
// The test command (`npm test`): build, type check, import cycle check, lint, format check, unit tests,
// integration and hardening tests on this host's kernel (one file at a time: they share the host's cgroups), the cgroup integration
// tests and the escape attempts again in a pure cgroup v2 guest, plain and nested (see the guest
// lists below), and test/systemd in a guest whose PID 1 is systemd. Prints each step's time,
// every skip with its reason, and one closing line "N passed, N failed, N skipped".
//
// A skip is never a pass. With CI=true (as .ci/run sets it) a run that could not do what CI
// expects fails, naming what was missing: root, the guest (user-mode-linux), systemd-analyze, the
// Rails example, IPv6 loopback, or a test file that skipped itself whole.
import {spawn} from 'node:child_process'
import {accessSync, constants, existsSync, readdirSync, readFileSync} from 'node:fs'
import {delimiter, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const vmTool = join(root, 'test/vm/run-in-cgroupv2-vm.sh')
// The guests boot one pure cgroup v2 kernel twice: contain at the guest's root cgroup, and nested in a
// systemd-like unit cgroup (system.slice/app.service). Files whose outcome depends on where contain
// sits in the cgroup tree (limits, delegation, the device program, the cgroup view, the soak's
// cleanup) run in both; the tests that depend only on the kernel (namespaces, the view, identity,
// seccomp) run once, split so that the two guests take about as long.
const cgroupPlacedTests = [
  'test/integration/limits.test.ts',
  'test/integration/controllers.test.ts',
  'test/integration/isolation.test.ts',
  'test/integration/exit-status.test.ts',
  'test/integration/supervisor.test.ts',
  'test/integration/delegation.test.ts',
  'test/hardening/soak.test.ts',
  'test/hardening/escape-devices.test.ts',
]
// Projects side by side (contain/<project>/<app>) and setup errors that fail once: the plain guest runs
// the cases where the cgroup version matters and leaves the rest of these files to the host
// (guestCase in test/integration/helpers.ts). A deploy's apply on v2 (a recreated app's real
// cgroup limit) is tested under real systemd, in the systemd guest (test/systemd: reload).
const projectTests = {
  files: ['test/integration/projects.test.ts', 'test/integration/setup-errors.test.ts'],
  cases: ['side-by-side', 'run-fails-once', 'tmp-clone'],
}
// The plain guest runs the same files about 1.5 to 2.5 times slower than the nested one (measured in
// CI), so it takes the smaller share.
const kernelOnlyTests = {
  pure: ['test/hardening/escape-seccomp.test.ts', 'test/hardening/escape-identity.test.ts', ...projectTests.files],
  nested: ['test/integration/security.test.ts', 'test/hardening/escape.test.ts', 'test/hardening/escape-view.test.ts'],
}
const systemdVmTool = join(root, 'test/vm/run-in-systemd-vm.sh')
const quick = process.argv.includes('--quick')
// --only unit,integration,hardening,guests,systemd: just those tiers (build, type check, cycle check, lint and format check always run).
const only = process.argv
  .find(arg => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
const TIERS = ['unit', 'integration', 'hardening', 'guests', 'systemd']
const unknownTier = only?.find(tier => !TIERS.includes(tier))
if (unknownTier !== undefined) {
  console.error(`npm test: unknown tier in --only: ${unknownTier} (tiers: ${TIERS.join(', ')})`)
  process.exit(2)
}
const leftOut = []
/** Notes a tier (or `count` of them: the two guests) that did not run; each counts as one skip. */
function notRun(what, why, count = 1) {
  leftOut.push(`${what}: ${why}`)
  totals.skipped += count
}
/** Whether to run `tier`; a tier left out by --only is listed as such in the summary. */
function wanted(tier, what) {
  if (!only || only.includes(tier)) return true
  notRun(what, '--only', tier === 'guests' ? 2 : 1)
  return false
}
const ci = ['true', '1'].includes(process.env.CI ?? '')
const totals = {passed: 0, failed: 0, skipped: 0}
const failedSteps = []
const times = []
/** Every skip tap reported, as "where: reason"; whole files apart (a tier that did not run). */
const skips = []
const skippedFiles = []
const startedAll = Date.now()

function onPath(program) {
  return (process.env.PATH ?? '').split(delimiter).some(dir => {
    try {
      accessSync(join(dir, program), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/** The test files of a tier, named one by one (tap given a directory runs its helpers as tests too). */
function testFiles(dir) {
  return readdirSync(join(root, dir), {recursive: true})
    .filter(name => name.endsWith('.test.ts'))
    .sort()
    .map(name => `${dir}/${name}`)
}

function hasIpv6Loopback() {
  try {
    return /^0{31}1 \S+ \S+ \S+ \S+\s+lo$/m.test(readFileSync('/proc/net/if_inet6', 'utf8'))
  } catch {
    return false
  }
}

/** What CI expects this host to have, each with what is left out without it and how to get it. */
function missingRequirements() {
  const missing = []
  const isRoot = process.getuid?.() === 0
  if (!isRoot) missing.push('root: the integration and hardening tests and both cgroup v2 guests need it (run as root)')
  if (!onPath('linux.uml')) missing.push('linux.uml: the cgroup v2 guests need it (apt-get install user-mode-linux, or ./setup.sh)')
  if (!onPath('systemd-analyze')) missing.push('systemd-analyze: the unit check of contain systemd needs it (apt-get install systemd, or ./setup.sh)')
  const rails = join(root, 'examples/rails-app')
  if (!onPath('ruby') || !onPath('bundle') || !existsSync(join(rails, 'Gemfile.lock')) || !existsSync(join(rails, 'tmp/pids')))
    missing.push('the Rails example: test/integration/rails.test.ts needs it set up (./setup.sh --no-run, or examples/rails-app/setup.sh)')
  if (!existsSync('/lib/systemd/systemd')) missing.push('systemd (/lib/systemd/systemd): the systemd guest boots it as PID 1 (apt-get install systemd)')
  if (!hasIpv6Loopback()) missing.push("IPv6 loopback (::1 on lo): the health check's IPv6 test needs it")
  return missing
}

/** Runs a command with its output passed through (or kept, for steps that run side by side). */
function runOnce(command, args, env, buffered) {
  return new Promise(resolve => {
    const child = spawn(command, args, {cwd: root, env: {...process.env, ...env}, stdio: ['ignore', 'pipe', buffered ? 'pipe' : 'inherit']})
    let output = ''
    child.stdout.on('data', chunk => {
      output += chunk
      if (!buffered) process.stdout.write(chunk)
    })
    child.stderr?.on('data', chunk => (output += chunk))
    child.on('close', code => resolve({code, output}))
  })
}

/**
 * Runs one step (printed whole when it ends if `buffered`) and adds up tap's summary line. A guest
 * that dies before any test output (User-Mode Linux now and then crashes while booting its init)
 * is booted once more: nothing ran in it, so a second boot hides no test result.
 */
async function step(name, command, args, env = {}, {buffered = false, rebootGuest = false} = {}) {
  if (!buffered) console.log(`\n=== ${name}`)
  const started = Date.now()
  let {code, output} = await runOnce(command, args, env, buffered)
  if (rebootGuest && code !== 0 && !output.includes('TAP version')) {
    output = `${output}\n(the guest died before any test ran; booting it once more)\n`
    const again = await runOnce(command, args, env, buffered)
    code = again.code
    output += again.output
  }
  if (buffered) process.stdout.write(`\n=== ${name}\n${output}`)
  // "ok 3 - name # SKIP reason"; unindented, it is a whole test file that skipped itself.
  for (const [, indent, what, reason] of output.matchAll(/^( *)ok \d+ - (.*?) # SKIP ?(.*)$/gm)) {
    skips.push(`${name}: ${what}${reason ? `: ${reason}` : ''}`)
    if (indent === '') skippedFiles.push(`${what} (${name})${reason ? `: ${reason}` : ''}`)
  }
  const summary = [...output.matchAll(/^# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?(?:, skip: (\d+))?/gm)].at(-1)
  if (summary) {
    totals.passed += Number(summary[2] ?? 0)
    totals.failed += Number(summary[3] ?? 0)
    totals.skipped += Number(summary[4] ?? 0)
  }
  if (code !== 0) failedSteps.push(`${name} (exit ${code})`)
  times.push(`${name}: ${Math.round((Date.now() - started) / 1000)} s`)
  return code
}

const missing = missingRequirements()
if (missing.length > 0)
  console.log(`Not on this host (${ci ? 'CI=true: the run will fail' : 'those tests skip'}):\n${missing.map(line => `  - ${line}`).join('\n')}`)

if ((await step('build', 'node', ['scripts/build.js'])) !== 0) process.exit(1)
await step('type check (tsc --noEmit)', 'node_modules/.bin/tsc', ['--noEmit'])
await step('import cycles (scripts/check-cycles.js)', 'node', ['scripts/check-cycles.js'])
// The linter (typescript-eslint's type-aware rules: 20 to 30 s on 2 cores, most of it building the
// type program) beside the formatter's check (prettier --check, about 10 s; npm run format fixes what
// it finds): on an idle machine side by side they take about as long as the linter alone.
await Promise.all([
  step('lint (eslint .)', 'node_modules/.bin/eslint', ['.'], {}, {buffered: true}),
  step('format (prettier --check .)', 'node_modules/.bin/prettier', ['--check', '--log-level=warn', '.'], {}, {buffered: true}),
])
// The guests: two boots of a pure cgroup v2 kernel (contain at the guest's root cgroup, and nested in
// a systemd-like unit cgroup), and one with real systemd 252 as PID 1 (test/systemd: the unit
// `contain systemd` writes, started, restarted, killed, bounded and stopped by systemd, and the
// apps' journal records). Each guest runs on one CPU. The systemd guest runs beside the unit tests,
// which measure nothing against the clock; the two v2 guests run side by side at the end, after
// the root tiers, whose tests time and limit real processes on this host's CPUs.
const canBootGuest = process.getuid?.() === 0 && onPath('linux.uml')
const systemdGuest = 'the systemd guest (test/systemd: the unit contain systemd writes, under systemd 252)'
let systemdStep
if (!wanted('systemd', systemdGuest)) {
  // Listed by wanted().
} else if (quick) {
  notRun(systemdGuest, '--quick')
} else if (!canBootGuest || !existsSync('/lib/systemd/systemd')) {
  notRun(systemdGuest, 'it needs root, linux.uml and systemd (apt-get install user-mode-linux systemd)')
  console.log(`\n=== systemd guest: not run (it needs root, linux.uml and systemd)`)
} else {
  systemdStep = step(
    'systemd tests (systemd guest: systemd 252 as PID 1, pure cgroup v2)',
    systemdVmTool,
    ['-t', '900', '--', 'node_modules/.bin/tap', '--reporter=tap', '--jobs=1', '--timeout=800', ...testFiles('test/systemd')],
    {RUNVM_UML: join(root, 'test/vm/linux-uml')},
    {buffered: true, rebootGuest: true},
  )
}
if (wanted('unit', 'the unit tests'))
  await step('unit tests', 'node_modules/.bin/tap', ['--reporter=tap', ...testFiles('test/unit')], {}, {buffered: systemdStep !== undefined})
await systemdStep
// One file at a time: root tests share the host's cgroup directories, which the leak checks snapshot.
if (wanted('integration', 'the integration tests'))
  await step('integration tests (this host)', 'node_modules/.bin/tap', ['--reporter=tap', '--jobs=1', ...testFiles('test/integration')])
if (wanted('hardening', 'the hardening tests'))
  await step('hardening tests (this host)', 'node_modules/.bin/tap', ['--reporter=tap', '--jobs=1', '--timeout=900', ...testFiles('test/hardening')])

const guests = 'the pure cgroup v2 guest and the nested one (system.slice/app.service)'
if (!wanted('guests', guests)) {
  // Listed by wanted().
} else if (quick) {
  notRun(guests, '--quick', 2)
} else if (!canBootGuest) {
  notRun(guests, 'they need root and linux.uml (apt-get install user-mode-linux)', 2)
  console.log(`\n=== cgroup v2 guests: not run (they need root and linux.uml)`)
} else {
  // The soak runs 15 cycles in the nested guest and 8 in the plain one (200 on the host): every exec
  // is about ten times slower there, and the plain guest slower still.
  const env = (cycles, cases) => ({
    RUNVM_UML: join(root, 'test/vm/linux-uml'),
    CONTAIN_SOAK_CYCLES: process.env.CONTAIN_SOAK_CYCLES ?? cycles,
    ...(cases && {CONTAIN_GUEST_CASES: cases.join(',')}),
  })
  const guestRun = (name, args, tests, cycles, cases) =>
    step(name, vmTool, ['-t', '1200', ...args, '--', 'test/vm/integration.sh', '--timeout=800', ...tests], env(cycles, cases), {
      buffered: true,
      rebootGuest: true,
    })
  await Promise.all([
    guestRun(
      'integration and hardening tests (pure cgroup v2 guest, nested in system.slice/app.service)',
      ['-g', 'system.slice/app.service'],
      [...cgroupPlacedTests, ...kernelOnlyTests.nested],
      '15',
    ),
    guestRun('integration and hardening tests (pure cgroup v2 guest)', [], [...cgroupPlacedTests, ...kernelOnlyTests.pure], '8', projectTests.cases),
  ])
}

console.log(`\n${times.join('\n')}\ntotal: ${Math.round((Date.now() - startedAll) / 1000)} s`)
if (skips.length > 0) console.log(`\nskipped (${skips.length}):\n${skips.map(line => `  - ${line}`).join('\n')}`)
if (leftOut.length > 0) console.log(`\nnot run (each tier counted as skipped below):\n${leftOut.map(line => `  - ${line}`).join('\n')}`)
if (failedSteps.length > 0) console.log(`\nfailed steps: ${failedSteps.join(', ')}`)
// CI must run every tier: what could not run fails it (--quick and --only are choices, listed above).
const ciFailures = ci ? [...missing, ...skippedFiles.map(file => `a whole test file skipped: ${file}`)] : []
if (ciFailures.length > 0) console.log(`\nCI=true, and CI expects every tier to run; missing here:\n${ciFailures.map(line => `  - ${line}`).join('\n')}`)
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`)
process.exit(failedSteps.length > 0 || totals.failed > 0 || ciFailures.length > 0 ? 1 : 0)
