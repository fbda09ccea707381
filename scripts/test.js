#!/usr/bin/env node
// The test command (`npm test`): build, unit tests, integration and hardening tests on this host's
// kernel, and the cgroup integration tests with parts 1 and 3 of the hardening suite (soak, escape
// attempts) again in a pure cgroup v2 guest, plain and nested. Prints each step's time and one
// closing line "N passed, N failed, N skipped".
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const vmTool = join(root, '../shared/tools/run-in-cgroupv2-vm.sh')
const vmTests = ['test/integration/limits.test.ts', 'test/integration/isolation.test.ts', 'test/integration/exit-status.test.ts', 'test/integration/supervisor.test.ts', 'test/integration/security.test.ts', 'test/integration/delegation.test.ts']
const quick = process.argv.includes('--quick')
const totals = {passed: 0, failed: 0, skipped: 0}
const failedSteps = []
const times = []
const startedAll = Date.now()

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

if ((await step('build', 'node', ['scripts/build.js'])) !== 0) process.exit(1)
await step('unit tests', 'node_modules/.bin/tap', ['--reporter=tap', 'test/unit'])
await step('integration tests (this host)', 'node_modules/.bin/tap', ['--reporter=tap', 'test/integration'])
await step('hardening tests (this host)', 'node_modules/.bin/tap', ['--reporter=tap', '--timeout=900', 'test/hardening'])

const canBootGuest = existsSync(vmTool) && process.getuid?.() === 0
if (!canBootGuest) {
  console.log('\n=== cgroup v2 guest: skipped (needs root and ../shared/tools/run-in-cgroupv2-vm.sh)')
} else if (!quick) {
  const env = {RUNVM_UML: join(root, 'test/vm/linux-uml')}
  // Each guest runs on one CPU, so the two run side by side. Parts 1 and 3 of the hardening suite
  // (soak with faults, escape attempts) run on both v2 paths too, with fewer soak cycles than on
  // the host: every exec is about ten times slower in the guest. CONTAIN_SOAK_CYCLES overrides.
  const hardening = ['--timeout=800', 'test/hardening/soak.test.ts', 'test/hardening/escape.test.ts', 'test/hardening/escape-view.test.ts']
  const cycles = process.env.CONTAIN_SOAK_CYCLES
  await Promise.all([
    step('integration and hardening tests (pure cgroup v2 guest)', vmTool, ['-t', '1200', '--', 'test/vm/integration.sh', ...vmTests, ...hardening], {...env, CONTAIN_SOAK_CYCLES: cycles ?? '30'}, {buffered: true, rebootGuest: true}),
    step('integration and hardening tests (cgroup v2 guest, nested in system.slice/app.service)', vmTool, ['-t', '1200', '-g', 'system.slice/app.service', '--', 'test/vm/integration.sh', ...vmTests, ...hardening], {...env, CONTAIN_SOAK_CYCLES: cycles ?? '30'}, {buffered: true, rebootGuest: true}),
  ])
}

console.log(`\n${times.join('\n')}\ntotal: ${Math.round((Date.now() - startedAll) / 1000)} s`)
if (failedSteps.length > 0) console.log(`\nfailed steps: ${failedSteps.join(', ')}`)
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`)
process.exit(failedSteps.length > 0 || totals.failed > 0 ? 1 : 0)
