/**
 * bin/run.js as shipped, in a copy of its layout (bin/ beside dist/) with a small stand-in bundle:
 * which commands take the CommonJS fast path, and that its V8 code cache is only ever an
 * optimisation — written once, ignored when it does not belong to the bundle beside it.
 */
import {spawnSync} from 'node:child_process'
import {copyFileSync, existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import t, {type Test} from 'tap'

const root = fileURLToPath(new URL('../../..', import.meta.url))

/** A stand-in for dist/run.cjs: prints what it was given, exits with 7. */
const bundle = (word: string) => `exports.runFast = async argv => { process.stdout.write('${word} ' + argv.join(' ')); return 7 }\n`

function layout(t: Test): string {
  const dir = t.testdir({bin: {}, dist: {'run.cjs': bundle('first')}})
  copyFileSync(join(root, 'bin/run.js'), join(dir, 'bin/run.js'))
  copyFileSync(join(root, 'bin/package.json'), join(dir, 'bin/package.json'))
  return dir
}

function contain(dir: string, args: string[]) {
  const result = spawnSync(process.execPath, [join(dir, 'bin/run.js'), ...args], {encoding: 'utf8'})
  return {status: result.status, stdout: result.stdout, stderr: result.stderr}
}

const caches = (dir: string) =>
  readdirSync(join(dir, 'dist'))
    .filter(name => name.endsWith('.v8cache'))
    .sort()

t.test('contain run loads its CommonJS bundle and exits with what it returns', async t => {
  const dir = layout(t)
  t.same(contain(dir, ['run', '--cpus', '1', '--', 'true']), {status: 7, stdout: 'first --cpus 1 -- true', stderr: ''})
  t.same(caches(dir), ['run.cjs.full.v8cache'], 'the code cache is written at exit')
  contain(dir, ['run', '--dry-run', '--', 'true'])
  t.same(caches(dir), ['run.cjs.dry.v8cache', 'run.cjs.full.v8cache'], 'a dry run keeps its own')
  const written = statSync(join(dir, 'dist/run.cjs.full.v8cache')).mtimeMs
  t.same(contain(dir, ['run', '--', 'true']).stdout, 'first -- true', 'from the cache')
  t.equal(statSync(join(dir, 'dist/run.cjs.full.v8cache')).mtimeMs, written, 'a cache that fits is not rewritten')
})

t.test('a cache that does not belong to the bundle is never used', async t => {
  const dir = layout(t)
  contain(dir, ['run', '--', 'true'])
  // Same length, other code, other mtime: V8 alone would accept the old cache (it checks the length).
  writeFileSync(join(dir, 'dist/run.cjs'), bundle('again'))
  utimesSync(join(dir, 'dist/run.cjs'), new Date(), new Date(Date.now() + 5000))
  t.equal(contain(dir, ['run', '--', 'true']).stdout, 'again -- true', 'the new bundle runs')

  writeFileSync(join(dir, 'dist/run.cjs.full.v8cache'), 'garbage')
  t.same(contain(dir, ['run', '--', 'x']), {status: 7, stdout: 'again -- x', stderr: ''}, 'a torn cache costs nothing but the cache')
  t.not(readFileSync(join(dir, 'dist/run.cjs.full.v8cache'), 'utf8'), 'garbage', 'and is replaced')
  t.same(
    readdirSync(join(dir, 'dist')).filter(name => name.endsWith('.tmp')),
    [],
    'no temporary file left',
  )
})

t.test('help and the other commands go to oclif, not to a fast bundle', async t => {
  const dir = layout(t)
  // The copy has no dist/cli.js: reaching oclif's entry fails to import it, which shows the route.
  for (const args of [['run', '--help'], ['run', '-h', '--', 'x'], ['up', '--help'], ['ps'], ['constructor']]) {
    const result = contain(dir, args)
    t.match(result.stderr, /Cannot find module .*dist\/cli\.js/, args.join(' '))
  }
  t.equal(contain(dir, ['run', '--', 'sh', '--help']).stdout, 'first -- sh --help', "the app's own --help is the app's")
  t.notOk(existsSync(join(dir, 'dist/up.cjs.full.v8cache')))
})
