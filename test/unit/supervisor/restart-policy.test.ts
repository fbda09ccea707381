import t from 'tap'
import {DEFAULT_BACKOFF, type BackoffConfig, type RestartConfig} from '../../../src/config/supervision.js'
import {backoffDelay, decideRestart, type RunEnd} from '../../../src/supervisor/restart-policy.js'

/** No jitter unless a test asks for it, so delays are exact. */
const backoff = (overrides: Partial<BackoffConfig> = {}): BackoffConfig => ({...DEFAULT_BACKOFF, jitter: 0, ...overrides})
const crashed: RunEnd = {exitCode: 1, stoppedByUser: false}
const succeeded: RunEnd = {exitCode: 0, stoppedByUser: false}
const killed: RunEnd = {exitCode: 137, stoppedByUser: false}
const stopped = (exitCode: number): RunEnd => ({exitCode, stoppedByUser: true})
const midpoint = () => 0.5

const no: RestartConfig = {policy: 'no'}
const onFailure: RestartConfig = {policy: 'on-failure'}
const always: RestartConfig = {policy: 'always'}
const unlessStopped: RestartConfig = {policy: 'unless-stopped'}

t.test('no: never restarts, whatever the exit', async t => {
  for (const end of [crashed, succeeded, killed])
    t.strictSame(decideRestart(no, backoff(), end, 0, midpoint), {restart: false, reason: 'policy'}, `exit ${end.exitCode}`)
})

t.test('on-failure: restarts a non-zero exit (a signal too), not exit 0', async t => {
  t.strictSame(decideRestart(onFailure, backoff(), crashed, 0, midpoint), {restart: true, delayMs: 100})
  t.strictSame(decideRestart(onFailure, backoff(), killed, 0, midpoint), {restart: true, delayMs: 100}, '128+9 is a failure')
  t.strictSame(decideRestart(onFailure, backoff(), succeeded, 0, midpoint), {restart: false, reason: 'policy'})
  t.strictSame(decideRestart(onFailure, backoff(), crashed, 500, midpoint), {restart: true, delayMs: 60_000}, 'without N it never gives up')
})

t.test('on-failure:N: N restarts, then gives up', async t => {
  const three: RestartConfig = {policy: 'on-failure', maxRetries: 3}
  const decisions = [0, 1, 2, 3, 4].map(n => decideRestart(three, backoff(), crashed, n, midpoint))
  t.strictSame(decisions, [
    {restart: true, delayMs: 100},
    {restart: true, delayMs: 200},
    {restart: true, delayMs: 400},
    {restart: false, reason: 'gave-up'},
    {restart: false, reason: 'gave-up'},
  ])
  t.strictSame(decideRestart(three, backoff(), succeeded, 3, midpoint), {restart: false, reason: 'policy'}, 'exit 0 after giving up is still "policy"')
  t.strictSame(
    decideRestart({policy: 'on-failure', maxRetries: 1}, backoff(), crashed, 0, midpoint),
    {restart: true, delayMs: 100},
    'on-failure:1 restarts once',
  )
  t.strictSame(decideRestart({policy: 'on-failure', maxRetries: 1}, backoff(), crashed, 1, midpoint), {restart: false, reason: 'gave-up'})
})

t.test('always: restarts after exit 0 too, and never gives up', async t => {
  t.strictSame(decideRestart(always, backoff(), succeeded, 0, midpoint), {restart: true, delayMs: 100})
  t.strictSame(decideRestart(always, backoff(), crashed, 0, midpoint), {restart: true, delayMs: 100})
  t.strictSame(
    decideRestart({policy: 'always', maxRetries: 1}, backoff(), crashed, 5, midpoint),
    {restart: true, delayMs: 3200},
    'a retry count only binds on-failure',
  )
})

t.test('unless-stopped: restarts any exit, like always', async t => {
  t.strictSame(decideRestart(unlessStopped, backoff(), succeeded, 0, midpoint), {restart: true, delayMs: 100})
  t.strictSame(decideRestart(unlessStopped, backoff(), crashed, 2, midpoint), {restart: true, delayMs: 400})
})

t.test('an app its user stopped is never restarted, by any policy', async t => {
  for (const policy of [no, onFailure, {policy: 'on-failure', maxRetries: 3} as RestartConfig, always, unlessStopped]) {
    for (const exitCode of [0, 1, 143]) {
      t.strictSame(
        decideRestart(policy, backoff(), stopped(exitCode), 0, midpoint),
        {restart: false, reason: 'stopped'},
        `${policy.policy}${policy.maxRetries ? `:${policy.maxRetries}` : ''}, exit ${exitCode}`,
      )
    }
  }
  t.strictSame(
    decideRestart({policy: 'on-failure', maxRetries: 1}, backoff(), stopped(1), 9, midpoint),
    {restart: false, reason: 'stopped'},
    'stopped wins over gave-up',
  )
})

