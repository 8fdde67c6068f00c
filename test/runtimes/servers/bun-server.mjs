// README "Runtimes": Bun.serve. Run with `bun bun-server.mjs`.
import { createCopilotEdgeHandler } from 'copilotedge'

const handler = createCopilotEdgeHandler({
  stream: true,
  baseURL: process.env.WORKERS_AI_BASE_URL,
  // Tests only: SSE compression under test (off by default).
  ...(process.env.SSE_COMPRESSION ? { compression: 'auto' } : {}),
  // Tests only: the heartbeat under test (unset: the default).
  ...(process.env.HEARTBEAT_MS ? { heartbeatMs: Number(process.env.HEARTBEAT_MS) } : {}),
})

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.env.PORT ?? 3000),
  // Bun closes a connection quiet for idleTimeout seconds (default 10); the heartbeat (5 s by
  // default) keeps a stream under it. Tests set it lower to show that quickly.
  ...(process.env.BUN_IDLE_TIMEOUT ? { idleTimeout: Number(process.env.BUN_IDLE_TIMEOUT) } : {}),
  fetch: handler,
})
console.log(`listening http://127.0.0.1:${server.port}`)
