import t from 'tap'
import {assertNothingLeftBehind, contain, requireRoot} from './helpers.js'

if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  t.test("the app's exit code becomes contain's", async t => {
    t.equal((await contain(['run', '--', 'sh', '-c', 'exit 7'])).exitCode, 7)
    t.equal((await contain(['run', '--', 'true'])).exitCode, 0)
  })

  t.test('death by signal N exits 128+N and is not called an OOM kill', async t => {
    const term = await contain(['run', '--', 'sh', '-c', 'kill -TERM $$'])
    t.equal(term.exitCode, 143)
    const kill = await contain(['run', '--memory', '64m', '--', 'sh', '-c', 'kill -KILL $$'])
    t.equal(kill.exitCode, 137)
    t.notMatch(kill.stderr, /OOM/)
  })

  t.test('a command that does not exist exits 127, one that cannot run 126', async t => {
    const missing = await contain(['run', '--', 'no-such-command-here'])
    t.equal(missing.exitCode, 127)
    t.match(missing.stderr, /no-such-command-here: command not found/)
    const dir = t.testdir({'data.txt': 'not a program\n'})
    const notExecutable = await contain(['run', '--', `${dir}/data.txt`])
    t.equal(notExecutable.exitCode, 126)
    t.match(notExecutable.stderr, /cannot execute/)
  })

  t.test('bad flag values exit 125 naming the flag, the value and the fix', async t => {
    const cases: Array<[string[], RegExp]> = [
      [['--cpus', 'abc'], /--cpus: not a number \(got "abc"\)/],
      [['--cpus', '0'], /--cpus: the range of CPUs is 0\.01 to/],
      [['--memory', '5x'], /--memory: not a size \(got "5x"\)/],
      [['--memory', '1k'], /--memory: the minimum memory limit is 6 MiB/],
      [['--namespaces', 'pid,bogus'], /--namespaces: unknown namespace "bogus"/],
      [['--pids-limit', 'many'], /--pids-limit: must be a whole number/],
      [['--bogus-flag'], /--bogus-flag/],
    ]
    for (const [flags, message] of cases) {
      const result = await contain(['run', ...flags, '--', 'true'])
      t.equal(result.exitCode, 125, flags.join(' '))
      t.match(result.stderr, message)
      t.match(result.stderr, /fix: /)
      t.notMatch(result.stderr, / {4}at /, 'no stack trace')
    }
    const noCommand = await contain(['run', '--memory', '64m'])
    t.equal(noCommand.exitCode, 125)
    t.match(noCommand.stderr, /no command given/)
  })

  t.test('--dry-run prints every cgroup write and the argv, and creates nothing', async t => {
    const result = await contain(['run', '--dry-run', '--name', 'plan', '--cpus', '0.5', '--memory', '64m', '--pids-limit', '10', '--', 'sh', '-c', 'echo hi'])
    t.equal(result.exitCode, 0, result.stderr)
    t.match(result.stdout, /write \S+contain\/run\/plan\/(cpu\.max = 50000 100000|cpu\.cfs_quota_us = 50000)/)
    t.match(result.stdout, /write \S+contain\/run\/plan\/(memory\.max|memory\.limit_in_bytes) = 67108864/)
    t.match(result.stdout, /write \S+contain\/run\/plan\/pids\.max = 10/)
    t.match(result.stdout, /exec \S+contain-init enter .* -- \S*unshare --pid --mount --uts --ipc --cgroup .* -- sh -c 'echo hi'/)
    const json = JSON.parse((await contain(['run', '--dry-run', '--json', '--memory', '64m', '--', 'true'])).stdout)
    t.ok(Array.isArray(json.argv) && json.cgroup.writes.length > 0)
  })
}
