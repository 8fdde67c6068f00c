import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'

export interface ServedHandler {
  /** `http://127.0.0.1:<port>` */
  origin: string
  /** Resolves once the server stopped listening and every open connection was closed. */
  close(): Promise<void>
}

/**
 * Serves a Fetch handler (`(request) => Promise<Response>`) over real loopback HTTP with
 * @hono/node-server, on 127.0.0.1 and a free port. Client disconnects abort `request.signal` and
 * cancel the response body, as in Next.js. The caller must `close()` it (e.g. in afterEach).
 */
export async function serveHandler(
  handler: (request: Request) => Response | Promise<Response>,
): Promise<ServedHandler> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: handler, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        const http = server as unknown as { closeAllConnections?: () => void }
        server.close((error) => (error ? reject(error) : resolve()))
        http.closeAllConnections?.()
      }),
  }
}
