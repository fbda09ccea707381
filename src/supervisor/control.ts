import {chmodSync, closeSync, openSync, rmSync} from 'node:fs'
import {createConnection, createServer, type Server, type Socket} from 'node:net'
import {basename, dirname} from 'node:path'
import {ContainError, renderError} from '../errors.js'
import {checkPeer, peerCredentials} from './peer.js'
import {securePrivateDir} from './state.js'

/** sockaddr_un holds 108 bytes; longer paths would be silently cut short. */
const MAX_SOCKET_PATH = 100

/**
 * A socket path short enough to bind or connect to. A long one is reached through an open
 * descriptor of its directory (/proc/self/fd/N/NAME), so the socket stays where its directory's
 * permissions protect it. `release` closes that descriptor.
 */
function reachable(path: string): {path: string; release(): void} {
  if (Buffer.byteLength(path) <= MAX_SOCKET_PATH) return {path, release: () => {}}
  const fd = openSync(dirname(path), 'r')
  return {path: `/proc/self/fd/${fd}/${basename(path)}`, release: () => closeSync(fd)}
}

/** One request per connection, one JSON line each way. */
export interface ControlRequest {
  method: string
  params?: Record<string, unknown>
}

/** Returns the result, or a promise of it. */
type Handler = (params: Record<string, unknown>) => unknown

/** The response to one request line: the handler's result, or the error it ended with (never a rejection). */
async function answer(handlers: Record<string, Handler>, line: string): Promise<unknown> {
  try {
    const request = JSON.parse(line) as ControlRequest
    // Own keys only: "constructor" or "__proto__" must not reach Object's members.
    const handler = typeof request.method === 'string' && Object.hasOwn(handlers, request.method) ? handlers[request.method] : undefined
    if (!handler) throw new ContainError(`unknown control request ${JSON.stringify(request.method)}`)
    return {result: (await handler(request.params ?? {})) ?? null}
  } catch (error) {
    const {message, exitCode} = renderError(error)
    return {error: {message, exitCode}}
  }
}

/** The supervisor's control socket: only its owner may connect (mode 0600). */
export async function serveControl(path: string, handlers: Record<string, Handler>): Promise<Server> {
  securePrivateDir(dirname(path))
  rmSync(path, {force: true})
  const server = createServer(connection => {
    let buffer = ''
    let handled = false
    connection.setEncoding('utf8')
    connection.on('error', () => undefined)
    connection.on('data', (chunk: string) => {
      if (handled) return
      buffer += chunk
      const newline = buffer.indexOf('\n')
      if (newline === -1) return
      // One request per connection: bytes after it are read and dropped, never run again.
      handled = true
      void answer(handlers, buffer.slice(0, newline)).then(response => connection.end(`${JSON.stringify(response)}\n`))
    })
  })
  let socket: {path: string; release(): void} | undefined
  try {
    socket = reachable(path)
    const listenPath = socket.path
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(listenPath, () => resolve())
    })
    chmodSync(path, 0o600)
  } catch (error) {
    server.close()
    throw new ContainError(`cannot open the control socket ${path}: ${(error as Error).message}`, {
      fix: 'check that the state directory (CONTAIN_STATE_DIR) is writable',
      cause: error,
    })
  } finally {
    socket?.release()
  }
  return server
}

/**
 * Sends one request to a supervisor and returns its result; its errors come back as ContainError.
 * The request goes out only once the peer's credentials say it is root or this user (see peer.ts).
 */
export function callControl<T>(
  path: string,
  method: string,
  params: Record<string, unknown> = {},
  peerCheck: (connection: Socket) => Promise<void> = connection => peerCredentials(connection).then(peer => checkPeer(path, peer)),
): Promise<T> {
  return new Promise((resolve, reject) => {
    const unreachable = (error: Error) =>
      new ContainError(`cannot reach the supervisor at ${path}: ${error.message}`, {fix: 'start the project with contain up', cause: error})
    let socket: {path: string; release(): void}
    try {
      socket = reachable(path)
    } catch (error) {
      return reject(unreachable(error as Error))
    }
    const connection = createConnection(socket.path)
    connection.once('close', () => socket.release())
    let buffer = ''
    connection.setEncoding('utf8')
    connection.on('connect', () => {
      peerCheck(connection).then(
        () => {
          // Handing the socket to a child process stopped Node's reading of it: read again.
          connection.resume()
          connection.write(`${JSON.stringify({method, params})}\n`)
        },
        (error: Error) => {
          // Refused: nothing is sent, and nothing it says counts.
          connection.removeAllListeners('end')
          connection.destroy()
          reject(error)
        },
      )
    })
    connection.on('data', (chunk: string) => (buffer += chunk))
    connection.on('error', error => reject(unreachable(error)))
    connection.on('end', () => {
      try {
        const response = JSON.parse(buffer) as {result?: T; error?: {message: string; exitCode: number}}
        if (response.error) reject(new ContainError(response.error.message.replace(/^contain: /, ''), {exitCode: response.error.exitCode}))
        else resolve(response.result as T)
      } catch (error) {
        reject(new ContainError(`the supervisor at ${path} answered nonsense`, {cause: error}))
      }
    })
  })
}
