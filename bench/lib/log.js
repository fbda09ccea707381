// Tiny stderr logger: the bench prints progress to stderr and keeps stdout for the final summary.
const started = Date.now()

function stamp() {
  return `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s]`
}

export const log = {
  info: (...args) => console.error(stamp(), ...args),
  warn: (...args) => console.error(stamp(), 'warning:', ...args),
  step: title => console.error(`${stamp()} == ${title}`),
}
