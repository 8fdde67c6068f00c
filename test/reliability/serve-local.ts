// TEMPORARY until test/helpers/serve-handler.ts lands.

import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'

export async function serveHandler(handler: (request: Request) => Promise<Response>) {
  const server = serve({ fetch: handler, port: 0, hostname: '127.0.0.1' })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        ;(server as unknown as { closeAllConnections(): void }).closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
