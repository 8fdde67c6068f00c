// README "Runtimes": Deno.serve. Run with `deno run --allow-net --allow-env --allow-read`.
import { createCopilotEdgeHandler } from 'copilotedge'

const handler = createCopilotEdgeHandler({
  stream: true,
  baseURL: Deno.env.get('WORKERS_AI_BASE_URL'),
  // Tests only: SSE compression under test (off by default).
  ...(Deno.env.get('SSE_COMPRESSION') ? { compression: 'auto' } : {}),
})

Deno.serve(
  {
    hostname: '127.0.0.1',
    port: Number(Deno.env.get('PORT') ?? 3000),
    onListen: ({ port }) => console.log(`listening http://127.0.0.1:${port}`),
  },
  handler,
)
