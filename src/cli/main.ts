/**
 * The ES module entry (dist/cli.js): oclif's help, completion and the commands bin/run.js does not
 * start from a bundle of their own. Every command, `run` included, parses its line with the one
 * grammar (cli/parse.ts), so a caller that imports main() gets what bin/run.js gives.
 */
export async function main(argv: string[]): Promise<number | undefined> {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url, args: argv})
  return undefined
}
