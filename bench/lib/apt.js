// Installs missing peers from Debian's own archive. One `apt-get update`, then one install of everything
// missing; if that install fails, each package is retried alone so one broken package cannot take the
// others down. Returns a per-package status that goes into the results.
import {log} from './log.js'
import {run, tail, which} from './proc.js'

const aptEnv = {DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'l'}

export async function packageStatus(name) {
  const result = await run('dpkg-query', ['-W', '-f=${db:Status-Abbrev}|${Version}', name])
  if (!result.ok) return {installed: false}
  const [abbrev, version] = result.stdout.split('|')
  return {installed: abbrev.startsWith('ii'), version}
}

/**
 * @param {string[]} packages Debian package names
 * @param {{install: boolean}} options install=false only reports what is present
 * @returns {Promise<Record<string, {status: 'present'|'installed'|'missing'|'failed', version?: string, reason?: string}>>}
 */
export async function ensurePackages(packages, {install}) {
  const status = {}
  const missing = []
  for (const name of packages) {
    const s = await packageStatus(name)
    if (s.installed) status[name] = {status: 'present', version: s.version}
    else missing.push(name)
  }
  if (missing.length === 0) return status
  const notPossible = !install
    ? 'not installed and --no-install was given'
    : process.getuid?.() !== 0
      ? 'not installed and the bench is not running as root'
      : !which('apt-get')
        ? 'not installed and apt-get is not available'
        : undefined
  if (notPossible) {
    for (const name of missing) status[name] = {status: 'missing', reason: notPossible}
    return status
  }

  log.info(`apt-get update (missing: ${missing.join(' ')})`)
  const update = await run('apt-get', ['update'], {env: aptEnv})
  if (!update.ok) log.warn(`apt-get update failed, trying the install anyway: ${tail(update.all, 300)}`)

  const installArgs = ['install', '-y', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold']
  log.info(`apt-get install -y --no-install-recommends ${missing.join(' ')}`)
  const all = await run('apt-get', [...installArgs, ...missing], {env: aptEnv, timeout: 30 * 60_000})
  const retry = all.ok ? [] : missing
  if (!all.ok) log.warn(`installing all at once failed; retrying one package at a time: ${tail(all.all, 300)}`)
  const reasons = {}
  for (const name of retry) {
    const one = await run('apt-get', [...installArgs, name], {env: aptEnv, timeout: 30 * 60_000})
    if (!one.ok) reasons[name] = `apt-get install ${name} failed: ${tail(one.all, 300)}`
  }
  for (const name of missing) {
    const s = await packageStatus(name)
    status[name] = s.installed
      ? {status: 'installed', version: s.version}
      : {status: 'failed', reason: reasons[name] ?? (update.ok ? `apt-get could not install ${name}` : `apt-get update failed: ${tail(update.all, 200)}`)}
  }
  return status
}
