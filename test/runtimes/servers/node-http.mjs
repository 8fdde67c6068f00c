// README "Runtimes": a plain node:http server; @hono/node-server's `getRequestListener` is the
// adapter (Fetch Request in, Response out, a client disconnect aborts `request.signal`).
import { createServer } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import { createCopilotEdgeHandler } from 'copilotedge'

const copilot = getRequestListener(
  createCopilotEdgeHandler({ stream: true, baseURL: process.env.WORKERS_AI_BASE_URL }),
)

const server = createServer((req, res) => {
  if (req.url === '/api/copilot') return copilot(req, res)
  res.writeHead(404).end()
})
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () =>
  console.log(`listening http://127.0.0.1:${server.address().port}`),
)
