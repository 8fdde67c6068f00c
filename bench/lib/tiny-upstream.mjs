// A tiny OpenAI-compatible (and Workers AI native) upstream as a Fetch handler: the first token at
// once, then `tokens` tokens as fast as the reader pulls, one SSE event per read. Used for the
// AI SDK route when the emulator's OpenAI route does not suit it, and as the stand-in until the
// emulator lands. Frames are encoded once and reused, so its own cost stays flat and tiny.
const encoder = new TextEncoder()

export const TOKEN = ' tok'

function openAIFrame(content, finishReason = null) {
  return encoder.encode(
    `data: ${JSON.stringify({
      id: 'chatcmpl-up',
      object: 'chat.completion.chunk',
      created: 1767225600,
      model: 'bench-model',
      choices: [{ index: 0, delta: { content }, finish_reason: finishReason }],
    })}\n\n`,
  )
}

function nativeFrame(response, extra = {}) {
  return encoder.encode(`data: ${JSON.stringify({ response, ...extra })}\n\n`)
}

/**
 * @param {{ tokens: number }} options
 * @returns {{ fetch: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>, baseURL: string }}
 */
export function createTinyUpstream({ tokens }) {
  const openAI = { token: openAIFrame(TOKEN), last: openAIFrame('', 'stop') }
  const native = {
    token: nativeFrame(TOKEN, { p: 'abc' }),
    last: nativeFrame('', {
      usage: { prompt_tokens: 1, completion_tokens: tokens, total_tokens: tokens + 1 },
    }),
  }
  const done = encoder.encode('data: [DONE]\n\n')
  async function fetch(input, init) {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (init?.body) await new Response(init.body).arrayBuffer() // consume the request like a server
    const frames = url.includes('/ai/run/') ? native : openAI
    let sent = 0
    const body = new ReadableStream({
      pull(controller) {
        if (sent < tokens) controller.enqueue(frames.token)
        else if (sent === tokens) controller.enqueue(frames.last)
        else if (sent === tokens + 1) controller.enqueue(done)
        else controller.close()
        sent++
      },
    })
    return new Response(body, {
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
    })
  }
  return { fetch, baseURL: 'http://upstream.bench/client/v4' }
}
