/**
 * The one reader of dotenv files (a project's .env, env_file:, --env-file): bounded, from a file
 * no other user may change (trusted-file.ts), text only. Its callers word the failure for what
 * the user wrote (a contain.yml line, a flag); the checks are the same for all.
 */
import {parse as parseDotenv} from 'dotenv'
import {readFileUpTo, UntrustedFileError} from './trusted-file.js'

/** A dotenv file is a few kB; more is the wrong file (and /dev/urandom would never end). */
export const MAX_ENV_FILE_BYTES = 2 ** 20

/** Why an env file could not be read. `missing`: ENOENT or ENOTDIR, which an optional file may be. */
export type EnvFileFailure = 'missing' | 'untrusted' | 'too-large' | 'not-text' | 'unreadable'

export class EnvFileError extends Error {
  constructor(
    readonly path: string,
    readonly failure: EnvFileFailure,
    message: string,
    /** The errno code of a failed read. */
    readonly code?: string,
    /** For `untrusted`: how to make the file trusted. */
    readonly fix?: string,
    cause?: unknown,
  ) {
    super(message, {cause})
  }
}

const readHostFile = (path: string) => readFileUpTo(path, MAX_ENV_FILE_BYTES).toString('utf8')

/** The file's variables, or an EnvFileError saying why not. `readFile` is the host's unless given (tests). */
export function readEnvFile(path: string, readFile: (path: string) => string = readHostFile): Record<string, string> {
  let text: string
  try {
    text = readFile(path)
  } catch (error) {
    if (error instanceof UntrustedFileError) throw new EnvFileError(path, 'untrusted', `${path} ${error.problem}`, undefined, error.fix, error)
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new EnvFileError(path, 'missing', `${path} does not exist`, code, undefined, error)
    if (code === 'EFBIG') throw new EnvFileError(path, 'too-large', `${path} is larger than 1 MiB, not an env file`, code, undefined, error)
    throw new EnvFileError(path, 'unreadable', `cannot read ${path} (${code ?? String(error)})`, code, undefined, error)
  }
  if (Buffer.byteLength(text) > MAX_ENV_FILE_BYTES) throw new EnvFileError(path, 'too-large', `${path} is larger than 1 MiB, not an env file`)
  if (text.includes('\0')) throw new EnvFileError(path, 'not-text', `${path} is not a text file (it holds NUL bytes)`)
  return parseDotenv(text)
}
