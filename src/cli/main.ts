/**
 * The ES module entry: oclif's commands and help. bin/run.js sends `run` and `up` to their
 * CommonJS bundles before this is loaded; `run` still takes its lean path here for callers that
 * import main() themselves (bench/supervisor.js).
 */
export async function main(argv: string[]): Promise<number | undefined> {
  const commandEnd = argv.indexOf('--')
  const ownArgs = commandEnd === -1 ? argv : argv.slice(0, commandEnd)
  if (argv[0] === 'run' && !ownArgs.includes('--help') && !ownArgs.includes('-h')) {
    const {runFast} = await import('./run-fast.js')
    return runFast(argv.slice(1))
  }
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url, args: argv})
  return undefined
}
