import {spawn} from 'node:child_process'
import type {Socket} from 'node:net'
import {ContainError} from '../errors.js'
import {initPath} from '../paths.js'
import {HELPER_ENV} from '../launch/plan.js'

/** Who holds the other end of a connected unix socket, as the kernel recorded it. */
export interface PeerCredentials {
  uid: number
  gid: number
  pid: number
}

/** contain-init peercred's one line: "UID GID PID". */
export function parsePeerCredentials(text: string): PeerCredentials | undefined {
  const match = /^(\d+) (\d+) (-?\d+)\n?$/.exec(text)
  return match ? {uid: Number(match[1]), gid: Number(match[2]), pid: Number(match[3])} : undefined
}

/**
 * The credentials of the process serving `connection`. Node cannot read SO_PEERCRED, so the
 * connected socket itself is handed to contain-init (as its fd 3), which asks the kernel: the
 * answer is about this very connection, not about whoever holds the path now, and the peer
 * cannot forge it (the kernel took it when the server called listen). It costs one start of a
 * small static program per client command; `contain run` never calls it.
 */
export function peerCredentials(connection: Socket, init = initPath()): Promise<PeerCredentials> {
  return new Promise((resolve, reject) => {
    const failed = (why: string, cause?: unknown) =>
      reject(
        new ContainError(`cannot check who serves the control socket: ${why}`, {fix: "build contain's native helper (npm run build) and try again", cause}),
      )
    const child = spawn(init, ['peercred', '3'], {env: HELPER_ENV, stdio: ['ignore', 'pipe', 'pipe', connection]})
    let output = ''
    let errors = ''
    child.stdout?.setEncoding('utf8').on('data', chunk => (output += chunk))
    child.stderr?.setEncoding('utf8').on('data', chunk => (errors += chunk))
    child.once('error', error => failed(error.message, error))
    child.once('close', code => {
      const credentials = parsePeerCredentials(output)
      if (code === 0 && credentials) resolve(credentials)
      else failed(errors.trim() || `contain-init peercred exited ${code}`)
    })
  })
}

/**
 * A supervisor is root's or the caller's own. Anything else at the socket's path (a socket
 * another user bound and slipped in) is refused before a request is sent or a reply believed.
 */
export function checkPeer(path: string, peer: PeerCredentials, uid = process.getuid?.() ?? 0): void {
  if (peer.uid === 0 || peer.uid === uid) return
  throw new ContainError(
    `the control socket ${path} is served by uid ${peer.uid} (pid ${peer.pid}), not by root or by you (uid ${uid}): contain does not talk to it`,
    {
      fix: `another user's process serves this project's socket; stop it (pid ${peer.pid}), remove ${path}, and start the project again with contain up`,
    },
  )
}
