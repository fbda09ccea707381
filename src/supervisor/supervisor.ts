import {EventEmitter} from 'node:events'
import {ContainError} from '../errors.js'
import {AppState, SupervisedApp, type AppSpec, type AppStatus, type OutputSink} from './app.js'

const FINAL_STATES: AppState[] = [AppState.stopped, AppState.exited, AppState.failed]

/** One process supervises every app of a project: no daemon, and one memory footprint. */
export class Supervisor extends EventEmitter {
  readonly apps = new Map<string, SupervisedApp>()
  /** Restarts in flight: an app stopped to be started again has not ended, so up keeps supervising. */
  private restarting = 0

  constructor(specs: AppSpec[], output: OutputSink) {
    super()
    for (const spec of specs) {
      const app = new SupervisedApp(spec, output)
      app.on('state', state => {
        this.emit('state', spec.name, state)
        if (this.restarting === 0 && this.allEnded()) this.emit('all-ended')
      })
      app.on('exit', exit => this.emit('exit', spec.name, exit))
      this.apps.set(spec.name, app)
    }
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
      await Promise.all(apps.map(app => app.stop()))
      await Promise.all(apps.map(app => app.start()))
    } finally {
      this.restarting--
      // A restart that could not start its apps (a setup error) ends them for good.
      if (this.restarting === 0 && this.allEnded()) this.emit('all-ended')
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
