// `listen()`: the emulator on a real loopback HTTP server. @hono/node-server turns node:http into
// Fetch requests (its `request.signal` aborts when the client disconnects); the response is written
// here, on the raw `outgoing`, so faults can act on the socket (reset, an unclean end for `drop`).
import type { Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { HttpBindings } from '@hono/node-server'
import type { EmulatorListenOptions, EmulatorServer } from './emulator-types'

export interface NodeTransport {
  kind: 'node'
  /** Destroys the connection before any byte was answered. */
  reset(): void
}

type Handler = (request: Request, transport: NodeTransport) => Promise<Response | null>

/** Tells @hono/node-server the response was written already. */
const ALREADY_SENT = { 'x-hono-already-sent': 'true' }

function drainOrClose(outgoing: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      outgoing.off('drain', done)
      outgoing.off('close', done)
      resolve()
    }
    outgoing.on('drain', done)
    outgoing.on('close', done)
  })
}

async function writeResponse(
  response: Response,
  outgoing: ServerResponse,
  isCut: () => boolean,
): Promise<void> {
  if (outgoing.destroyed) {
    await response.body?.cancel().catch(() => {})
    return
  }
  const headers: Record<string, string> = {}
  response.headers.forEach((value, key) => {
    headers[key] = value
  })
  outgoing.writeHead(response.status, headers)
  if (!response.body) {
    outgoing.end()
    return
  }
  outgoing.flushHeaders()
  const reader = response.body.getReader()
  const onClose = () => {
    reader.cancel(new Error('client disconnected')).catch(() => {})
  }
  outgoing.once('close', onClose)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!outgoing.write(value)) await drainOrClose(outgoing)
      if (outgoing.destroyed) return
    }
    // `drop`: end the socket without the terminating chunk, so the client sees a truncated body.
    if (isCut()) outgoing.socket?.end()
    else outgoing.end()
  } catch {
    outgoing.destroy()
  } finally {
    outgoing.off('close', onClose)
  }
}

export async function listenEmulator(
  handle: Handler,
  cutOf: (response: Response) => boolean,
  options: EmulatorListenOptions = {},
): Promise<EmulatorServer> {
  // Imported here so the in-process emulator also loads where node:http does not exist.
  const { createAdaptorServer } = await import('@hono/node-server')
  const server = createAdaptorServer({
    overrideGlobalObjects: false,
    fetch: async (request, env) => {
      // Always HTTP/1 bindings: the server is node:http's.
      const { incoming, outgoing } = env as HttpBindings
      // Touch the signal now: the adapter only wires disconnects to it once it exists.
      void request.signal
      const transport: NodeTransport = {
        kind: 'node',
        reset: () => {
          const socket = incoming.socket
          if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy()
          else socket.destroy()
        },
      }
      const response = await handle(request, transport).catch(() => {
        // Never leave a client waiting on an answer that will not come.
        incoming.socket.destroy()
        return null
      })
      if (response) await writeResponse(response, outgoing, () => cutOf(response))
      return new Response(null, { headers: ALREADY_SENT })
    },
  }) as Server
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  return {
    url,
    baseURL: `${url}/client/v4`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
