/**
 * The app's environment, built rather than inherited: whoever calls contain (an operator's
 * shell, a CI job, a systemd unit) holds variables the app must never see: SSH_AUTH_SOCK,
 * cloud credentials, LD_PRELOAD, NODE_OPTIONS, the caller's PWD. `contain run`, `contain up`,
 * `contain exec` and command health checks all take their environment from here.
 */

import {fstatSync} from 'node:fs'

/** Docker's PATH for a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The caller's locale and time zone: how the app formats text and time, nothing it could use against the host. */
const LOCALE_KEY = /^(LANG|LANGUAGE|LC_[A-Z_]+|TZ)$/

export interface EnvironmentInputs {
  /** The caller's environment: only the locale, the time zone and TERM are taken from it. */
  caller: Record<string, string | undefined>
  /** The app user's passwd entry; undefined when the uid has none (HOME is then /, as Docker's). */
  account?: {name?: string; home?: string}
  workdir: string
  hostname?: string
  /** Whether the app's stdin or stdout is a terminal: TERM only then. */
  terminal: boolean
  /** What the configuration sets (.env, env_file, environment, --env-file, -e, in that order): wins over all of the above. */
  configured: Record<string, string>
}

/** Character-device majors of terminals: 4 and 5 (virtual consoles, serial lines, /dev/tty, /dev/console), 136-143 (pseudo-terminals). */
const TERMINAL_MAJORS = (major: number) => major === 4 || major === 5 || (major >= 136 && major <= 143)

/**
 * isatty(fd) without node:tty, whose load (node:net and streams) costs milliseconds at every
 * launch: a character device with a terminal's major number. /dev/null (1:3) is not one.
 */
export function isTerminal(fd: number): boolean {
  try {
    const stat = fstatSync(fd)
    return stat.isCharacterDevice() && TERMINAL_MAJORS(Math.floor(stat.rdev / 256) & 0xfff)
  } catch {
    return false
  }
}

/** TERM from the caller, for an app whose stdin or stdout is a terminal (a pipe has no terminal type). */
export function terminalEnvironment(caller: Record<string, string | undefined>, terminal: boolean): Record<string, string> {
  return terminal && caller.TERM ? {TERM: caller.TERM} : {}
}

/**
 * PATH, HOME, USER and LOGNAME of the app's user, the caller's locale and time zone, TERM on a
 * terminal, PWD and HOSTNAME, then what the configuration sets. Nothing else of the caller's.
 */
export function appEnvironment(inputs: EnvironmentInputs): Record<string, string> {
  const env: Record<string, string> = {PATH: DEFAULT_PATH, HOME: inputs.account?.home || '/'}
  if (inputs.account?.name) {
    env.USER = inputs.account.name
    env.LOGNAME = inputs.account.name
  }
  for (const [key, value] of Object.entries(inputs.caller)) if (value !== undefined && LOCALE_KEY.test(key)) env[key] = value
  Object.assign(env, terminalEnvironment(inputs.caller, inputs.terminal))
  env.PWD = inputs.workdir
  if (inputs.hostname !== undefined) env.HOSTNAME = inputs.hostname
  return Object.assign(env, inputs.configured)
}
