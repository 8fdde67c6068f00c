// README "Runtimes": node:http through @hono/node-server's `serve`.
import { serve } from '@hono/node-server'
import { createCopilotEdgeHandler } from 'copilotedge'

const handler = createCopilotEdgeHandler({
  stream: true,
  // Tests only: the Workers AI emulator instead of api.cloudflare.com.
  baseURL: process.env.WORKERS_AI_BASE_URL,
  // Tests only: SSE compression under test (off by default).
  ...(process.env.SSE_COMPRESSION ? { compression: 'auto' } : {}),
})

serve({ fetch: handler, hostname: '127.0.0.1', port: Number(process.env.PORT ?? 3000) }, (info) =>
  console.log(`listening http://127.0.0.1:${info.port}`),
)
