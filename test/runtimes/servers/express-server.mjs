// README "Runtimes": Express 5. The route gets the raw request (no body parser before it).
import { getRequestListener } from '@hono/node-server'
import { createCopilotEdgeHandler } from 'copilotedge'
import express from 'express'

const app = express()
app.post(
  '/api/copilot',
  getRequestListener(
    createCopilotEdgeHandler({ stream: true, baseURL: process.env.WORKERS_AI_BASE_URL }),
  ),
)

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () =>
  console.log(`listening http://127.0.0.1:${server.address().port}`),
)
