// The filter of one launch (seccomp/launch-filter.ts): the profile is read once and the cache
// probed once, also on a miss; `default`, `unconfined` and relative paths mean one thing everywhere.
import {execFileSync, spawn} from 'node:child_process'
import {readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {defaultSeccompProfile} from '../../../src/paths.js'
import {compileProfile, clearCompileCache} from '../../../src/seccomp/bpf.js'
import {forgetLaunchFilters, launchFilter} from '../../../src/seccomp/launch-filter.js'
import {anchoredProfile, profileFile} from '../../../src/seccomp/profile-file.js'
import {profilePath} from '../../../src/seccomp/summary.js'

const PROFILE = JSON.stringify({
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [
    {names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13},
    {names: ['mkdri'], action: 'SCMP_ACT_ERRNO'},
  ],
})
const request = {capabilities: [], strict: false, complain: false} as const

/** A FIFO that yields the profile to exactly one reader: a second read of it would wait forever. */
let fifos = 0
function readableOnce(t: {teardown(fn: () => void): void}, dir: string, text: string): string {
  const fifo = join(dir, `profile-${++fifos}.fifo`)
  execFileSync('mkfifo', ['-m', '0600', fifo])
  const writer = spawn('sh', ['-c', 'printf %s "$1" > "$2"', 'sh', text, fifo], {stdio: 'ignore'})
  t.teardown(() => writer.kill('SIGKILL'))
  return fifo
}

t.test('a miss reads the profile once, compiles it, and leaves it in the cache', async t => {
  forgetLaunchFilters()
  const dir = t.testdir({cache: {}})
  const cacheDir = join(dir, 'cache')
  const cold = await launchFilter({...request, file: readableOnce(t, dir, PROFILE), cacheDir})
  t.equal(cold.cache, 'miss')
  t.match(cold.warnings, [/mkdri/], "the compiler's warnings reach the launch")
  clearCompileCache()
  const reference = await compileProfile({file: 'x.json', text: PROFILE, capabilities: []})
  t.same(cold.filter, reference.filter, 'the same filter compileProfile makes')
  t.same(readdirSync(cacheDir), [`${reference.hash}.bpf`], 'one cache file, under the key compileProfile uses')

  t.equal((await launchFilter({...request, file: readableOnce(t, dir, PROFILE), cacheDir})).cache, 'memory', 'a second app of the same process')
  forgetLaunchFilters()
  const warm = await launchFilter({...request, file: readableOnce(t, dir, PROFILE), cacheDir})
  t.equal(warm.cache, 'disk', 'another process finds it on disk')
  t.same(warm.filter, cold.filter)
  t.same(warm.warnings, [])
})

t.test('an unreadable profile is a FileError naming it, cached or not', async t => {
  forgetLaunchFilters()
  const dir = t.testdir()
  await t.rejects(launchFilter({...request, file: join(dir, 'missing.json'), cacheDir: dir}), {
    name: 'FileError',
    message: /missing\.json: cannot read the seccomp profile/,
  })
  writeFileSync(join(dir, 'broken.json'), '{')
  await t.rejects(launchFilter({...request, file: join(dir, 'broken.json'), cacheDir: dir}), {name: 'FileError', message: /invalid JSON/})
})

t.test('default, unconfined and relative paths: one meaning', async t => {
  t.equal(profileFile('default'), defaultSeccompProfile())
  t.equal(profileFile('default', '/opt/x.json'), '/opt/x.json')
  t.equal(profileFile('unconfined'), undefined)
  t.equal(profileFile('./mine.json'), './mine.json')
  t.equal(profilePath('default'), defaultSeccompProfile(), 'seccomp check and explain mean the same default')
  t.equal(anchoredProfile('./mine.json', '/srv/app'), '/srv/app/mine.json', 'contain.yml paths start at its directory')
  t.equal(anchoredProfile('/etc/p.json', '/srv/app'), '/etc/p.json')
  t.equal(anchoredProfile('default', '/srv/app'), 'default')
  t.equal(anchoredProfile('unconfined', '/srv/app'), 'unconfined')
})
