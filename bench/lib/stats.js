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
