import {connect, type Socket} from 'node:net'
import type {HealthcheckConfig} from '../config/supervision.js'

export const Health = {none: 'none', starting: 'starting', healthy: 'healthy', unhealthy: 'unhealthy'} as const
export type Health = (typeof Health)[keyof typeof Health]

/**
 * One probe: resolves true when healthy; undefined when it reached another instance of the app
 * than the one it checks (see probe-owner.ts), which says nothing either way. Command probes run
 * inside the app (see execInApp).
 */
export type Probe = (timeoutMs: number) => Promise<boolean | undefined>

/**
 * Whether a connected probe reached the instance it checks: resolves once known (the peer has
 * accepted it). Without one, any answer counts.
 */
export type ProbeOwner = (socket: Socket, deadline: number) => Promise<boolean | undefined>

/**
 * GET the URL; healthy on 2xx and 3xx, as load balancers and Kamal read Rails' /up. Only the
 * status line counts: the body is never read (a 1 GB answer costs nothing), and the whole probe,
 * slow headers included, ends at the timeout.
 */
export function httpProbe(url: string, owner?: ProbeOwner): Probe {
  // node:http is loaded at the first probe, after the app has started, not before its exec.
  return async timeoutMs => {
    const {request} = await import('node:http')
    return new Promise(resolve => {
      const deadline = Date.now() + timeoutMs
      // agent: false, so the request waits for end() until the owner is known: nothing is sent to another instance.
      const req = request(url, {method: 'GET', timeout: timeoutMs, maxHeaderSize: 16 * 1024, agent: false}, response => {
        clearTimeout(timer)
        response.destroy()
        req.destroy()
        resolve((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 400)
      })
      // Declared after the request: its callbacks, which clear it, run only once this line has.
      const timer = setTimeout(() => req.destroy(), timeoutMs)
      req.on('timeout', () => req.destroy())
      req.on('error', () => resolve(false))
      req.on('close', () => {
        clearTimeout(timer)
        resolve(false)
      })
      if (!owner) return void req.end()
      req.once('socket', socket =>
        socket.once('connect', () => {
          owner(socket, deadline).then(
            ours => {
              if (ours) return void req.end()
              resolve(ours === false ? undefined : false) // another instance's: no verdict; nobody accepted: failed
              req.destroy()
            },
            () => req.destroy(),
          )
        }),
      )
    })
  }
}

/** Healthy when HOST:PORT accepts a connection. */
export function tcpProbe(target: string, owner?: ProbeOwner): Probe {
  const separator = target.lastIndexOf(':')
  const host = target.slice(0, separator).replace(/^\[|\]$/g, '')
  const port = Number(target.slice(separator + 1))
  return timeoutMs =>
    new Promise(resolve => {
      const socket = connect({host, port, timeout: timeoutMs})
      socket.once('connect', () => {
        if (!owner) {
          socket.destroy()
          return resolve(true)
        }
        owner(socket, Date.now() + timeoutMs).then(
          ours => {
            socket.destroy()
            resolve(ours === false ? undefined : ours === true)
          },
          () => {
            socket.destroy()
            resolve(false)
          },
        )
      })
      socket.once('timeout', () => {
        socket.destroy()
        resolve(false)
      })
      socket.once('error', () => resolve(false))
    })
}

/** How long past its timeout a probe may take before it counts as failed. */
const PROBE_MARGIN_MS = 3000

/**
 * Docker's healthcheck rhythm: the first probe after `interval`, failures during `start_period`
 * do not count, `retries` failures in a row make the app unhealthy, one success makes it healthy.
 */
export class HealthMonitor {
  health: Health = Health.starting
  private failures = 0
  private timer?: NodeJS.Timeout
  private readonly startedAt = Date.now()

  constructor(
    private readonly config: HealthcheckConfig,
    private readonly probe: Probe,
    private readonly onChange: (health: Health) => void,
  ) {}

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
    // The probe ends itself at the timeout; this bounds a probe that does not, so a check never stalls the rhythm.
    let guard: NodeJS.Timeout | undefined
    const outer = new Promise<boolean>(resolve => (guard = setTimeout(resolve, this.config.timeoutMs + PROBE_MARGIN_MS, false)))
    const healthy = await Promise.race([this.probe(this.config.timeoutMs).catch(() => false), outer])
    clearTimeout(guard)
    if (this.timer === undefined) return // stopped while probing
    if (healthy === undefined) {
      // Answered by another instance of the app: no verdict on this one; it is asked again.
      this.schedule()
      return
    }
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
