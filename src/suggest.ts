/** "Did you mean" for flags, keys, capabilities and syscall names. */

/** Optimal string alignment distance: a typo, a missing letter or two swapped neighbours cost 1. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1)
    }
  }
  return rows[a.length][b.length]
}

/** The candidates within `limit` edits of `value` (ignoring case), nearest first, then by name. */
export function nearest(value: string, candidates: Iterable<string>, limit: number): string[] {
  const wanted = value.toLowerCase()
  return [...candidates]
    .map(candidate => ({candidate, distance: editDistance(wanted, candidate.toLowerCase())}))
    .filter(({distance}) => distance <= limit)
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .map(({candidate}) => candidate)
}
