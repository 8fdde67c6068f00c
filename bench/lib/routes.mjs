// The server-side contenders, each a Fetch handler `(Request) => Promise<Response>` pointed at an
// upstream's `fetch`: the naive pass-through, the AI SDK route, and ours.
import { createOpenAICompatible } from '@ai-sdk/openai-compatible'
import { streamText } from 'ai'
import { aiSdkMajor } from './ai-sdk-major.mjs'

// BENCH_AI_SDK=7: the AI SDK route runs ai 7 (loaded only then: ai 7 needs Node >= 22).
const aiSdk7 = aiSdkMajor === 7 ? await import('./ai-sdk-7-route.mjs') : null

export const MODEL = '@cf/meta/llama-3.1-8b-instruct'

const sseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
}

export function nativeURL(upstream) {
  return `${upstream.baseURL}/accounts/${upstream.accountId}/ai/run/${MODEL}`
}

export function openAIBaseURL(upstream) {
  return `${upstream.baseURL}/accounts/${upstream.accountId}/ai/v1`
}

/** What a user would write first: forward the request, hand back the upstream body untouched. */
export function naiveRoute(upstream) {
  return async (request) => {
    const body = await request.text()
    const up = await upstream.fetch(nativeURL(upstream), {
      method: 'POST',
      headers: { authorization: `Bearer ${upstream.apiKey}`, 'content-type': 'application/json' },
      body,
      signal: request.signal,
    })
    return new Response(up.body, { status: up.status, headers: sseHeaders })
  }
}

/**
 * The naive pass-through with its body handed on through a second web stream, chunk by chunk (what
 * any handler that rewrites bytes adds on Node), each chunk optionally preceded by a comment line
 * of `padBytes` (ours' Chat Completions events are ~180 bytes a token longer than native frames).
 * Parts of ours' cost, measured apart (bench/concurrency-parts.mjs); never a contender of a suite.
 */
export function naiveHopRoute(upstream, padBytes = 0) {
  const naive = naiveRoute(upstream)
  const pad = new TextEncoder().encode(`: ${'x'.repeat(Math.max(0, padBytes - 4))}\n\n`)
  return async (request) => {
    const response = await naive(request)
    const reader = response.body.getReader()
    const body = new ReadableStream(
      {
        pull(controller) {
          return reader.read().then(({ done, value }) => {
            if (done) return controller.close()
            if (padBytes === 0) return controller.enqueue(value)
            const chunk = new Uint8Array(pad.length + value.length)
            chunk.set(pad)
            chunk.set(value, pad.length)
            controller.enqueue(chunk)
          })
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 1 },
    )
    return new Response(body, { status: response.status, headers: response.headers })
  }
}

/** The AI SDK's documented route: streamText on an OpenAI-compatible provider → UI message stream. */
export function aiSdkRoute(upstream) {
  if (aiSdk7)
    return aiSdk7.aiSdk7Route(upstream, { baseURL: openAIBaseURL(upstream), model: MODEL })
  const provider = createOpenAICompatible({
    name: 'workers-ai',
    baseURL: openAIBaseURL(upstream),
    apiKey: upstream.apiKey,
    fetch: upstream.fetch,
  })
  return async (request) => {
    const { messages } = await request.json()
    const result = streamText({
      model: provider.chatModel(MODEL),
      messages,
      abortSignal: request.signal,
    })
    return result.toUIMessageStreamResponse()
  }
}

/** Ours, as the README mounts it; caching off unless asked (a cached replay is benchmark 4). */
export function oursRoute(createCopilotEdgeHandler, upstream, extra = {}) {
  return createCopilotEdgeHandler({
    apiKey: upstream.apiKey,
    accountId: upstream.accountId,
    baseURL: upstream.baseURL,
    fetch: upstream.fetch,
    stream: true,
    cache: false,
    ...extra,
  })
}

export function chatRequest(url = 'http://bench.local/api/copilot', extra = {}) {
  return new Request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      messages: [{ role: 'user', content: 'Tell me a long story.' }],
      stream: true,
      ...extra,
    }),
  })
}
