import {join} from 'node:path'
import t from 'tap'
import {assertNothingLeftBehind, contain, requireRoot} from './helpers.js'

if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  // Several apps in one supervisor share one delegation on cgroup v2: contain moves itself into
  // its leaf once, and undoes it only after the last app's cgroup is gone.
  t.test('contain up supervises several apps from one (delegated) cgroup and removes everything', async t => {
    const dir = t.testdir({
      'contain.yml': [
        'apps:',
        '  one:',
        '    command: ["sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"]',
        '    mem_limit: 64m',
        '  two:',
        '    command: ["sh", "-c", "sleep 0.3; cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max"]',
        '    pids_limit: 30',
        '',
      ].join('\n'),
      state: {},
    })
    const result = await contain(['up', '--no-color', '-f', join(dir, 'contain.yml')], {env: {CONTAIN_STATE_DIR: join(dir, 'state')}})
    t.equal(result.exitCode, 0, result.stderr)
    t.match(result.stdout, /^one \| 67108864$/m)
    t.match(result.stdout, /^two \| 30$/m)
  })
}
