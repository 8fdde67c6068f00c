// README "Runtimes": Hono (here on Node through @hono/node-server; the same app runs on Bun, Deno
// and Workers).
import { serve } from '@hono/node-server'
import { createCopilotEdgeHandler } from 'copilotedge'
import { Hono } from 'hono'

const copilot = createCopilotEdgeHandler({
  stream: true,
  baseURL: process.env.WORKERS_AI_BASE_URL,
})

const app = new Hono()
app.post('/api/copilot', (c) => copilot(c.req.raw))

serve({ fetch: app.fetch, hostname: '127.0.0.1', port: Number(process.env.PORT ?? 3000) }, (info) =>
  console.log(`listening http://127.0.0.1:${info.port}`),
)
