/**
 * sd_notify from contain, the main process of a `Type=notify` unit (see `contain systemd`):
 * READY=1 once every app it started is up (its health check has passed once, or it runs, when it
 * has none), STATUS= with one line about each app, STOPPING=1 when it stops, WATCHDOG=1 every
 * WATCHDOG_USEC/2. Node has no unix datagram sockets, so each message goes out through
 * `contain-init notify` (native/contain-init.c).
 */
import {execFile} from 'node:child_process'
import type {LastExit, SupervisedApp} from '../supervisor/app.js'
import type {Supervisor} from '../supervisor/supervisor.js'
import {initPath} from '../paths.js'

/** Where systemd listens, and how often it wants to hear from contain. */
export interface NotifyTarget {
  /** $NOTIFY_SOCKET: a path, or @name for an abstract socket. */
  socket: string
  /** Half of $WATCHDOG_USEC, in ms; undefined when the unit has no WatchdogSec=. */
  watchdogIntervalMs?: number
}

/** Sends one message (newline-separated KEY=VALUE assignments); rejects when it cannot. */
export type SendNotification = (message: string) => Promise<void>

/** The variables systemd sets for the unit's main process only. */
const NOTIFY_VARIABLES = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const

/**
 * Takes NOTIFY_SOCKET and WATCHDOG_* out of `env`, as sd_notify's unset_environment does: they
 * are addressed to contain, and apps inherit contain's environment. An app that speaks sd_notify
 * itself (puma does) would otherwise report READY=1 before contain's health check has passed;
 * under NotifyAccess=main systemd would drop it anyway, but it would still fill the journal.
 */
export function takeNotifyTarget(env: NodeJS.ProcessEnv = process.env, pid = process.pid): NotifyTarget | undefined {
  const socket = env.NOTIFY_SOCKET
  const watchdogUsec = Number(env.WATCHDOG_USEC)
  const watchdogForUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === pid
  for (const name of NOTIFY_VARIABLES) delete env[name]
  if (!socket) return undefined
  const watchdogIntervalMs = watchdogForUs && Number.isFinite(watchdogUsec) && watchdogUsec > 0 ? Math.max(1, Math.floor(watchdogUsec / 2000)) : undefined
  return {socket, watchdogIntervalMs}
}

/**
 * Sends through `contain-init notify`. As root the credentials carry contain's own pid, so that
 * systemd takes the message as the main process's (NotifyAccess=main). Others may not claim
 * another pid: the helper sends as itself and waits until systemd has handled the message
 * (--barrier), so that systemd still finds the sender in the unit (NotifyAccess=all).
 */
export function helperSender(socket: string, options: {init?: string; pid?: number; asRoot?: boolean; timeoutMs?: number} = {}): SendNotification {
  const init = options.init ?? initPath()
  const asRoot = options.asRoot ?? process.getuid?.() === 0
  const identity = asRoot ? ['--pid', String(options.pid ?? process.pid)] : ['--barrier']
  return message =>
    new Promise((resolve, reject) => {
      execFile(init, ['notify', ...identity, message], {env: {NOTIFY_SOCKET: socket}, timeout: options.timeoutMs ?? 10_000}, (error, _stdout, stderr) => {
        if (error) reject(new Error(stderr.trim() || error.message))
        else resolve()
      })
    })
}

/** What the bridge knows of one app, from the supervisor's events. */
export interface AppView {
  name: string
  state: string
  /** Whether the app has a health check, and what it says. */
  healthcheck: boolean
  health: string
  restarts: number
  lastExit?: LastExit
  /** Up once: its check passed (or it ran, without a check). Stays true. */
  wasUp: boolean
}

function describeExit(exit: LastExit): string {
  if (exit.error) return exit.error
  if (exit.oomKilled) return `OOM-killed (exit ${exit.exitCode})`
  return exit.signal ? `${exit.signal} (exit ${exit.exitCode})` : `exit ${exit.exitCode}`
}

/** One app in the STATUS line, e.g. "web healthy" or "worker restarting after OOM-killed (exit 137)". */
export function describeApp(app: AppView): string {
  let text: string
  if (app.state === 'running' && app.healthcheck)
    text = app.health === 'healthy' ? 'healthy' : app.health === 'unhealthy' ? 'unhealthy' : 'running, waiting for its health check'
  else if (app.state === 'backoff') text = `restarting after ${app.lastExit ? describeExit(app.lastExit) : 'an exit'}`
  else if ((app.state === 'exited' || app.state === 'failed') && app.lastExit) text = `${app.state} (${describeExit(app.lastExit)})`
  else text = app.state
  return `${app.name} ${text}${app.restarts > 0 ? ` (${app.restarts} restart${app.restarts === 1 ? '' : 's'})` : ''}`
}

