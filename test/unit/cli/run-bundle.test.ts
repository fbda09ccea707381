/**
 * Guards on what `contain run` loads before the app starts: it is timed against `node -e 0`
 * (bench launch suite, 1.3x at most), and every module on its path costs each launch.
 */
import {build} from 'esbuild'
import {fileURLToPath} from 'node:url'
import t from 'tap'

const root = fileURLToPath(new URL('../../..', import.meta.url))

/** dist/run.cjs as scripts/build.js makes it, in memory, with what it imports. */
async function runBundle() {
  const result = await build({
    absWorkingDir: root,
    entryPoints: {run: 'src/cli/run-fast.ts'},
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: ['@oclif/core', 'listr2', 'execa'],
    supported: {'dynamic-import': false},
    define: {'import.meta.url': '__contain_module_url'},
    write: false,
    metafile: true,
    outdir: 'dist',
    logLevel: 'silent',
  })
  const [output] = Object.values(result.metafile.outputs)
  return {bytes: output.bytes, imports: output.imports.map(entry => entry.path), inputs: Object.keys(output.inputs)}
}

t.test('contain run never loads oclif, listr2 or execa', async t => {
  const {imports} = await runBundle()
  for (const heavy of ['@oclif/core', 'listr2', 'execa']) t.notOk(imports.includes(heavy), `${heavy} is not required by dist/run.cjs`)
})

t.test('the supervisor, the other commands and the config loader stay out of the run bundle', async t => {
  const {inputs} = await runBundle()
  const commands = inputs.filter(input => input.includes('src/commands/'))
  const allowed = ['src/commands/run.ts', 'src/commands/spec.ts', 'src/commands/table.ts']
  t.ok(commands.includes('src/commands/run.ts'), "run's handler is in")
  t.strictSame(
    commands.filter(input => !allowed.includes(input)),
    [],
    "of the command table, run's row and handler only",
  )
  for (const part of ['src/cli/oclif.ts', 'src/supervisor/up.ts', 'src/supervisor/supervisor.ts', 'src/config/project.ts', 'node_modules/yaml/']) {
    t.notOk(
      inputs.some(input => input.includes(part)),
      `nothing of ${part}`,
    )
  }
})

t.test('the run bundle stays small: each start reads it whole', async t => {
  const {bytes} = await runBundle()
  t.ok(bytes < 260_000, `dist/run.cjs is ${bytes} bytes (bound: 260000)`)
})
