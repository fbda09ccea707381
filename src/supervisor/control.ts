import {chmodSync, closeSync, openSync, rmSync} from 'node:fs'
import {createConnection, createServer, type Server} from 'node:net'
import {basename, dirname} from 'node:path'
import {ContainError, renderError} from '../errors.js'

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

type Handler = (params: Record<string, unknown>) => Promise<unknown> | unknown

/** The supervisor's control socket: only its owner may connect (mode 0600). */
export async function serveControl(path: string, handlers: Record<string, Handler>): Promise<Server> {
  rmSync(path, {force: true})
  const server = createServer(connection => {
    let buffer = ''
    connection.setEncoding('utf8')
    connection.on('error', () => undefined)
    connection.on('data', async chunk => {
      buffer += chunk
      const newline = buffer.indexOf('\n')
      if (newline === -1) return
      let response: unknown
      try {
        const request = JSON.parse(buffer.slice(0, newline)) as ControlRequest
        const handler = handlers[request.method]
        if (!handler) throw new ContainError(`unknown control request ${JSON.stringify(request.method)}`)
        response = {result: (await handler(request.params ?? {})) ?? null}
      } catch (error) {
        const {message, exitCode} = renderError(error)
        response = {error: {message, exitCode}}
      }
      connection.end(`${JSON.stringify(response)}\n`)
    })
  })
  const socket = reachable(path)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(socket.path, () => resolve())
    })
    chmodSync(path, 0o600)
  } catch (error) {
    server.close()
    throw new ContainError(`cannot open the control socket ${path}: ${(error as Error).message}`, {fix: 'check that the state directory (CONTAIN_STATE_DIR) is writable', cause: error})
  } finally {
    socket.release()
  }
  return server
}

/** Sends one request to a supervisor and returns its result; its errors come back as ContainError. */
export function callControl<T>(path: string, method: string, params: Record<string, unknown> = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const socket = reachable(path)
    const connection = createConnection(socket.path)
    connection.once('close', () => socket.release())
    let buffer = ''
    connection.setEncoding('utf8')
    connection.on('connect', () => connection.write(`${JSON.stringify({method, params})}\n`))
    connection.on('data', chunk => (buffer += chunk))
    connection.on('error', error => reject(new ContainError(`cannot reach the supervisor at ${path}: ${error.message}`, {fix: 'start the project with contain up', cause: error})))
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
