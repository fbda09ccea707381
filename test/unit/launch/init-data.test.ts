/**
 * What contain-init reads once at its start goes over as an unnamed file: the data complete
 * before the spawn, at offset 0, reachable by no name; and a pipe where O_TMPFILE is refused.
 */
import {closeSync, fstatSync, readdirSync, readlinkSync, readSync} from 'node:fs'
import t from 'tap'
import {INIT_DATA_DIR, initDataFile} from '../../../src/launch/init-data.js'

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
  for (let n; (n = readSync(fd, back, used, back.length - used, null)) > 0; ) used += n
  t.equal(used, data.length)
  t.ok(back.subarray(0, used).equals(data), 'the same bytes')
})

t.test('a directory without O_TMPFILE: undefined, so the caller uses a pipe', async t => {
  // procfs supports no O_TMPFILE; a missing directory fails as well.
  t.equal(initDataFile(Buffer.from('x'), '/proc'), undefined)
  t.equal(initDataFile(Buffer.from('x'), '/nonexistent-contain-dir'), undefined)
})