t.test('backoffDelay: initial × factor^n, capped at max', async t => {
  const b = backoff({initialMs: 100, factor: 2, maxMs: 1000})
  t.strictSame(
    [0, 1, 2, 3, 4, 5, 10, 60].map(n => backoffDelay(b, n, midpoint)),
    [100, 200, 400, 800, 1000, 1000, 1000, 1000],
  )
  t.strictSame(
    [0, 1, 2, 3].map(n => backoffDelay(backoff({initialMs: 50, factor: 3, maxMs: 60_000}), n, midpoint)),
    [50, 150, 450, 1350],
    'factor 3',
  )
  t.strictSame(
    [0, 1, 7].map(n => backoffDelay(backoff({initialMs: 250, factor: 1, maxMs: 60_000}), n, midpoint)),
    [250, 250, 250],
    'factor 1: a constant delay',
  )
  t.equal(backoffDelay(backoff({initialMs: 100, factor: 1.5, maxMs: 60_000}), 3, midpoint), 338, 'rounded to whole ms (337.5)')
  t.equal(backoffDelay(backoff({initialMs: 100, factor: 2, maxMs: 60_000}), 2000, midpoint), 60_000, 'factor^n overflowing to Infinity still gives max')
})

t.test('the defaults: 100 ms, doubling, a minute at most', async t => {
  const delays = Array.from({length: 12}, (_, n) => backoffDelay(backoff(), n, midpoint))
  t.strictSame(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 60_000, 60_000])
  for (let n = 1; n < delays.length; n++) t.ok(delays[n] >= delays[n - 1], `never shrinks (${n})`)
})

t.test('jitter: random() = 0 takes jitter off, 1 adds it, 0.5 leaves the delay alone', async t => {
  const b = backoff({initialMs: 1000, factor: 2, maxMs: 60_000, jitter: 0.1})
  t.equal(
    backoffDelay(b, 0, () => 0),
    900,
  )
  t.equal(
    backoffDelay(b, 0, () => 0.5),
    1000,
  )
  t.equal(
    backoffDelay(b, 0, () => 0.999999),
    1100,
  )
  t.equal(
    backoffDelay(b, 2, () => 0),
    3600,
    'jitter scales with the grown delay',
  )
  t.equal(
    backoffDelay(b, 2, () => 0.999999),
    4400,
  )
  t.equal(
    backoffDelay(backoff({initialMs: 1000, jitter: 1}), 0, () => 0),
    0,
    'jitter 1 can take the whole delay off, never below 0',
  )
})

t.test('jitter: every delay stays within ±jitter of the base, and never above max', async t => {
  const b = backoff({initialMs: 100, factor: 2, maxMs: 5000, jitter: 0.25})
  let seed = 42
  // A small deterministic generator (LCG), so a failure can be reproduced.
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
  for (let n = 0; n < 10; n++) {
    const base = Math.min(5000, 100 * 2 ** n)
    const delays = Array.from({length: 200}, () => backoffDelay(b, n, random))
    const low = Math.min(...delays)
    const high = Math.max(...delays)
    t.ok(low >= Math.floor(base * 0.75) && high <= Math.min(5000, Math.ceil(base * 1.25)), `n=${n}: ${low}..${high} within ${base} ±25%, ≤ 5000`)
    if (base < 5000) t.ok(high - low > base * 0.25, `n=${n}: the delays actually spread (${low}..${high})`)
  }
  t.equal(
    backoffDelay(b, 20, () => 0.999999),
    5000,
    'at the cap, jitter only takes off',
  )
  t.equal(
    backoffDelay(b, 20, () => 0),
    3750,
  )
})

t.test('decideRestart passes its random to the delay', async t => {
  const b = backoff({initialMs: 1000, jitter: 0.5})
  t.strictSame(
    decideRestart(always, b, crashed, 0, () => 0),
    {restart: true, delayMs: 500},
  )
  t.strictSame(
    decideRestart(always, b, crashed, 0, () => 0.999999),
    {restart: true, delayMs: 1500},
  )
})

t.test('backoff with initial 0 (restart at once) stays 0 however many restarts in a row', async t => {
  const immediate = backoff({initialMs: 0, maxMs: 60_000, factor: 2, jitter: 0.1})
  t.strictSame(
    [0, 1, 10, 100].map(n => backoffDelay(immediate, n, midpoint)),
    [0, 0, 0, 0],
  )
})

t.test('backoff with initial 0 is still 0 after 1024+ restarts in a row (0 × 2^1100 must not be NaN)', async t => {
  const immediate = backoff({initialMs: 0, maxMs: 60_000, factor: 2, jitter: 0.1})
  t.equal(backoffDelay(immediate, 1100, midpoint), 0)
  t.equal(backoffDelay(backoff({initialMs: 100, maxMs: 60_000}), 1100, midpoint), 60_000, 'and a non-zero one is max')
})
