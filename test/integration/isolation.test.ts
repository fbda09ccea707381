import {existsSync} from 'node:fs'
import {hostname} from 'node:os'
import t from 'tap'
import {assertNothingLeftBehind, contain, hostNamespace, requireRoot} from './helpers.js'

if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  t.test('the app gets its hostname and the host keeps its own', async t => {
    const before = hostname()
    const result = await contain(['run', '--hostname', 'web', '--', 'hostname'])
    t.equal(result.exitCode, 0, result.stderr)
    t.equal(result.stdout.trim(), 'web')
    t.equal(hostname(), before)
  })

  t.test('the app is a low pid and ps sees only its own processes', async t => {
    const result = await contain(['run', '--', 'sh', '-c', 'echo $$; ps -e -o pid=,comm='])
    t.equal(result.exitCode, 0, result.stderr)
    const [pid, ...processes] = result.stdout.trim().split('\n')
    t.ok(Number(pid) <= 3, `app pid ${pid} is low`)
    t.same(processes.map(line => line.trim().split(/\s+/)[1]).sort(), ['contain-init', 'ps', 'sh'])
  })

  t.test('mount, uts, ipc, pid and cgroup namespaces differ from the host', async t => {
    const kinds = ['mnt', 'uts', 'ipc', 'pid', 'cgroup']
    const result = await contain(['run', '--', 'sh', '-c', kinds.map(kind => `readlink /proc/self/ns/${kind}`).join('; ')])
    t.equal(result.exitCode, 0, result.stderr)
    const inside = result.stdout.trim().split('\n')
    kinds.forEach((kind, index) => t.not(inside[index], hostNamespace(kind), `${kind} namespace is the app's own`))
  })

  t.test('turning a default namespace off shares it with the host', async t => {
    const result = await contain(['run', '--namespaces', '-ipc', '--', 'readlink', '/proc/self/ns/ipc'])
    t.equal(result.exitCode, 0, result.stderr)
    t.equal(result.stdout.trim(), hostNamespace('ipc'))
  })

  t.test('the app sees its own cgroup as / and reads its own memory limit', async t => {
    const script = 'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes'
    const result = await contain(['run', '--memory', '96m', '--', 'sh', '-c', script])
    t.equal(result.exitCode, 0, result.stderr)
    const lines = result.stdout.trim().split('\n')
    t.ok(
      lines.filter(line => /:(memory|)?:/.test(line)).every(line => line.endsWith(':/')),
      'cgroup paths are / inside',
    )
    t.equal(lines.at(-1), String(96 * 2 ** 20))
  })

  t.test('cgroupfs is read-only inside, so the app cannot raise its own limits', async t => {
    const result = await contain([
      'run',
      '--memory',
      '64m',
      '--',
      'sh',
      '-c',
      'echo max > /sys/fs/cgroup/memory.max 2>/dev/null || echo max > /sys/fs/cgroup/memory/memory.limit_in_bytes',
    ])
    t.not(result.exitCode, 0)
    t.match(result.stderr, /Read-only file system/)
  })

  t.test("Docker's masked paths: the host's firmware tables and keys are empty inside, in both views", async t => {
    // Each listed only where the host has it: a mask over a missing path would fail the launch.
    const present = ['/sys/firmware', '/sys/devices/virtual/powercap', '/proc/keys', '/proc/timer_list'].filter(path => existsSync(path))
    for (const view of ['contained', 'host']) {
      const show = (path: string) => `printf '%s %s\\n' ${path} "$(if [ -d ${path} ]; then ls -A ${path} | wc -l; else cat ${path} 2>/dev/null | wc -c; fi)"`
      const result = await contain(['run', '-u', '0', '--view', view, '--', 'sh', '-c', present.map(show).join('; ')])
      t.equal(result.exitCode, 0, result.stderr)
      // A masked directory lists nothing; a masked file reads nothing (empty, or refused).
      t.same(
        result.stdout
          .trim()
          .split('\n')
          .filter(line => !line.endsWith(' 0')),
        [],
        `view ${view}: every masked path is empty (${present.join(', ')})`,
      )
    }
  })

  t.test('--network none leaves only a loopback device', async t => {
    // Both views: sysfs (which shows the network namespace of whoever mounted it) and the
    // kernel's own list for the caller's namespace.
    const result = await contain(['run', '--network', 'none', '--', 'sh', '-c', 'ls /sys/class/net; echo --; tail -n +3 /proc/net/dev | cut -d: -f1'])
    t.equal(result.exitCode, 0, result.stderr)
    // Exactly lo: a test that only looked for eth/ens/enp would pass a broken feature on a host
    // whose interfaces are eno1 or wlp2s0.
    t.same(
      result.stdout.trim().split(/\s+/),
      ['lo', '--', 'lo'],
      `the app's interfaces (sysfs -- /proc/net/dev): ${result.stdout.trim().split(/\s+/).join(' ')}`,
    )
  })

  t.test('--read-only blocks writes except --tmpfs and --writable paths', async t => {
    const dir = t.testdir()
    const script = `touch /x 2>/dev/null && echo root-writable; touch /tmp/a && echo tmp-ok; touch ${dir}/b && echo writable-ok`
    const result = await contain(['run', '--read-only', '--tmpfs', '/tmp', '--writable', dir, '--', 'sh', '-c', script])
    t.equal(result.exitCode, 0, result.stderr)
    t.same(result.stdout.trim().split('\n'), ['tmp-ok', 'writable-ok'])
  })

  t.test('-u runs the app as that user and group', async t => {
    const result = await contain(['run', '-u', 'nobody', '--', 'id', '-u'])
    t.equal(result.exitCode, 0, result.stderr)
    t.equal(result.stdout.trim(), '65534')
  })

  t.test('-e and --env-file set the environment, -e winning; -w sets the directory', async t => {
    const dir = t.testdir({'app.env': 'GREETING=from-file\nONLY_FILE=yes\n'})
    const result = await contain([
      'run',
      '--env-file',
      `${dir}/app.env`,
      '-e',
      'GREETING=from-flag',
      '-w',
      dir,
      '--',
      'sh',
      '-c',
      'echo $GREETING $ONLY_FILE $(pwd)',
    ])
    t.equal(result.exitCode, 0, result.stderr)
    t.equal(result.stdout.trim(), `from-flag yes ${dir}`)
  })

  t.test('--userns maps the caller to root in a user namespace', async t => {
    const result = await contain(['run', '--userns', '--', 'sh', '-c', 'id -u; cat /proc/self/uid_map'])
    t.equal(result.exitCode, 0, result.stderr)
    const [uid, map] = result.stdout.trim().split('\n')
    t.equal(uid, '0')
    t.match(map.trim(), /^0\s+0\s+1$/)
  })
}