/** systemd's STATUS= is one line. */
export function statusLine(apps: readonly AppView[], stopping = false): string {
  return `${stopping ? 'stopping: ' : ''}${apps.map(describeApp).join(', ')}`.replace(/[\r\n]+/g, ' ')
}

/** READY=1 is due once every app has been up once. */
export function allUp(apps: readonly AppView[]): boolean {
  return apps.length > 0 && apps.every(app => app.wasUp)
}

/**
 * The bridge between the supervisor's events and systemd. Messages go out one at a time, in
 * order; a STATUS= waiting behind another message is replaced by a newer one.
 */
export class SystemdNotifier {
  private readonly apps = new Map<string, AppView>()
  private readonly queue: string[] = []
  private sending = false
  private ready = false
  private stopped = false
  private watchdog?: NodeJS.Timeout
  private warned = false

  constructor(
    private readonly send: SendNotification,
    private readonly options: {watchdogIntervalMs?: number; warn?: (message: string) => void} = {},
  ) {}

  /** Follows every app of `supervisor`, also those a changed contain.yml adds or replaces, and starts the watchdog. */
  watch(supervisor: Supervisor): this {
    for (const [name, app] of supervisor.apps) this.follow(name, app)
    supervisor.on('app-added', (name: string, app: SupervisedApp) => {
      this.follow(name, app)
      this.changed()
    })
    supervisor.on('app-removed', (name: string) => {
      this.apps.delete(name)
      this.changed()
    })
    if (this.options.watchdogIntervalMs !== undefined) {
      this.watchdog = setInterval(() => this.enqueue('WATCHDOG=1'), this.options.watchdogIntervalMs)
      this.watchdog.unref()
    }
    return this
  }

  private follow(name: string, app: SupervisedApp): void {
    const view: AppView = {
      name,
      state: app.state,
      healthcheck: app.spec.healthcheck !== undefined,
      health: app.spec.healthcheck ? 'starting' : 'none',
      restarts: 0,
      wasUp: false,
    }
    this.apps.set(name, view)
    app.on('state', (state: string) => {
      if (state === 'starting' && view.state === 'backoff') view.restarts++
      if (state === 'starting') view.health = view.healthcheck ? 'starting' : 'none'
      view.state = state
      if (state === 'running' && !view.healthcheck) view.wasUp = true
      this.changed()
    })
    app.on('health', (health: string) => {
      view.health = health
      if (health === 'healthy') view.wasUp = true
      this.changed()
    })
    app.on('exit', (exit: LastExit) => (view.lastExit = exit))
  }

  /** contain is stopping: STOPPING=1 (systemd then stops expecting the watchdog). */
  stopping(): void {
    if (this.stopped) return
    this.stopped = true
    if (this.watchdog) clearInterval(this.watchdog)
    this.enqueue(`STOPPING=1\nSTATUS=${statusLine([...this.apps.values()], true)}`)
  }

  /** Resolves once every queued message has been sent (or given up on). */
  async flushed(): Promise<void> {
    while (this.sending || this.queue.length > 0) await new Promise(resolve => setTimeout(resolve, 5))
  }

  private changed(): void {
    const apps = [...this.apps.values()]
    const status = `STATUS=${statusLine(apps, this.stopped)}`
    if (!this.ready && !this.stopped && allUp(apps)) {
      this.ready = true
      this.enqueue(`READY=1\n${status}`)
    } else {
      this.enqueue(status)
    }
  }

  private enqueue(message: string): void {
    const last = this.queue.length - 1
    if (message.startsWith('STATUS=') && last >= 0 && this.queue[last].startsWith('STATUS=')) this.queue[last] = message
    else this.queue.push(message)
    void this.drain()
  }

  private async drain(): Promise<void> {
    if (this.sending) return
    this.sending = true
    try {
      for (let message = this.queue.shift(); message !== undefined; message = this.queue.shift()) {
        await this.send(message).catch((error: Error) => {
          // systemd keeps waiting for READY=1 and times the start out: say why, once.
          if (this.warned) return
          this.warned = true
          this.options.warn?.(`contain: cannot notify systemd (${message.split('\n')[0]}): ${error.message}`)
        })
      }
    } finally {
      this.sending = false
    }
  }
}

/**
 * For `contain up`: when systemd (or anything speaking its protocol) set NOTIFY_SOCKET, reports
 * the supervisor's progress there. Call takeNotifyTarget first, before the apps' environment is
 * planned.
 */
export function notifySystemd(
  supervisor: Supervisor,
  target: NotifyTarget | undefined,
  warn: (message: string) => void = message => process.stderr.write(`${message}\n`),
): SystemdNotifier | undefined {
  if (!target) return undefined
  return new SystemdNotifier(helperSender(target.socket), {watchdogIntervalMs: target.watchdogIntervalMs, warn}).watch(supervisor)
}
