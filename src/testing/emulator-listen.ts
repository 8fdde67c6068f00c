// `listen()`: the emulator on a real loopback HTTP server, on node:http alone (no optional peer to
// install). Each request becomes a Fetch `Request` (its `signal` aborts when the client disconnects);
// the response is written here, on the raw `outgoing`, so faults can act on the socket (reset, an
// unclean end for `drop`) and a reader that stops reading pauses the stream (backpressure).
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type NodeStreams, requestFromNode } from './emulator-node-request'
import type { EmulatorListenOptions, EmulatorServer } from './emulator-types'

export interface NodeTransport {
  kind: 'node'
  /** Destroys the connection before any byte was answered. */
  reset(): void
}

type Handler = (request: Request, transport: NodeTransport) => Promise<Response | null>

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
  // Resolves once the last chunk reached the socket: a `drop` must not end the socket before the
  // bytes sent so far (Node 24 still holds them in the response when the socket ends: lost).
  let written: Promise<void> = Promise.resolve()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      let flushed = () => {}
      written = new Promise<void>((resolve) => {
        flushed = resolve
      })
      if (!outgoing.write(value, () => flushed())) await drainOrClose(outgoing)
      if (outgoing.destroyed) return
    }
    // `drop`: end the socket without the terminating chunk, so the client sees a truncated body.
    if (isCut()) {
      await Promise.race([written, new Promise((resolve) => outgoing.once('close', resolve))])
      outgoing.socket?.end()
    } else {
      outgoing.end()
    }
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
  const host = options.host ?? '127.0.0.1'
  const authority = () => {
    const { port } = server.address() as AddressInfo
    return `${host.includes(':') ? `[${host}]` : host}:${port}`
  }
  const onRequest = async (incoming: IncomingMessage, outgoing: ServerResponse) => {
    let request: Request
    try {
      request = requestFromNode(incoming, outgoing, authority(), streams)
    } catch {
      // An unusable Host header or URL: not something the emulator can route.
      outgoing.writeHead(400, { 'content-type': 'text/plain' }).end('Bad request')
      return
    }
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
  }
  // Imported here so the in-process emulator also loads where node:http does not exist.
  const [{ createServer }, streams]: [typeof import('node:http'), NodeStreams] = await Promise.all([
    import('node:http'),
    import('node:stream'),
  ])
  const server = createServer((incoming, outgoing) => void onRequest(incoming, outgoing))
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
