/**
 * The names contain checks in more than one place, each rule once: an app's name (flag and
 * contain.yml key alike) and an environment variable's name (-e, environment:, env files).
 */

/** compose's app name rule; `..` is refused apart (isAppName), so a name is always a safe path component and cgroup name. */
export const APP_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/

/** What the app-name rule says, for messages. */
export const APP_NAME_RULE = 'use letters, digits, _, . and -, starting with a letter or digit, at most 63 characters'

/** An app's name: a path component of cgroups, logs and state, so never one with `..`. */
export function isAppName(name: string): boolean {
  return APP_NAME_PATTERN.test(name) && !name.includes('..')
}

/** A variable name, as Docker takes it: anything but `=` and NUL, not empty. */
export const ENV_KEY_PATTERN = /^[^=\0]+$/
