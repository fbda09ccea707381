/**
 * The supervisor's side of `contain up` on a running project: it reads contain.yml (and its env
 * files) again itself, validates and plans every app asked for before it touches any, then starts
 * the new apps, recreates the changed ones, stops the removed ones and leaves the rest alone.
 * The client only names the apps and the recreate policy: what runs always comes from the file.
 */
import {loadProject, type AppConfig, type Project} from '../config/project.js'
import {ContainError} from '../errors.js'
import {canStop} from './app.js'
import {AppAction, decideActions, formatOutcome, type AppOutcome, type AppVersion, type DeployedApp, type RecreatePolicy} from './apply.js'
import {planApps} from './plan-apps.js'
import type {Supervisor} from './supervisor.js'

/** The `apply` control request. */
export interface ApplyRequest {
  /** Apps named on the command line; none: every app of the file, and the removed ones go. */
  apps: string[]
  recreate: RecreatePolicy
}

export interface ApplyResult {
  outcomes: AppOutcome[]
  /** Planning warnings (an app running as host root...), for the terminal of `contain up`. */
  warnings: string[]
}

const RECREATE_POLICIES: readonly RecreatePolicy[] = ['changed', 'never', 'always']

/** The request as it came over the socket: checked, never trusted. */
export function parseApplyRequest(params: Record<string, unknown>): ApplyRequest {
  const {apps, recreate} = params
  if (!Array.isArray(apps) || !apps.every(app => typeof app === 'string')) throw new ContainError('apply: apps must be a list of app names')
  if (!RECREATE_POLICIES.includes(recreate as RecreatePolicy)) throw new ContainError(`apply: recreate must be one of ${RECREATE_POLICIES.join(', ')}`)
  return {apps: [...new Set(apps)], recreate: recreate as RecreatePolicy}
}

export interface DeployerHooks {
  /** The project as now read: app output (prefix widths, log settings) follows it. */
  projectRead(project: Project): void
  /** An app is gone, or its logging changed: close its log, so the next run opens it anew. */
  releaseLog(app: string): Promise<void>
  /** A line for the supervisor's own output: its terminal, its log (-d) or the journal. */
  say(line: string): void
}

export class Deployer {
  /** What each app runs with now: its configuration as read, for describing what changed. */
  private readonly configs = new Map<string, AppConfig>()
  /** One apply at a time, in the order asked; the first waits until the project has started. */
  private queue: Promise<unknown>
  /** The project is stopping: nothing is started any more. */
  private closed = false

  constructor(
    private readonly supervisor: Supervisor,
    private readonly file: string,
    started: readonly AppConfig[],
    startedUp: Promise<unknown>,
    private readonly hooks: DeployerHooks,
  ) {
    for (const config of started) this.configs.set(config.name, config)
    this.queue = startedUp.catch(() => undefined)
  }

  /** Each app's configuration as it runs now, in the supervisor's order: what contain exec plans from. */
  deployed(): AppConfig[] {
    return [...this.supervisor.apps.keys()].flatMap(name => this.configs.get(name) ?? [])
  }

  /** No apply after this; resolves once the one under way (if any) is done, so that down sees every app. */
  async close(): Promise<void> {
    this.closed = true
    await this.queue
  }

  apply(request: ApplyRequest): Promise<ApplyResult> {
    const run = this.queue.then(() => {
      if (this.closed) throw new ContainError('the project is stopping: nothing was changed', {fix: 'start it again with contain up once it has stopped'})
      return this.applyNow(request)
    })
    this.queue = run.catch(() => undefined)
    return run
  }

  private async applyNow(request: ApplyRequest): Promise<ApplyResult> {
    // Everything that can refuse does so here, before any app is stopped: the file's syntax and
    // values (file:line:col), an app name it lacks, and each app's plan as `contain run` makes it.
    const project = await loadProject(this.file)
    const {specs, warnings} = await planApps(project, request.apps)
    for (const warning of warnings) this.hooks.say(`contain: warning: ${warning}`)
    const next: AppVersion[] = specs.map(spec => ({spec, config: project.apps.find(app => app.name === spec.name) as AppConfig}))
    const current = new Map<string, DeployedApp>()
    for (const [name, app] of this.supervisor.apps) {
      const config = this.configs.get(name)
      if (config) current.set(name, {config, spec: app.spec, up: canStop(app.state)})
    }
    const outcomes = decideActions(current, next, {all: request.apps.length === 0, recreate: request.recreate})
    this.hooks.projectRead(project)
    await this.supervisor.hold(() =>
      Promise.all(
        outcomes.map(async outcome => {
          const version = next.find(candidate => candidate.config.name === outcome.name)
          const before = this.configs.get(outcome.name)
          const logChanged =
            before !== undefined && version !== undefined && JSON.stringify(before.supervision.logging) !== JSON.stringify(version.config.supervision.logging)
          if (outcome.action === AppAction.removed) {
            await this.supervisor.removeApp(outcome.name)
            this.configs.delete(outcome.name)
            await this.hooks.releaseLog(outcome.name)
            return
          }
          if (!version || (outcome.action !== AppAction.started && outcome.action !== AppAction.recreated)) return
          const existing = this.supervisor.apps.get(outcome.name)
          const since = new Date().toISOString()
          // A stopped app that is unchanged (or kept by --no-recreate) starts as it was configured.
          if (existing && outcome.action === AppAction.started) {
            await existing.start()
          } else if (existing && !logChanged && existing.canRollTo(version.spec)) {
            // The new version starts beside the old one on the same sockets; the old one stops once
            // the new one is ready. If it never is, the old version keeps serving, and stays the one on record.
            try {
              await existing.roll(version.spec)
              this.configs.set(outcome.name, version.config)
              outcome.rolled = 'done'
            } catch (error) {
              outcome.rolled = 'failed'
              outcome.error = error instanceof ContainError ? error.message : String(error)
            }
            return
          } else {
            if (existing) await this.supervisor.removeApp(outcome.name)
            if (logChanged) await this.hooks.releaseLog(outcome.name)
            this.configs.set(outcome.name, version.config)
            await this.supervisor.add(version.spec).start()
          }
          // Only this start counts: a stopped app's last exit may be an old failure.
          const exit = this.supervisor.apps.get(outcome.name)?.status().lastExit
          if (exit?.error !== undefined && exit.at >= since) outcome.error = exit.error
        }),
      ),
    )
    this.supervisor.reorder(project.apps.map(app => app.name))
    // What changed stays on record where the supervisor's output goes, not only in the caller's terminal.
    for (const outcome of outcomes) if (outcome.action !== AppAction.unchanged) this.hooks.say(`contain: ${this.file} applied: ${formatOutcome(outcome)}`)
    return {outcomes, warnings}
  }
}
