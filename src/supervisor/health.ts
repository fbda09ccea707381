import {connect} from 'node:net'
import type {HealthcheckConfig} from '../config/supervision.js'

export const Health = {none: 'none', starting: 'starting', healthy: 'healthy', unhealthy: 'unhealthy'} as const
export type Health = (typeof Health)[keyof typeof Health]

/** One probe: resolves true when healthy. Command probes run inside the app (see execInApp). */
export type Probe = (timeoutMs: number) => Promise<boolean>

/** GET the URL; healthy on 2xx and 3xx, as load balancers and Kamal read Rails' /up. */
export function httpProbe(url: string): Probe {
  // node:http is loaded at the first probe, after the app has started, not before its exec.
  return async timeoutMs => {
    const {request} = await import('node:http')
    return new Promise(resolve => {
      const req = request(url, {method: 'GET', timeout: timeoutMs}, response => {
        response.resume()
        resolve((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 400)
      })
      req.on('timeout', () => req.destroy())
      req.on('error', () => resolve(false))
      req.end()
    })
  }
}

/** Healthy when HOST:PORT accepts a connection. */
export function tcpProbe(target: string): Probe {
  const separator = target.lastIndexOf(':')
  const host = target.slice(0, separator).replace(/^\[|\]$/g, '')
  const port = Number(target.slice(separator + 1))
  return timeoutMs =>
    new Promise(resolve => {
      const socket = connect({host, port, timeout: timeoutMs})
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('timeout', () => {
        socket.destroy()
        resolve(false)
      })
      socket.once('error', () => resolve(false))
    })
}

/**
 * Docker's healthcheck rhythm: the first probe after `interval`, failures during `start_period`
 * do not count, `retries` failures in a row make the app unhealthy, one success makes it healthy.
 */
export class HealthMonitor {
  health: Health = Health.starting
  private failures = 0
  private timer?: NodeJS.Timeout
  private readonly startedAt = Date.now()

  constructor(private readonly config: HealthcheckConfig, private readonly probe: Probe, private readonly onChange: (health: Health) => void) {}

  start(): void {
    this.schedule()
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.check(), this.config.intervalMs)
    this.timer.unref()
  }

  private async check(): Promise<void> {
    const healthy = await this.probe(this.config.timeoutMs).catch(() => false)
    if (this.timer === undefined) return // stopped while probing
    if (healthy) {
      this.failures = 0
      this.set(Health.healthy)
    } else if (Date.now() - this.startedAt >= this.config.startPeriodMs) {
      this.failures++
      if (this.failures >= this.config.retries) this.set(Health.unhealthy)
    }
    this.schedule()
  }

  private set(health: Health): void {
    if (health === this.health) return
    this.health = health
    this.onChange(health)
  }
}
