// Steady HTTP load during a deploy (the deploy suite): every request's outcome with its time, then per-second
// figures and the gap in service. The aggregation is pure (unit-tested in test/unit/bench/load.test.ts);
// `steadyLoad` drives autocannon and records what it saw.
import {nearestRank} from './stats.js'

/** Outcomes of a request, in report order: a success and the four kinds of failure the issue names apart. */
export const FAILURE_KINDS = ['refused', 'reset', 'http5xx', 'timeout', 'other']

/**
 * What a client error says happened: the server's port closed (refused), a connection cut under a request
 * (reset, a broken pipe or an end of stream), no answer within the client's timeout (timeout), or anything else.
 */
export function classifyError(error) {
  const code = error?.code
  if (code === 'ECONNREFUSED') return 'refused'
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return 'reset'
  if (code === 'ETIMEDOUT' || /timed out/i.test(String(error?.message ?? ''))) return 'timeout'
  return 'other'
}

/** A response's outcome from its status code: 5xx is a failure, anything else an answer. */
export const classifyStatus = status => (status >= 500 ? 'http5xx' : 'ok')

/**
 * One row per second of the run (second 0 starts at t = 0): successes, each failure kind, and the p50, p99
 * and max latency of the successful responses that completed in that second (null when none did).
 * `events`: [{t: ms since the start, kind: 'ok' | FAILURE_KINDS, latencyMs?}].
 */
export function perSecond(events, durationMs) {
  const seconds = Math.max(1, Math.ceil(durationMs / 1000))
  const rows = Array.from({length: seconds}, (_, second) => ({second, ok: 0, ...Object.fromEntries(FAILURE_KINDS.map(k => [k, 0])), latencies: []}))
  for (const e of events) {
    if (!(e.t >= 0)) continue
    const row = rows[Math.min(seconds - 1, Math.floor(e.t / 1000))]
    row[e.kind] = (row[e.kind] ?? 0) + 1
    if (e.kind === 'ok' && typeof e.latencyMs === 'number') row.latencies.push(e.latencyMs)
  }
  return rows.map(({latencies, ...row}) => {
    const sorted = latencies.sort((a, b) => a - b)
    return {
      ...row,
      p50: sorted.length ? nearestRank(sorted, 0.5) : null,
      p99: sorted.length ? nearestRank(sorted, 0.99) : null,
      max: sorted.length ? sorted[sorted.length - 1] : null,
    }
  })
}

/**
 * perSecond on a time line whose 0 is the action (`fromMs`, where the load began, is negative): the
 * row labelled `second` holds the events of [second, second + 1) s from the action. Rows counted
 * from the load's start and relabelled would each straddle two of the action's seconds.
 */
export function perSecondAround(events, fromMs, toMs) {
  const base = Math.floor(fromMs / 1000) * 1000
  return perSecond(
    events.map(e => ({...e, t: e.t - base})),
    toMs - base,
  ).map(row => ({...row, second: row.second + base / 1000}))
}

/**
 * The gap in service: the longest interval in [fromMs, toMs] with no successful response, where a
 * success counts at the moment its response completed. Starts and ends of the window count as
 * boundaries, so a service that never answers has the whole window as its gap. {ms, from, to}.
 */
export function serviceGap(events, fromMs, toMs) {
  const okTimes = events
    .filter(e => e.kind === 'ok' && e.t >= fromMs && e.t <= toMs)
    .map(e => e.t)
    .sort((a, b) => a - b)
  const points = [fromMs, ...okTimes, toMs]
  let best = {ms: 0, from: fromMs, to: fromMs}
  for (let i = 1; i < points.length; i++) {
    const ms = points[i] - points[i - 1]
    if (ms > best.ms) best = {ms, from: points[i - 1], to: points[i]}
  }
  return best
}

/** Totals of a run: requests answered, each failure kind, and p50/p99/max over every success. */
export function totals(events) {
  const counts = {ok: 0, ...Object.fromEntries(FAILURE_KINDS.map(k => [k, 0]))}
  const latencies = []
  for (const e of events) {
    counts[e.kind] = (counts[e.kind] ?? 0) + 1
    if (e.kind === 'ok' && typeof e.latencyMs === 'number') latencies.push(e.latencyMs)
  }
  latencies.sort((a, b) => a - b)
  const failed = FAILURE_KINDS.reduce((sum, k) => sum + counts[k], 0)
  return {
    ...counts,
    failed,
    p50: latencies.length ? nearestRank(latencies, 0.5) : null,
    p99: latencies.length ? nearestRank(latencies, 0.99) : null,
    max: latencies.length ? latencies[latencies.length - 1] : null,
  }
}

/** Each figure's worst over rounds (the most failures, the longest gap, the highest latencies), for the summary's max row. */
export function maxOfRounds(measured) {
  const max = pick => Math.max(...measured.map(pick))
  return {
    requests: max(m => m.requests),
    ok: Math.min(...measured.map(m => m.ok)),
    ...Object.fromEntries(FAILURE_KINDS.map(k => [k, max(m => m[k])])),
    gap: {ms: max(m => m.gap.ms)},
    p50: max(m => m.p50 ?? 0),
    p99: max(m => m.p99 ?? 0),
    max: max(m => m.max ?? 0),
    actionMs: max(m => m.actionMs),
  }
}

