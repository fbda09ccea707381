#!/usr/bin/env -S node --
// "node --" ends node's own options: Node 20 otherwise reads any --env-file in contain's argv itself.
//
// CommonJS on purpose (bin/package.json): Node's CommonJS loader starts a file several ms sooner
// than its ES module loader, and `contain run` and `contain up` are timed against `node -e 0`.
// Those two load one self-contained CommonJS bundle each (dist/run.cjs, dist/up.cjs), compiled
// from a V8 code cache when one fits; every other command, and --help, goes through oclif (ESM).
'use strict'
const {closeSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync} = require('node:fs')
const {dirname, join} = require('node:path')
const {createRequire} = require('node:module')
const {Script} = require('node:vm')

/**
 * Command -> its bundle and the function it exports: (argv after the command) => exit code. The
 * commands marked hot in src/commands/table.ts, no others (test/unit/cli/grammar.test.ts).
 */
const FAST = new Map([
  ['run', ['run.cjs', 'runFast']],
  ['up', ['up.cjs', 'upFast']],
])
const CACHE_MAGIC = 'contain-v8-cache 1'

/** contain's own arguments: those before the app's command, if any. */
function ownArgs(argv) {
  const end = argv.indexOf('--')
  return end === -1 ? argv : argv.slice(0, end)
}

/**
 * V8 checks a code cache against its own version and flags, and the source only by length: the
 * header ties it to this exact file (size, mtime, inode) so that a rebuilt bundle of the same
 * length never runs stale code.
 */
function cacheHeader(stat) {
  return `${CACHE_MAGIC} ${process.version} ${process.arch} ${stat.size} ${stat.mtimeMs} ${stat.ino}\n`
}

function readCache(file, header) {
  try {
    const data = readFileSync(file)
    return data.length > header.length && data.toString('latin1', 0, header.length) === header ? data.subarray(header.length) : undefined
  } catch {
    return undefined
  }
}

/**
 * Written only into a directory this user owns (never into another user's as root), through
 * O_EXCL and rename, so a planted symlink is never followed; any failure only costs the cache.
 */
function writeCache(file, header, script) {
  const temporary = `${file}.${process.pid}.tmp`
  let fd
  try {
    if (statSync(dirname(file)).uid !== process.geteuid()) return
    const data = script.createCachedData()
    fd = openSync(temporary, 'wx', 0o644)
    writeSync(fd, header)
    writeSync(fd, data)
    closeSync(fd)
    fd = undefined
    renameSync(temporary, file)
  } catch {
    if (fd !== undefined) closeSync(fd)
    try {
      unlinkSync(temporary)
    } catch {}
  }
}

/** require() of the bundle, compiled from the code cache when it fits, which then is kept current. */
function loadBundle(file, variant) {
  const source = readFileSync(file, 'utf8')
  const stat = statSync(file)
  const cacheFile = `${file}.${variant}.v8cache`
  const header = cacheHeader(stat)
  const cachedData = readCache(cacheFile, header)
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {filename: file, cachedData})
  // At exit the cache holds every function this run compiled, not only the top level.
  if (cachedData === undefined || script.cachedDataRejected) process.once('exit', () => writeCache(cacheFile, header, script))
  const module = {exports: {}}
  // Packages the bundle leaves out (listr2) resolve from where the bundle is, as require() would.
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file))
  return module.exports
}

const argv = process.argv.slice(2)
const own = ownArgs(argv)
const fast = FAST.get(argv[0])
const finish = code => {
  process.exitCode = code ?? process.exitCode
}
// Help is oclif's to render.
if (fast !== undefined && !own.includes('--help') && !own.includes('-h')) {
  const [bundle, entry] = fast
  // A dry run compiles other functions than a launch: each keeps its own cache.
  const variant = own.includes('--dry-run') ? 'dry' : 'full'
  const commands = loadBundle(join(__dirname, '../dist', bundle), variant)
  commands[entry](argv.slice(1)).then(finish)
} else {
  import('../dist/cli.js').then(({main}) => main(argv)).then(finish)
}
