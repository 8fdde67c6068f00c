// The AI SDK route on its current major (ai 7, @ai-sdk/openai-compatible 3): the same documented
// route as aiSdkRoute in routes.mjs (streamText → toUIMessageStreamResponse()), which hands over to
// this one when BENCH_AI_SDK=7 (see ai-sdk-major.mjs). It takes the base URL and model from
// routes.mjs rather than importing it: routes.mjs loads this file with a top-level await, and an
// import back would be a cycle that never settles.
import { createOpenAICompatible } from '@ai-sdk/openai-compatible-3'
import { streamText } from 'ai-7'

export function aiSdk7Route(upstream, { baseURL, model }) {
  const provider = createOpenAICompatible({
    name: 'workers-ai',
    baseURL,
    apiKey: upstream.apiKey,
    fetch: upstream.fetch,
  })
  return async (request) => {
    const { messages } = await request.json()
    const result = streamText({
      model: provider.chatModel(model),
      messages,
      abortSignal: request.signal,
    })
    return result.toUIMessageStreamResponse()
  }
}
