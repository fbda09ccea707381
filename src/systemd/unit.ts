/**
 * A systemd unit that runs `contain up APP...` in the foreground as its main process, and
 * `contain up --reload APP...` for `systemctl reload`: rendered
 * from templates/systemd/contain.service, whose comments say why each setting is what it is.
 */
import type {Project} from '../config/project.js'
import type {RestartConfig} from '../config/supervision.js'
import {ContainError} from '../errors.js'
import {fillTemplate, readTemplate} from '../init/template.js'
import {renderSocketUnit} from './socket-unit.js'

export interface UnitOptions {
  project: Project
  /** The apps the unit runs, at least one; validated against the project by the caller. */
  apps: string[]
  /** A user unit (systemctl --user) instead of a system one. */
  user: boolean
  /** The Node.js binary and contain's bin/run.js, absolute. */
  node: string
  containBin: string
  /** Where templates/ is (default: the package's). */
  templateRoot?: string
  /** Also a .socket unit that holds the apps' listen: addresses (socket-unit.ts). */
  socketUnits?: boolean
}

export interface RenderedUnit {
  /** contain-PROJECT-APP.service, or contain-PROJECT.service for several apps. */
  name: string
  text: string
  /** With socketUnits, when the apps listen on something: the .socket unit of the same name. */
  socket?: {name: string; text: string}
}

const SYSTEM_NOTIFY_ACCESS = [
  "Only contain's own messages count. contain does not pass NOTIFY_SOCKET on to its apps, and an",
  'app that speaks sd_notify anyway (puma does) is dropped by systemd: it cannot report ready early.',
]
const USER_NOTIFY_ACCESS = [
  "all, not main: only root may send in another process's name, so contain's helper sends as",
  'itself and waits until systemd has read the message. contain does not pass NOTIFY_SOCKET on to',
  'its apps, so an app that speaks sd_notify (puma does) cannot report ready early.',
]

const ENV_FILES_COMMENT = [
  "The apps' env files. contain reads them again itself (dotenv syntax, and its layering wins);",
  "here they give contain's own environment, so entries of environment: without a value get theirs.",
]

/** systemd waits this long for READY=1 at least: its own default. */
const MIN_START_TIMEOUT_S = 90
/** Time for contain itself around the app's stop: the SIGKILL, the cgroup removal, its exit. */
const STOP_MARGIN_S = 15
/** Time for contain itself to plan and start the apps before their health checks count. */
const START_MARGIN_S = 30

/** A value systemd reads literally: % starts a specifier, so it is doubled. */
function literal(field: string, value: string): string {
  if (/[\n\r]/.test(value))
    throw new ContainError(`${field}: ${JSON.stringify(value)} holds a line break, which a unit file cannot`, {fix: 'use a path and names without line breaks'})
  return value.replace(/%/g, '%%')
}

/**
 * One word of ExecStart=: % and $ doubled (specifiers, variables), backslashes escaped (systemd
 * unescapes C-style), and quoted when it holds blanks or quotes or is empty or a lone ";".
 */
export function execArgument(value: string): string {
  const escaped = literal('ExecStart', value).replace(/\$/g, '$$$$').replace(/\\/g, '\\\\')
  if (value !== '' && value !== ';' && !/[\s"']/.test(value)) return escaped
  return `"${escaped.replace(/"/g, '\\"')}"`
}

export function unitName(project: Project, apps: readonly string[]): string {
  return apps.length === 1 ? `contain-${project.name}-${apps[0]}.service` : `contain-${project.name}.service`
}

function describeRestart(restart: RestartConfig): string {
  return restart.maxRetries === undefined ? restart.policy : `${restart.policy}:${restart.maxRetries}`
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`
}

/** TimeoutStopSec: longer than the longest stop_grace_period, by the time contain needs after it. */
export function stopTimeoutSeconds(graceMs: readonly number[]): number {
  return Math.ceil(Math.max(0, ...graceMs) / 1000) + STOP_MARGIN_S
}

/** TimeoutStartSec: start_period plus `retries` checks of interval + timeout each, and a margin. */
export function startTimeoutSeconds(project: Project, apps: readonly string[]): number {
  const needed = project.apps
    .filter(app => apps.includes(app.name))
    .map(app => {
      const check = app.supervision.healthcheck
      return check ? Math.ceil((check.startPeriodMs + check.retries * (check.intervalMs + check.timeoutMs)) / 1000) + START_MARGIN_S : START_MARGIN_S
    })
  return Math.max(MIN_START_TIMEOUT_S, ...needed)
}

export function renderUnit(options: UnitOptions): RenderedUnit {
  const {project, apps, user} = options
  const selected = project.apps.filter(app => apps.includes(app.name))
  const name = unitName(project, apps)
  const systemctl = user ? 'systemctl --user' : 'systemctl'
  const unitDir = user ? '~/.config/systemd/user' : '/etc/systemd/system'
  const command = ['contain', 'systemd', '-f', project.file, ...apps, ...(user ? ['--user'] : []), ...(options.socketUnits ? ['--socket-units'] : [])].join(' ')
  const socket = options.socketUnits ? renderSocketUnit(project, apps, name, command) : undefined
  // The service needs its sockets: started alone it would bind them itself, and the socket unit
  // started later could not. After=: the sockets exist before contain looks for them.
  const socketDependencies = socket ? `Requires=${socket.name}\nAfter=${socket.name}` : ''
  const envFiles = [...new Set(selected.flatMap(app => app.envFiles))]
  const text = fillTemplate(readTemplate('systemd/contain.service', options.templateRoot), {
    unitName: name,
    appList: apps.join(', '),
    project: literal('name', project.name),
    projectFile: literal('file', project.file),
    command,
    installCommand: `${command} --output ${unitDir}/${name}`,
    enableCommand: `${systemctl} daemon-reload && ${systemctl} enable --now ${name}`,
    systemctl,
    journalUser: user ? ' --user' : '',
    restartPolicies: selected.map(app => `${app.name}: ${describeRestart(app.supervision.restart)}`).join(', '),
    dependencies: [user ? '' : 'Wants=network-online.target\nAfter=network-online.target', socketDependencies].filter(Boolean).join('\n'),
    notifyAccess: user ? 'all' : 'main',
    notifyAccessComment: (user ? USER_NOTIFY_ACCESS : SYSTEM_NOTIFY_ACCESS).map(line => `# ${line}`).join('\n'),
    execStart: [options.node, options.containBin, 'up', '--file', project.file, ...apps].map(execArgument).join(' '),
    execReload: [options.node, options.containBin, 'up', '--reload', '--file', project.file, ...apps].map(execArgument).join(' '),
    workingDirectory: literal('WorkingDirectory', project.dir),
    environmentFiles:
      envFiles.length === 0
        ? ''
        : [...ENV_FILES_COMMENT.map(line => `# ${line}`), ...envFiles.map(file => `EnvironmentFile=-${literal('EnvironmentFile', file)}`)].join('\n'),
    gracePeriods: selected.map(app => `${app.name} ${seconds(app.supervision.stopGraceMs)}`).join(', '),
    timeoutStopSec: `${stopTimeoutSeconds(selected.map(app => app.supervision.stopGraceMs))}s`,
    timeoutStartSec: `${Math.max(startTimeoutSeconds(project, apps), stopTimeoutSeconds(selected.map(app => app.supervision.stopGraceMs)) + START_MARGIN_S)}s`,
    wantedBy: user ? 'default.target' : 'multi-user.target',
  })
  return socket ? {name, text, socket} : {name, text}
}
