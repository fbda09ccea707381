/**
 * Runs of values to one cgroup file (v1's devices.allow: one rule per write) go through one
 * descriptor, one write(2) each; a rule the kernel refuses is still the one the error names.
 */
import {mkdirSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {AppCgroup, hostCgroupFs, planCgroup, type CgroupFs} from '../../../src/cgroup/index.js'
import type {CgroupLayout} from '../../../src/cgroup/layout.js'
import {DEFAULT_DEVICE_RULES, formatRule} from '../../../src/devices/rules.js'
import {CgroupError} from '../../../src/errors.js'
import {tempCgroupFs} from '../helpers/cgroup-fs.js'
import {errnoError, thrown} from '../helpers/errors.js'

const WEB = {scope: 'run', name: 'web'}
const RULES = [...DEFAULT_DEVICE_RULES, {type: 'c' as const, major: 10, minor: 229, access: 'rw'}]

function devicesHost(root: string): CgroupLayout {
  const mountPoint = join(root, 'devices')
  mkdirSync(mountPoint, {recursive: true})
  return {mode: 'v1', hierarchies: [{version: 1, mountPoint, ownDir: mountPoint, controllers: ['devices']}]}
}

/** The temp-dir seam, plus writeEach recorded as one call per run of values. */
function withWriteEach(fail?: string): CgroupFs & {runs: Array<{path: string; values: readonly string[]}>} {
  const base = tempCgroupFs()
  const runs: Array<{path: string; values: readonly string[]}> = []
  return {
    ...base,
    runs,
    writeEach(path, values) {
      runs.push({path, values})
      for (const value of values) {
        if (value === fail) throw Object.assign(errnoError('EPERM', `write ${path}`), {value})
        base.write(path, value)
      }
    },
  }
}

t.test('the device rules of an app go to devices.allow as one run of writes, in order', async t => {
  const root = t.testdir({})
  const fs = withWriteEach()
  const cgroup = AppCgroup.create(planCgroup(devicesHost(root), WEB, {}, fs, RULES), fs)
  const dir = join(root, 'devices/contain/run/web')
  t.same(fs.runs, [{path: join(dir, 'devices.allow'), values: RULES.map(formatRule)}], 'one run for the allow list; the single deny is a plain write')
  t.equal(readFileSync(join(dir, 'devices.deny'), 'utf8'), 'a')
  await cgroup.remove()
})

t.test('a rule the kernel refuses is named, and what was made is undone', async t => {
  const root = t.testdir({})
  const refused = formatRule(RULES.at(-1)!)
  const fs = withWriteEach(refused)
  const error = thrown(() => AppCgroup.create(planCgroup(devicesHost(root), WEB, {}, fs, RULES), fs))
  t.ok(error instanceof CgroupError)
  t.match(error.message, `cannot write ${JSON.stringify(refused)}`)
  t.match((error as CgroupError).fix ?? '', /does not allow this device/)
  t.notOk(readdirOrEmpty(join(root, 'devices')).includes('contain'), 'nothing left behind')
})

t.test('hostCgroupFs.writeEach: one descriptor, one write per value, the failed value on the error', async t => {
  const dir = t.testdir({file: ''})
  hostCgroupFs.writeEach!(join(dir, 'file'), ['c 1:3 rwm', 'c 1:5 rwm'])
  t.equal(readFileSync(join(dir, 'file'), 'utf8'), 'c 1:3 rwmc 1:5 rwm', 'each value written once, in order')
  // /dev/full refuses every write (ENOSPC): the first value is the one that failed.
  const error = thrown(() => hostCgroupFs.writeEach!('/dev/full', ['first', 'second'])) as NodeJS.ErrnoException & {value?: string}
  t.equal(error.code, 'ENOSPC')
  t.equal(error.value, 'first')
})

function readdirOrEmpty(path: string): string[] {
  try {
    return readdirSync(path)
  } catch {
    return []
  }
}
