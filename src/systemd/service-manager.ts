/**
 * systemd as contain up's service manager: what `contain up` hands the supervisor (UpOptions
 * serviceManager), so that the supervisor reports to systemd and writes to its journal without
 * importing anything of systemd/ (which follows the supervisor's events, so depends on it).
 */
import type {ServiceManager} from '../supervisor/up.js'
import {JournalWriter, stdoutIsJournal} from './journal.js'
import {notifySystemd, takeNotifyTarget} from './notify.js'

/**
 * Call it first, before any app's environment is planned: it takes NOTIFY_SOCKET and WATCHDOG_*
 * out of `env` (they are addressed to contain, and apps inherit contain's environment).
 */
export function systemdServiceManager(env: NodeJS.ProcessEnv = process.env): ServiceManager {
  const target = takeNotifyTarget(env)
  return {
    watch: (supervisor, warn) => notifySystemd(supervisor, target, warn),
    journal: (project, warn) => (stdoutIsJournal(env) ? new JournalWriter(project, {warn}) : undefined),
  }
}
