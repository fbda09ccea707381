// Interleaved wall-clock measurement: round r runs case A, B, C, ... once each, starting at a different case
// each round, so drift on the machine (other work, thermal, page cache) hits every tool alike and no tool
// always runs first. samples[key][r] is round r's time (null when that run failed), so ratios can be
// paired by round (stats.pairedRatio). Each sample is process.hrtime.bigint() around a
// spawn of the command and the wait for its exit, with stdio ignored.
import {spawn} from 'node:child_process'
import {loadavg} from 'node:os'
import {log} from './log.js'
import {killPid, run, tail} from './proc.js'
import {rotate} from './suite.js'

const live = new Set()
let stopping = false

/** Stop measuring (SIGINT): kill the child in flight, by PID. */
export function abortMeasurements() {
  stopping = true
  for (const child of live) if (child.pid) killPid(child.pid, 'SIGKILL')
}

/** One timed spawn-and-wait. Resolves {ms, code, signal, error}. */
export function timeOnce({argv, env, cwd}) {
  return new Promise(resolve => {
    const start = process.hrtime.bigint()
    let child
    try {
      child = spawn(argv[0], argv.slice(1), {stdio: 'ignore', env, cwd})
    } catch (error) {
      resolve({ms: NaN, code: null, signal: null, error: error.message})
      return
    }
    live.add(child)
    child.once('error', error => {
      live.delete(child)
      resolve({ms: NaN, code: null, signal: null, error: error.message})
    })
    child.once('exit', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6
      live.delete(child)
      resolve({ms, code, signal})
    })
  })
}

/** Same command with output captured, to explain why a case failed. */
async function explainFailure(c) {
  const r = await run(c.argv[0], c.argv.slice(1), {env: c.env ?? process.env, cwd: c.cwd, timeout: 120_000, extendEnv: false})
  return `exit ${r.exitCode ?? 'n/a'}: ${tail(r.all || r.error || '(no output)', 500)}`
}

/**
 * @param {{key: string, argv: string[], env?: object, cwd?: string}[]} cases
 * @param {{rounds: number, warmup: number}} options
 * @returns {Promise<{samples: Record<string, (number|null)[]>, failures: Record<string, {round: number, code: any, signal: any, error?: string}[]>, dropped: Record<string, string>, order: string[], roundLoad: number[]}>}
 */
export async function measureInterleaved(cases, {rounds, warmup}) {
  const samples = Object.fromEntries(cases.map(c => [c.key, []]))
  const failures = Object.fromEntries(cases.map(c => [c.key, []]))
  const dropped = {}
  let active = [...cases]

  // Warm-up, interleaved as well; a case that cannot run at all is dropped with the reason.
  for (let w = 0; w < warmup && !stopping; w++) {
    for (const c of [...active]) {
      if (stopping) break
      const r = await timeOnce(c)
      if (r.code !== 0) {
        dropped[c.key] =
          `failed during warm-up (${r.error ?? (r.signal ? `signal ${r.signal}` : `exit ${r.code}`)}); rerun with output: ${await explainFailure(c)}`
        log.warn(`${c.key}: ${dropped[c.key]}`)
        active = active.filter(x => x !== c)
      }
    }
  }

  const roundLoad = []
  for (let round = 1; round <= rounds && !stopping; round++) {
    const started = Date.now()
    roundLoad.push(Number(loadavg()[0].toFixed(2)))
    for (const c of rotate(active, round - 1)) {
      if (stopping) break
      const r = await timeOnce(c)
      samples[c.key][round - 1] = r.code === 0 ? r.ms : null
      if (r.code !== 0) failures[c.key].push({round, code: r.code, signal: r.signal, ...(r.error ? {error: r.error} : {})})
    }
    log.info(`round ${round}/${rounds} done in ${((Date.now() - started) / 1000).toFixed(1)}s`)
  }
  if (stopping) throw new Error('interrupted')
  return {samples, failures, dropped, order: active.map(c => c.key), roundLoad}
}
