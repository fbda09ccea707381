/**
 * mem_reservation on cgroup v2: the parents contain made pass their children's memory.low on
 * (an ancestor at 0 would cap the protection below it at 0). The kernel's files are checked in
 * the v2 guests by test/integration/limits.test.ts; here, the sums and their order.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {passMemoryProtection} from '../../../src/cgroup/protection.js'
import {tempCgroupFs, writeFiles} from '../helpers/cgroup-fs.js'

const MiB = 1024 * 1024
const parentsOf = (root: string) => ['contain', 'contain/shop', 'contain/shop/web'].map(dir => ({dir: join(root, dir), enable: [], inheritCpuset: false}))
const low = (root: string, dir: string) => readFileSync(join(root, dir, 'memory.low'), 'utf8').trim()

t.test('each parent carries the sum of its children, deepest first', async t => {
  const root = t.testdir({})
  writeFiles({
    [join(root, 'contain/memory.low')]: '0\n',
    [join(root, 'contain/shop/memory.low')]: '0\n',
    [join(root, 'contain/shop/web/memory.low')]: '0\n',
    [join(root, 'contain/shop/web/i1/memory.low')]: `${64 * MiB}\n`,
    [join(root, 'contain/shop/web/i2/memory.low')]: `${64 * MiB}\n`,
    [join(root, 'contain/shop/worker/memory.low')]: `${32 * MiB}\n`,
    [join(root, 'contain/run/memory.low')]: '0\n',
  })
  passMemoryProtection(parentsOf(root), tempCgroupFs())
  t.equal(low(root, 'contain/shop/web'), String(128 * MiB), 'the app: both instances (a rolling restart holds two)')
  t.equal(low(root, 'contain/shop'), String(160 * MiB), "the project: web's and worker's")
  t.equal(low(root, 'contain'), String(160 * MiB), 'contain: every project and run')
})

t.test('an app gone: the parents pass on what is left, and unchanged values are not written again', async t => {
  const root = t.testdir({})
  writeFiles({
    [join(root, 'contain/memory.low')]: `${96 * MiB}\n`,
    [join(root, 'contain/shop/memory.low')]: `${96 * MiB}\n`,
    [join(root, 'contain/shop/web/memory.low')]: `${64 * MiB}\n`,
    [join(root, 'contain/shop/web/i1/memory.low')]: `${64 * MiB}\n`,
  })
  const fs = tempCgroupFs()
  passMemoryProtection(parentsOf(root), fs)
  t.equal(low(root, 'contain'), String(64 * MiB))
  t.strictSame(
    fs.calls.map(call => call.path),
    [join(root, 'contain/shop/memory.low'), join(root, 'contain/memory.low')],
    'the app cgroup already held the sum',
  )
})

t.test('v1 (no memory.low) and parents removed meanwhile are left alone', async t => {
  const root = t.testdir({})
  writeFiles({[join(root, 'contain/shop/web/i1/memory.soft_limit_in_bytes')]: `${64 * MiB}\n`})
  const fs = tempCgroupFs()
  passMemoryProtection([...parentsOf(root), {dir: join(root, 'gone'), enable: [], inheritCpuset: false}], fs)
  t.strictSame(fs.calls, [])
})
