/** Start-up progress on a terminal (listr2), loaded only when a terminal shows it. */
import type {AppSpec} from './app.js'
import type {Supervisor} from './supervisor.js'

export async function withProgress<T>(title: string, step: () => Promise<T>): Promise<T> {
  const {Listr} = await import('listr2')
  let result: T | undefined
  await new Listr([{title, task: async () => void (result = await step())}], {exitOnError: true}).run()
  return result as T
}

/** One line per app: started, then healthy where the app has a health check. */
export async function startWithProgress(supervisor: Supervisor, specs: AppSpec[]): Promise<void> {
  const {Listr} = await import('listr2')
  const reach = (name: string, accept: (state: string, health: string) => boolean) =>
    new Promise<void>((resolve, reject) => {
      const app = supervisor.apps.get(name)
      const check = () => {
        const status = app?.status()
        if (!status) return
        if (status.state === 'failed' || status.state === 'exited') {
          cleanup()
          reject(new Error(`${name} ${status.state}: ${status.lastExit?.error ?? `exit ${status.lastExit?.exitCode}`}`))
        } else if (accept(status.state, status.health)) {
          cleanup()
          resolve()
        }
      }
      const cleanup = () => {
        app?.off('state', check)
        app?.off('health', check)
      }
      app?.on('state', check)
      app?.on('health', check)
      check()
    })
  const tasks = new Listr(
    specs.map(spec => ({
      title: `start ${spec.name}`,
      task: async (_: unknown, task: {title: string}) => {
        await reach(spec.name, state => state === 'running')
        if (!spec.healthcheck) return
        task.title = `start ${spec.name}: waiting for its health check`
        await reach(spec.name, (_state, health) => health === 'healthy')
        task.title = `start ${spec.name}: healthy`
      },
    })),
    {concurrent: true, exitOnError: false},
  )
  await Promise.all([supervisor.start(), tasks.run().catch(() => undefined)])
}
