// README "Runtimes": a module Worker using the Workers AI binding (`env.AI`); no token needed.
import { createCopilotEdgeHandler, createWorkersAIBindingProvider } from 'copilotedge'

let handler

export default {
  async fetch(request, env) {
    handler ??= createCopilotEdgeHandler({
      provider: createWorkersAIBindingProvider(env.AI),
      stream: true,
    })
    return handler(request)
  },
}
