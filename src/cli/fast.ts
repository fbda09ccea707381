import {writeSync} from 'node:fs'
import type {CommandIo, CommandSpec} from '../commands/spec.js'
import {renderError} from '../errors.js'
import {parseCommandLine} from './parse.js'

/**
 * One line straight to fd 1 or 2. process.stdout and process.stderr are built on first use
 * (a tty, pipe or file stream, with their modules), which costs a launch more than its
 * warnings are worth. A descriptor the caller made non-blocking may refuse a write (EAGAIN):
 * what is left then goes through the stream, which waits for it.
 */
export function writeLine(fd: 1 | 2, text: string): void {
  const data = Buffer.from(`${text}\n`)
  let written = 0
  try {
    while (written < data.length) written += writeSync(fd, data, written)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // A reader that went away (| head) wants no more.
    if (code === 'EPIPE') return
    if (code !== 'EAGAIN') throw error
    ;(fd === 1 ? process.stdout : process.stderr).write(data.subarray(written))
  }
}

const FAST_IO: CommandIo = {stdout: text => writeLine(1, text), stderr: text => writeLine(2, text)}

/**
 * A hot command without oclif: starting a Node CLI framework costs more than the whole kernel
 * side of a launch. The same table row and grammar as through oclif (cli/oclif.ts); only the
 * help is oclif's (bin/run.js sends --help there).
 */
export async function runCommand(spec: CommandSpec, argv: readonly string[]): Promise<number> {
  try {
    const input = parseCommandLine(spec, argv)
    const {default: handler} = await spec.load()
    return (await handler(input, FAST_IO)) ?? Number(process.exitCode ?? 0)
  } catch (error) {
    const {message, exitCode} = renderError(error, process.env.CONTAIN_DEBUG === '1')
    writeLine(2, message)
    return exitCode
  }
}
