/**
 * Which file a seccomp choice names, and its text: the one place that knows what `default`,
 * `unconfined` and a relative path mean, and how much of a file is read. Light on purpose (no
 * parser, no compiler): a launch with a cached filter loads only this and seccomp/cache.ts.
 */
import {isAbsolute, resolve} from 'node:path'
import {readFileUpTo} from '../trusted-file.js'
import {FileError} from '../errors.js'
import {defaultSeccompProfile} from '../paths.js'

/** contain's own profile (templates/seccomp/default.json). */
export const DEFAULT_PROFILE = 'default'
/** No filter at all. */
export const UNCONFINED = 'unconfined'

/**
 * A choice as it should be kept once its directory is forgotten: the keywords as they are, a relative
 * path made absolute from `base` (contain.yml's directory: every path there starts from it).
 */
export function anchoredProfile(choice: string, base: string): string {
  return choice === DEFAULT_PROFILE || choice === UNCONFINED || choice === '' || isAbsolute(choice) ? choice : resolve(base, choice)
}

/** The profile file a choice names, or undefined for `unconfined`. `default` is contain's template. */
export function profileFile(choice: string, defaultProfile = defaultSeccompProfile()): string | undefined {
  if (choice === UNCONFINED) return undefined
  return choice === DEFAULT_PROFILE ? defaultProfile : choice
}

/** Docker's default profile is 20 kB; a file beyond this is not a profile (or is /dev/zero). */
export const MAX_PROFILE_BYTES = 2 ** 20

/** The profile's text; a missing, unreadable or oversized file is a FileError with the path. */
export async function readProfileText(file: string): Promise<string> {
  try {
    return readFileUpTo(file, MAX_PROFILE_BYTES).toString('utf8')
  } catch (error) {
    if (error instanceof FileError) throw error
    if ((error as NodeJS.ErrnoException).code === 'EFBIG') {
      throw new FileError(file, 'is larger than 1 MiB, not a seccomp profile', {
        fix: "give the path of a seccomp profile in Docker's JSON format (Docker's default is 20 kB)",
      })
    }
    throw new FileError(file, `cannot read the seccomp profile: ${(error as Error).message}`, {
      fix: 'check the path given for the seccomp profile',
      cause: error,
    })
  }
}
