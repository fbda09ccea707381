/**
 * What contain-init reads once at its start goes over as an unnamed file: the data complete
 * before the spawn, at offset 0, reachable by no name; and a pipe where O_TMPFILE is refused.
 */
import {closeSync, fstatSync, readdirSync, readFileSync, readlinkSync, readSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {AppCgroup} from '../../../src/cgroup/index.js'
import {INIT_DATA_DIR, initDataFile} from '../../../src/launch/init-data.js'
import type {LaunchPlan} from '../../../src/launch/plan.js'
import {startApp} from '../../../src/launch/spawn.js'
import {tempCgroupFs} from '../helpers/cgroup-fs.js'

t.test('the data, whole, in an unnamed regular file read from offset 0', async t => {
  const data = Buffer.from('PATH=/usr/bin\0HOME=/root\0'.repeat(5000))
  const before = readdirSync(INIT_DATA_DIR)
  const fd = initDataFile(data)
  if (fd === undefined) return t.plan(0, `${INIT_DATA_DIR} refuses O_TMPFILE on this host: the launch uses pipes`)
  t.teardown(() => closeSync(fd))
  t.ok(fstatSync(fd).isFile(), 'a regular file')
  t.equal(fstatSync(fd).mode & 0o777, 0o600, 'mode 0600')
  t.match(readlinkSync(`/proc/self/fd/${fd}`), /\(deleted\)$/, 'with no name in the file system')
  t.same(readdirSync(INIT_DATA_DIR), before, `nothing new in ${INIT_DATA_DIR}`)
  // read(2) as contain-init does: from the shared offset, which the writes left at 0.
  const back = Buffer.alloc(data.length + 1)
  let used = 0
  for (let n; (n = readSync(fd, back, used, back.length - used, null)) > 0;) used += n
  t.equal(used, data.length)
  t.ok(back.subarray(0, used).equals(data), 'the same bytes')
})

t.test('a directory without O_TMPFILE: undefined, so the caller uses a pipe', async t => {
  // procfs supports no O_TMPFILE; a missing directory fails as well.
  t.equal(initDataFile(Buffer.from('x'), '/proc'), undefined)
  t.equal(initDataFile(Buffer.from('x'), '/nonexistent-contain-dir'), undefined)
})

t.test('startApp hands the filter and the environment over as files, and keeps a stream for the status', async t => {
  if (initDataFile(Buffer.from('x')) === undefined) return t.plan(0, `${INIT_DATA_DIR} refuses O_TMPFILE on this host: the launch uses pipes`)
  const dir = t.testdir({})
  const out = join(dir, 'fds')
  // A stand-in for contain-init: what each descriptor is, and what fd 5 holds.
  const script = `for fd in 3 4 5; do stat -L -c %F /proc/self/fd/$fd; done > ${out}; tr '\\0' '\\n' <&5 >> ${out}`
  const plan = {
    name: 'fds',
    namespaces: [],
    argv: ['/bin/sh', '-c', script],
    env: {GREETING: 'hello'},
    seccompFilter: Buffer.alloc(8),
    appArguments: [],
    hiddenPaths: [],
    deviceBinds: [],
    listen: [],
    cgroup: {mode: 'v2', parents: [], dirs: [], writes: [], procsFiles: [], attachFiles: [], viewMounts: [], joined: []},
  } as unknown as LaunchPlan
  const app = startApp(plan, AppCgroup.prepare(plan.cgroup, tempCgroupFs()), 'ignore')
  // No contain-init reports here, so the run counts as failed: only what it saw matters.
  await app.exited.catch(() => undefined)
  t.same(
    readFileSync(out, 'utf8').trim().split('\n'),
    ['socket', 'regular file', 'regular file', 'GREETING=hello'],
    'fd 3 a stream (Node makes its stdio pipes as socket pairs), fds 4 and 5 files',
  )
})
