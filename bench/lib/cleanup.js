// LIFO registry of undo actions. Runs once: at the end of the bench (finally), or on SIGINT/SIGTERM/SIGHUP,
// or on an uncaught error. Every step is isolated: one failing undo does not stop the others.
import {log} from './log.js'

export class Cleanup {
  #tasks = []
  #running = undefined
  report = []

  /** Register an undo step; returns a function that unregisters it (when the step was undone early). */
  add(name, fn) {
    const task = {name, fn}
    this.#tasks.push(task)
    return () => {
      const i = this.#tasks.indexOf(task)
      if (i !== -1) this.#tasks.splice(i, 1)
    }
  }

  /** True once cleanup has begun (end of run or a signal): nothing new may be started after that. */
  get started() {
    return this.#running !== undefined
  }

  /** Throw if cleanup has begun; call before starting a daemon or any other thing that needs undoing. */
  assertNotStopping() {
    if (this.started) throw new Error('interrupted: not starting anything new')
  }

  /** Run every registered undo step, newest first. Safe to call more than once. */
  run() {
    this.#running ??= (async () => {
      while (this.#tasks.length > 0) {
        const task = this.#tasks.pop()
        try {
          const detail = await task.fn()
          this.report.push({step: task.name, ok: true, ...(detail ? {detail} : {})})
        } catch (error) {
          log.warn(`cleanup step "${task.name}" failed: ${error?.message ?? error}`)
          this.report.push({step: task.name, ok: false, error: String(error?.message ?? error)})
        }
      }
    })()
    return this.#running
  }

  /** On a signal: stop measuring, undo everything, exit with 128+signal. A third signal exits at once. */
  installSignalHandlers(onInterrupt) {
    let count = 0
    const numbers = {SIGHUP: 1, SIGINT: 2, SIGTERM: 15}
    for (const signal of Object.keys(numbers)) {
      process.on(signal, () => {
        count++
        if (count >= 3) {
          log.warn(`${signal} again: exiting without finishing cleanup (bench/work, cgroups or daemons may remain)`)
          process.exit(128 + numbers[signal])
        }
        if (count > 1) {
          log.warn(`${signal}: cleanup already running, please wait (send it once more to abort)`)
          return
        }
        log.warn(`${signal}: interrupted, cleaning up before exit`)
        onInterrupt?.()
        this.run().finally(() => {
          const failed = this.report.filter(r => !r.ok)
          log.warn(`cleanup finished after ${signal}${failed.length ? `; failed steps: ${failed.map(r => `${r.step}: ${r.error}`).join('; ')}` : ''}`)
          process.exit(128 + numbers[signal])
        })
      })
    }
  }
}
