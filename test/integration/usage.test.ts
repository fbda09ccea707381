// What `contain ps` reads back from the app's cgroup (AppCgroup.usage: v1.ts / v2.ts readers), from a
// real app on this host's kernel: memory it holds, its limit, CPU it burned and its processes.
import {execa} from 'execa'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {assertNothingLeftBehind, containBin, requireRoot} from './helpers.js'

const MiB = 2 ** 20

/** Burns CPU for 300 ms, then holds 24 MB of touched memory until stopped. */
const APP =
  'const end = Date.now() + 300; while (Date.now() < end); globalThis.held = Buffer.alloc(24 * 2 ** 20, 1); console.log("holding"); setInterval(() => {}, 1000)'

if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  t.test("ps --json: memory, limit, CPU time and pids from the app's cgroup", async t => {
    const dir = t.testdir({state: {}})
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    const yml = `apps:\n  splits-usage:\n    command: ${JSON.stringify([process.execPath, '-e', APP])}\n    mem_limit: 64m\n    pids_limit: 50\n`
    const contain = (args: string[]) => execa(process.execPath, [containBin, ...args], {cwd: dir, env, reject: false, all: true})
    writeFileSync(join(dir, 'contain.yml'), yml)
    const up = await contain(['up', '-d'])
    t.equal(up.exitCode, 0, up.all)
    try {
      let usage: Record<string, number | undefined> | undefined
      const deadline = Date.now() + 20_000
      while (Date.now() < deadline) {
        const [status] = JSON.parse((await contain(['ps', '--json'])).stdout) as {usage?: Record<string, number | undefined>; lastLines: string[]}[]
        usage = status?.usage
        if (status?.lastLines.includes('holding') && (usage?.memoryBytes ?? 0) > 24 * MiB) break
        await new Promise(resolve => setTimeout(resolve, 200))
      }
      t.ok(usage, 'ps reports usage')
      t.ok((usage?.memoryBytes ?? 0) > 24 * MiB, `memory in use (${usage?.memoryBytes} bytes) counts the 24 MB the app holds`)
      t.ok((usage?.memoryBytes ?? 0) < 64 * MiB, 'and stays under its limit')
      t.equal(usage?.memoryLimitBytes, 64 * MiB, 'the limit, as the kernel has it')
      t.ok((usage?.anonBytes ?? 0) >= 24 * MiB, `anonymous memory (${usage?.anonBytes}) holds the buffer`)
      // Node's start and the 300 ms loop: a busy host may give the loop less than all of that wall time.
      t.ok((usage?.cpuMicros ?? 0) >= 50_000, `CPU time (${usage?.cpuMicros} µs) counts what the app burned`)
      t.ok((usage?.pids ?? 0) >= 1, `processes (${usage?.pids}) in the cgroup`)
    } finally {
      const down = await contain(['down'])
      t.equal(down.exitCode, 0, down.all)
    }
  })
}
