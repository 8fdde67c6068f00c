// README "Runtimes": a module Worker (workerd) calling Workers AI over REST; bundled with esbuild
// (as wrangler does) and run by Miniflare in the tests.
import { createCopilotEdgeHandler } from 'copilotedge'

let handler

export default {
  async fetch(request, env) {
    handler ??= createCopilotEdgeHandler({
      apiKey: env.CLOUDFLARE_API_TOKEN,
      accountId: env.CLOUDFLARE_ACCOUNT_ID,
      stream: true,
      // Tests only: the emulator's URL and the heartbeat under test.
      baseURL: env.WORKERS_AI_BASE_URL,
      ...(env.HEARTBEAT_MS ? { heartbeatMs: Number(env.HEARTBEAT_MS) } : {}),
    })
    return handler(request)
  },
}
