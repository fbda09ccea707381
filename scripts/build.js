#!/usr/bin/env node
// Builds the native helper with the system C compiler and bundles the TypeScript with esbuild.
import {execFileSync} from 'node:child_process'
import {mkdirSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {build} from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const compiler = process.env.CC ?? 'cc'

mkdirSync(join(root, 'native/build'), {recursive: true})
try {
  execFileSync(compiler, ['-O2', '-Wall', '-Wextra', '-Werror', '-o', 'native/build/contain-init', 'native/contain-init.c'], {cwd: root, stdio: 'inherit'})
} catch {
  console.error(`build: cannot compile native/contain-init.c with ${compiler}; install a C compiler (apt-get install gcc) and run npm run build again`)
  process.exit(1)
}

rmSync(join(root, 'dist'), {recursive: true, force: true})
const common = {absWorkingDir: root, outdir: 'dist', bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', sourcemap: 'linked', logLevel: 'warning'}
// contain run's path is one self-contained file: every extra ES module costs resolution time at
// each launch. The other commands share chunks.
await build({...common, entryPoints: {'run-fast': 'src/cli/run-fast.ts'}, splitting: false})
await build({...common, entryPoints: {cli: 'src/cli/main.ts', commands: 'src/commands/index.ts'}, splitting: true})
