/**
 * `contain logs -n N` prints exactly the last N lines that existed when it started, however fast
 * the app writes and across the rotations that happen meanwhile (as `tail -n` and `docker logs
 * --tail`). The writer is the real supervisor of `contain up -d`, in its own process, rotating a
 * small log many times a second; the reader is hammered in process (hundreds of snapshots) and
 * through the real CLI (with -t and --since).
 */
import {execa} from 'execa'
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import t, {type Test} from 'tap'
import {readLog} from '../../src/supervisor/log-follow.js'
import {readLastLines} from '../../src/supervisor/logs.js'
import {assertNothingLeftBehind, containBin, requireRoot} from './helpers.js'

const LINES = 3

function contain(args: string[], cwd: string, env: Record<string, string>) {
  return execa(process.execPath, [containBin, ...args], {cwd, env, reject: false, all: true})
}

/** The sequence numbers of `lines` ("n 17"), or a failure naming the line that is not one. */
function sequence(lines: string[]): number[] {
  return lines.map(line => {
    const match = /(?:^|\s)n (\d+)$/.exec(line)
    if (!match) throw new Error(`not a line of the writer: ${JSON.stringify(line)}`)
    return Number(match[1])
  })
}

/** Exactly `count` lines, one after the other, with none left out. */
function isExactRun(numbers: number[], count: number): boolean {
  return numbers.length === count && numbers.every((n, i) => i === 0 || n === numbers[i - 1] + 1)
}

if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  t.test('logs -n N against an app writing as fast as it can, across rotations', async t => {
    // 64 KiB files, three kept: at this speed the log rotates many times a second.
    const dir = t.testdir({
      'contain.yml': `
apps:
  flood:
    command: sh -c 'i=0; while :; do i=$((i+1)); echo "n $i"; done'
    logging: {max_size: 64k, max_files: 3}
`,
      state: {},
    })
    const env = {CONTAIN_STATE_DIR: join(dir, 'state')}
    const up = await contain(['up', '-d'], dir, env)
    t.equal(up.exitCode, 0, `contain up -d: ${up.all}`)
    try {
      await hammer(t, dir, env)
    } finally {
      const down = await contain(['down'], dir, env)
      t.equal(down.exitCode, 0, `contain down: ${down.all}`)
    }
  })
}

/** Snapshots of the log of `flood` in process, then through the CLI, while it writes and rotates. */
async function hammer(t: Test, dir: string, env: Record<string, string>): Promise<void> {
  const logOf = () =>
    readdirSync(join(dir, 'state'), {recursive: true})
      .map(String)
      .find(name => name.endsWith('flood.log'))
  const deadline = Date.now() + 10_000
  while (!logOf() && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  const relative = logOf()
  if (!relative) throw new Error("the app's log file never appeared")
  const file = join(dir, 'state', relative)
  while (readLastLines(file, {lines: 1}).length === 0) await new Promise(resolve => setTimeout(resolve, 20))

  // In process, at least 400 snapshots, and on until the log has rotated ten times under them:
  // each is exactly LINES consecutive lines, none older than the last line written before it began.
  const bad: string[] = []
  const inodes = new Set<number>()
  const giveUp = Date.now() + 60_000
  let round = 0
  for (; round < 400 || (inodes.size < 10 && Date.now() < giveUp); round++) {
    const newest = statSync(file, {throwIfNoEntry: false}) // absent for a moment at each rotation
    if (newest) inodes.add(newest.ino)
    const before = sequence(readLastLines(file, {lines: 1}).map(line => line.text))[0]
    const got: Buffer[] = []
    await readLog(file, {lines: LINES, maxFiles: 3, since: round % 2 ? new Date(0) : undefined, onRecords: records => void got.push(records)})
    const numbers = sequence(Buffer.concat(got).toString().trimEnd().split('\n'))
    if (!isExactRun(numbers, LINES) || numbers[LINES - 1] < before)
      bad.push(`round ${round}: ${numbers.length} lines, ${numbers[0]}..${numbers.at(-1)} (last before: ${before})`)
  }
  t.same(bad.slice(0, 5), [], `readLog -n (${bad.length} bad): ${round} snapshots, each exactly the last lines at its start`)
  t.ok(inodes.size >= 10, `the log rotated under the reader: ${inodes.size} files were the newest during the snapshots`)

  // Through the CLI, with and without -t and --since, four at a time.
  const variants = [
    ['-n', String(LINES)],
    ['-n', String(LINES), '-t'],
    ['-n', String(LINES), '--since', '1h'],
    ['-n', String(LINES), '-t', '--since', '1h'],
  ]
  const cliBad: string[] = []
  for (let round = 0; round < 5; round++) {
    const results = await Promise.all(variants.map(flags => contain(['logs', 'flood', ...flags], dir, env)))
    results.forEach((result, i) => {
      const lines = result.stdout.trimEnd().split('\n')
      const ok =
        result.exitCode === 0 && isExactRun(sequence(lines), LINES) && (!variants[i].includes('-t') || lines.every(line => /^\d{4}-\d\d-\d\dT/.test(line)))
      if (!ok) cliBad.push(`${variants[i].join(' ')}: exit ${result.exitCode}: ${JSON.stringify(result.all)}`)
    })
  }
  t.same(cliBad, [], `contain logs -n ${LINES}: 20 runs (plain, -t, --since, both), each exactly ${LINES} consecutive lines`)
}
