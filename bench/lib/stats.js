// Order statistics over milliseconds. p90 uses the nearest-rank method (a value that was actually observed).
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) return {n: 0}
  const mid = Math.floor(n / 2)
  const median = n % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  const mean = sorted.reduce((a, b) => a + b, 0) / n
  const variance = n > 1 ? sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0
  return {n, median, min: sorted[0], max: sorted[n - 1], p90: nearestRank(sorted, 0.9), mean, stdev: Math.sqrt(variance)}
}

export function nearestRank(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

export const round = (x, digits = 2) => (x === undefined || x === null || Number.isNaN(x) ? null : Number(x.toFixed(digits)))

/**
 * The one statistic for "how many times" across every suite: the median of per-round ratios. Every suite
 * runs its cases interleaved (round r runs each case once, in a rotating order), so a[r] and b[r] saw the
 * same state of the machine; dividing within a round cancels the drift between rounds (another job
 * starting, caches, thermal) before the median is taken, which a ratio of two medians taken over
 * different rounds does not. Rounds where either side has no sample are left out of the pairing.
 */
export const RATIO_STATISTIC = 'median of per-round ratios'
export const RATIO_STATISTIC_TEXT = `Ratios ("×") are the ${RATIO_STATISTIC}: each round runs every case once, interleaved, so a case is divided by its reference from the same round (which cancels the drift between rounds) and the median of those quotients is reported. Medians in the tables are of the raw samples; a ratio is therefore not always the quotient of the two medians shown.`

/** {median, n, ratios} of a[r] / b[r] over the rounds where both are finite numbers (b > 0); undefined when none. */
export function pairedRatio(a, b) {
  const ratios = []
  const rounds = Math.min(a?.length ?? 0, b?.length ?? 0)
  for (let r = 0; r < rounds; r++) {
    const x = a[r]
    const y = b[r]
    if (typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y) && y > 0) ratios.push(x / y)
  }
  if (ratios.length === 0) return undefined
  return {median: summarize(ratios).median, n: ratios.length, ratios}
}

/** "1 round", "3 rounds": how many pairs a ratio stands on, beside it. */
export const roundsText = n => `${n} round${n === 1 ? '' : 's'}`
