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
// Linked statically where the C library allows it (glibc's libc.a comes with libc6-dev, as gcc
// does): every launch execs contain-init twice, and a static program starts without the dynamic
// loader (no ld.so.cache, no libc.so to map and relocate). It uses nothing of glibc that needs
// shared objects at run time (no NSS: users and groups come as numbers). Without libc.a it is
// linked dynamically, as before.
const compile = extra =>
  execFileSync(compiler, ['-O2', '-Wall', '-Wextra', '-Werror', ...extra, '-o', 'native/build/contain-init', 'native/contain-init.c'], {
    cwd: root,
    stdio: extra.length ? 'ignore' : 'inherit',
  })
try {
  try {
    compile(['-static'])
  } catch {
    compile([])
  }
} catch {
  console.error(`build: cannot compile native/contain-init.c with ${compiler}; install a C compiler (apt-get install gcc) and run npm run build again`)
  process.exit(1)
}

rmSync(join(root, 'dist'), {recursive: true, force: true})
const common = {
  absWorkingDir: root,
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
}
// contain run and contain up are timed from the shell: each is one self-contained CommonJS file
// (bin/run.js loads it), because every extra module costs resolution at each start and Node's
// CommonJS loader starts sooner than its ES module loader. import.meta.url, which CommonJS lacks,
// becomes the file's own URL. The other commands share ES module chunks.
await build({
  ...common,
  entryPoints: {run: 'src/cli/run-fast.ts', up: 'src/cli/up-fast.ts'},
  format: 'cjs',
  outExtension: {'.js': '.cjs'},
  splitting: false,
  // yaml and dotenv go in too: yaml alone is some fifty files to resolve and read at each start.
  packages: undefined,
  external: ['@oclif/core', 'listr2', 'execa'],
  // bin/run.js compiles the bundle with vm.Script (for the code cache), where import() has no
  // loader: lazy packages (dotenv, listr2) are require()d instead, still only when needed.
  supported: {'dynamic-import': false},
  define: {'import.meta.url': '__contain_module_url'},
  banner: {js: 'const __contain_module_url = require("node:url").pathToFileURL(__filename).href;'},
})
await build({...common, entryPoints: {cli: 'src/cli/main.ts', commands: 'src/cli/oclif.ts'}, splitting: true})
