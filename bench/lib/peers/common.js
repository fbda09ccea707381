// Shared bits of the peer definitions.

/** Thrown by a peer's prepare() when it cannot be measured on this machine; the message is the reason. */
export class Unavailable extends Error {}

/** Which Debian packages must be installed for a peer; turns a failed install into Unavailable. */
export function requirePackages(ctx, packages) {
  for (const name of packages) {
    const s = ctx.packages[name]
    if (!s) continue
    if (s.status === 'missing' || s.status === 'failed') throw new Unavailable(`Debian package ${name} unavailable: ${s.reason}`)
  }
}

export function firstLine(text) {
  return String(text ?? '')
    .trim()
    .split('\n')[0]
}