/** The round with the most failed requests (the first of equals), numbered from 1. */
export function worstRoundOf(measured) {
  let worst = 0
  for (const [i, m] of measured.entries()) if (m.failed > measured[worst].failed) worst = i
  return {round: worst + 1, m: measured[worst]}
}

/**
 * Runs autocannon against `url` with `connections` connections at `rate` requests/s in total until
 * `stop()` is called; resolves {events, durationMs, result} where each event's t is ms since the start
 * (process.hrtime); `now()` reads the same clock, so callers mark their actions on the same time line.
 *
 * Two of autocannon's habits would misreport an outage, so each client is adjusted (setupClient):
 * - after a connection error it reconnects at once, a hot loop of thousands of attempts a second while a
 *   port is closed: here it waits one request interval of its connection first, so a refused attempt
 *   stands for one request at the offered rate;
 * - its rate limit sends each second's requests in one burst: here each connection sends one request
 *   every connections/rate seconds (and, like autocannon, never more than one at a time);
 * - after a response that says `Connection: close` it sends the next request on that connection
 *   (lost when the server closes it): here it opens a new one first, as HTTP clients do;
 * - it keeps the requests of a failed or ended connection queued, so later responses were timed from the
 *   oldest of them (latencies growing for the rest of the run): here they are dropped on an error, and on
 *   the server ending a connection each request still waiting on it is recorded as reset, unless the
 *   server had announced the end (`Connection: close`, as puma does when its threads are busy).
 */
export async function steadyLoad({url, connections = 8, rate = 200, timeoutS = 10, maxSeconds = 120}) {
  const {default: autocannon} = await import('autocannon')
  const start = process.hrtime.bigint()
  const now = () => Number(process.hrtime.bigint() - start) / 1e6
  const events = []
  const retryMs = (1000 * connections) / rate
  const setupClient = client => {
    const connect = client._connect
    let retryAt = 0
    // Whether a response on the current connection announced its end (`Connection: close`, as puma
    // does when its threads are busy): a client that honours it (autocannon does not) would not
    // have sent the request that then meets the close, so that one is no failure.
    let announced = false
    client.on('connError', error => {
      const pending = client.pipelinedRequests.size()
      if (!(announced && error?.code === 'ECONNRESET'))
        events.push({t: now(), kind: classifyError(error), error: error?.code ?? String(error?.message ?? error), pending})
      client.pipelinedRequests.clear()
      retryAt = now() + retryMs
    })
    client.on('timeout', () => events.push({t: now(), kind: 'timeout', error: `no answer in ${timeoutS} s`}))
    // After `Connection: close` a client that follows HTTP (a browser, a proxy) sends its next
    // request on a new connection; autocannon would send it on the closing one, where it is lost
    // and still spends one of the connection's requests of that second (a dip that is no outage).
    const doRequest = client._doRequest
    // Evenly paced, one request every retryMs per connection: autocannon's own rate limit sends a
    // second's requests at once and then waits for the next second, so the service looked idle
    // for most of every second (a "gap" of about 900 ms against a fast server) and requests
    // queued behind each other (the p99).
    let nextAt = 0
    let paced
    client._doRequest = function (...args) {
      if (client.destroyed) return undefined
      if (announced) return client._resetConnection()
      const wait = nextAt - now()
      if (wait > 0) {
        paced ??= setTimeout(() => {
          paced = undefined
          client._doRequest(...args)
        }, wait)
        return undefined
      }
      // A late request does not make the next ones come faster: no bursts to catch up.
      nextAt = Math.max(nextAt, now() - retryMs) + retryMs
      return doRequest.apply(this, args)
    }
    client._connect = function () {
      const go = () => {
        if (client.destroyed) return
        announced = false
        // A new connection carries its request at once, as a client connects when it has one to
        // send: one held back for the pace would sit idle in the server, which may close it so.
        clearTimeout(paced)
        paced = undefined
        nextAt = 0
        connect.call(client)
        client.conn.prependListener('data', chunk => {
          if (/\r\nconnection: *close\r\n/i.test(chunk.toString('latin1'))) announced = true
        })
        client.conn.prependListener('end', () => {
          if (!announced)
            for (let i = client.pipelinedRequests.size(); i > 0; i--)
              events.push({t: now(), kind: 'reset', error: 'connection ended by the server under a request'})
          client.pipelinedRequests.clear()
        })
      }
      const wait = retryAt - now()
      if (wait > 0) setTimeout(go, wait)
      else go()
    }
  }
  let finish
  const done = new Promise((resolve, reject) => {
    const instance = autocannon({url, connections, timeout: timeoutS, duration: maxSeconds, pipelining: 1, setupClient}, (error, result) =>
      error ? reject(error) : resolve(result),
    )
    instance.on('response', (_client, status, _bytes, latencyMs) => events.push({t: now(), kind: classifyStatus(status), latencyMs, status}))
    finish = () => instance.stop()
  })
  return {
    now,
    /** The events so far (the live list: read, do not change). */
    events,
    /** Stops the load; resolves the events and autocannon's own summary. */
    stop: async () => {
      finish()
      const result = await done
      return {events, durationMs: now(), result}
    },
  }
}
