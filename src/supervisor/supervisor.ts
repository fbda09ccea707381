import {EventEmitter} from 'node:events'
import {ContainError} from '../errors.js'
import {AppState, SupervisedApp, type AppSpec, type AppStatus, type OutputSink} from './app.js'

const FINAL_STATES: AppState[] = [AppState.stopped, AppState.exited, AppState.failed]

/** One process supervises every app of a project: no daemon, and one memory footprint. */
export class Supervisor extends EventEmitter {
  readonly apps = new Map<string, SupervisedApp>()
  /** Restarts in flight: an app stopped to be started again has not ended, so up keeps supervising. */
  private restarting = 0

  /** Applying a changed contain.yml: an app stopped on the way to its new version has not ended. */
  private holding = 0

  constructor(
    specs: AppSpec[],
    private readonly output: OutputSink,
  ) {
    super()
    for (const spec of specs) this.add(spec)
  }

  /** A new app (or an app's new version), stopped until started. Emits `app-added`. */
  add(spec: AppSpec): SupervisedApp {
    if (this.apps.has(spec.name)) throw new ContainError(`an app named ${JSON.stringify(spec.name)} is already supervised`)
    const app = new SupervisedApp(spec, this.output)
    app.on('state', state => {
      this.emit('state', spec.name, state)
      if (this.settled() && this.allEnded()) this.emit('all-ended')
    })
    app.on('exit', exit => this.emit('exit', spec.name, exit))
    this.apps.set(spec.name, app)
    this.emit('app-added', spec.name, app)
    return app
  }

  /** Stops the app gracefully, removes its cgroup and forgets it. Emits `app-removed`. */
  async removeApp(name: string): Promise<void> {
    const [app] = this.select([name])
    await app.remove()
    app.removeAllListeners()
    this.apps.delete(name)
    this.emit('app-removed', name)
  }

  /**
   * Runs `change` (apps removed, replaced, added) without `all-ended` on the way: an app's old
   * version stopping is not the project ending. Once done, the project may have ended after all.
   */
  async hold<T>(change: () => Promise<T>): Promise<T> {
    this.holding++
    try {
      return await change()
    } finally {
      this.holding--
      if (this.settled() && this.allEnded()) this.emit('all-ended')
    }
  }

  /** No restart and no apply in flight: only then may the apps' ending be the project's. */
  private settled(): boolean {
    return this.restarting === 0 && this.holding === 0
  }

  /** Lists the apps in this order (contain.yml's, after a change), the ones not named last. */
  reorder(names: readonly string[]): void {
    const apps = [...this.apps]
    const rank = (name: string) => (names.includes(name) ? names.indexOf(name) : names.length)
    apps.sort(([a], [b]) => rank(a) - rank(b))
    this.apps.clear()
    for (const [name, app] of apps) this.apps.set(name, app)
  }

  select(names: readonly string[] = []): SupervisedApp[] {
    if (names.length === 0) return [...this.apps.values()]
    return names.map(name => {
      const app = this.apps.get(name)
      if (!app) throw new ContainError(`no app named ${JSON.stringify(name)} in this project`, {fix: `use one of: ${[...this.apps.keys()].join(', ')}`})
      return app
    })
  }

  async start(names?: readonly string[]): Promise<void> {
    await Promise.all(this.select(names).map(app => app.start()))
  }

  async stop(names?: readonly string[]): Promise<void> {
    await Promise.all(this.select(names).map(app => app.stop()))
  }

  async restart(names?: readonly string[]): Promise<void> {
    const apps = this.select(names)
    this.restarting++
    try {
      // Each app as its restart mode says (rolling or stop-first); one app's failed roll does not stop the others'.
      const results = await Promise.allSettled(apps.map(app => app.restart()))
      const failed = results.flatMap(result => (result.status === 'rejected' ? [result.reason as Error] : []))
      if (failed.length === 1) throw failed[0]
      if (failed.length > 1) throw new ContainError(failed.map(error => error.message).join('; '), {fix: 'see contain ps and contain logs APP'})
    } finally {
      this.restarting--
      // A restart that could not start its apps (a setup error) ends them for good.
      if (this.settled() && this.allEnded()) this.emit('all-ended')
    }
  }

  /** Stops every app and removes every cgroup. */
  async down(): Promise<void> {
    await Promise.all([...this.apps.values()].map(app => app.remove()))
  }

  allEnded(): boolean {
    return [...this.apps.values()].every(app => FINAL_STATES.includes(app.state))
  }

  status(names?: readonly string[]): AppStatus[] {
    return this.select(names).map(app => app.status())
  }
}
