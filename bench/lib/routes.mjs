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

/**
 * The least a Chat Completions proxy of the native endpoint does, by hand: parse the request,
 * call the native endpoint, wait for its first frame (to answer an upstream error with its
 * status), then rewrite each native frame as a `chat.completion.chunk` event (role chunk first,
 * finish chunk and `[DONE]` last), through a second web stream. No cache, retries, heartbeats,
 * idle timeout, tools, usage or error events, and Node's fetch to the upstream: the floor of ours'
 * cost on the same bytes while ours used fetch too (on Node ours now reads its upstream through
 * node:http, cheaper than any fetch-based route), not a usable proxy. Concurrency suite (only when
 * named in BENCH_CONTENDERS) and concurrency-parts.
 */
export function minimalChatRoute(upstream) {
  const encoder = new TextEncoder()
  // The common native frame, read without JSON.parse (the escapes it excludes need no rewriting).
  // biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids a raw one in a string
  const PLAIN = /data: ?\{"response":"([^"\\\x00-\x1f]+)"(?:,"p":"[^"\\\x00-\x1f]*")?\}\n\n/y
  return async (request) => {
    const { messages } = await request.json()
    const controller = new AbortController()
    const up = await upstream.fetch(nativeURL(upstream), {
      method: 'POST',
      headers: { authorization: `Bearer ${upstream.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages, stream: true }),
      signal: controller.signal,
    })
    if (!up.ok || !up.body) return new Response(up.body, { status: up.status })
    const reader = up.body.getReader()
    const decoder = new TextDecoder()
    const id = `chatcmpl-${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`
    const head = `{"id":"${id}","object":"chat.completion.chunk","created":${Math.floor(Date.now() / 1000)},"model":"${MODEL}","choices":[{"index":0,"delta":`
    let n = 0
    let tail = ''
    let ended = false
    const event = (delta, finish = 'null') =>
      `id: ${++n}\ndata: ${head}${delta},"finish_reason":${finish}}]}\n\n`
    /** One upstream read as our events (the text of a frame split across reads waits in `tail`). */
    const rewrite = (bytes) => {
      const text = tail + decoder.decode(bytes, { stream: true })
      let out = ''
      let at = 0
      for (;;) {
        PLAIN.lastIndex = at
        const plain = PLAIN.exec(text)
        if (plain) {
          out += event(`{"content":${JSON.stringify(plain[1])}}`)
          at = PLAIN.lastIndex
          continue
        }
        const end = text.indexOf('\n\n', at)
        if (end < 0) break
        const data = text.slice(at, end).replace(/^data: ?/, '')
        at = end + 2
        if (data === '[DONE]') {
          ended = true
          return `${out}${event('{}', '"stop"')}data: [DONE]\n\n`
        }
        const response = JSON.parse(data).response
        if (response) out += event(`{"content":${JSON.stringify(response)}}`)
      }
      tail = text.slice(at)
      return out
    }
    // After [DONE]: the body read to its end, so that its connection is reused.
    const drain = () =>
      reader.read().then(
        ({ done }) => done || drain(),
        () => {},
      )
    let first = event('{"role":"assistant","content":""}')
    for (;;) {
      const { done, value } = await reader.read()
      if (done) ended = true
      const out = done ? '' : rewrite(value)
      first += out
      if (out || ended) break
    }
    const body = new ReadableStream(
      {
        start(c) {
          c.enqueue(encoder.encode(first))
          if (ended) {
            c.close()
            drain()
          }
        },
        // Reads until there is something to send: a pull that enqueues nothing is not called again.
        async pull(c) {
          for (;;) {
            const { done, value } = await reader.read()
            if (done) return c.close()
            const out = rewrite(value)
            if (out) c.enqueue(encoder.encode(out))
            if (ended) {
              c.close()
              drain()
            }
            if (out || ended) return
          }
        },
        cancel: () => controller.abort(),
      },
      { highWaterMark: 1 },
    )
    return new Response(body, { headers: sseHeaders })
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
