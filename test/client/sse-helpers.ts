// Builders for SSE bodies and responses with controllable, observable bodies (shared with test/react).
import type { ChatCompletionChunk } from '../../src/shared/chat-types'

const encoder = new TextEncoder()

export function chunk(
  content: string | undefined,
  finish: 'stop' | null = null,
): ChatCompletionChunk {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: '@cf/meta/llama-3.1-8b-instruct',
    choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }],
  }
}

/** The body the server sends for these deltas: ids, a role chunk, a finish chunk, then [DONE]. */
export function sseBody(deltas: string[], { done = true } = {}): string {
  let n = 0
  const event = (data: unknown) => `id: ${n++}\ndata: ${JSON.stringify(data)}\n\n`
  let body = event({
    ...chunk(''),
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
  })
  for (const delta of deltas) body += event(chunk(delta))
  body += event(chunk(undefined, 'stop'))
  if (done) body += 'data: [DONE]\n\n'
  return body
}

export interface ObservedBody {
  stream: ReadableStream<Uint8Array>
  /** How many reads the consumer asked for. */
  readonly pulls: number
  readonly cancelled: boolean
}

/** A body that hands out `parts` one per read, and records reads and cancellation. */
export function observedBody(parts: Array<string | Uint8Array>): ObservedBody {
  let index = 0
  const state = { pulls: 0, cancelled: false }
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        state.pulls++
        const part = parts[index++]
        if (part === undefined) controller.close()
        else controller.enqueue(typeof part === 'string' ? encoder.encode(part) : part)
      },
      cancel() {
        state.cancelled = true
      },
    },
    { highWaterMark: 0 },
  )
  return {
    stream,
    get pulls() {
      return state.pulls
    },
    get cancelled() {
      return state.cancelled
    },
  }
}

export function sseResponse(
  body: BodyInit | null,
  init: { status?: number; headers?: Record<string, string> } = {},
): Response {
  return new Response(body, {
    status: init.status ?? 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', ...init.headers },
  })
}

/** A body the test writes to by hand, event by event, and can close or fail. */
export function controlledBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const state = { cancelled: false }
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
    },
    cancel() {
      state.cancelled = true
    },
  })
  return {
    stream,
    get cancelled() {
      return state.cancelled
    },
    push(text: string) {
      controller.enqueue(encoder.encode(text))
    },
    close() {
      controller.close()
    },
    fail(error: unknown) {
      controller.error(error)
    },
  }
}

export interface RecordedRequest {
  url: string
  init: RequestInit
  body: Record<string, unknown>
  signal: AbortSignal
}

/**
 * An in-memory fetch: each call records the request and waits for the test to answer it with
 * `respond(response)`. When the request's signal aborts, the pending fetch rejects and the response
 * body errors, as a real fetch does.
 */
export function inMemoryFetch() {
  const requests: RecordedRequest[] = []
  const waiting: Array<(response: Response) => void> = []
  const fetch = (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const signal = init.signal ?? new AbortController().signal
    requests.push({
      url: String(input),
      init,
      body: parseBody(init.body),
      signal,
    })
    return new Promise<Response>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true })
      waiting.push(resolve)
    })
  }
  return {
    fetch: fetch as typeof globalThis.fetch,
    requests,
    /** Answers the oldest unanswered request. */
    respond(response: Response) {
      const resolve = waiting.shift()
      if (!resolve) throw new Error('no request is waiting')
      resolve(response)
    },
  }
}

/** A fetch that answers every call at once with a fresh response from `make`. */
export function answeringFetch(make: () => Response) {
  const requests: RecordedRequest[] = []
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const signal = init.signal ?? new AbortController().signal
    requests.push({
      url: String(input),
      init,
      body: parseBody(init.body),
      signal,
    })
    if (signal.aborted) throw signal.reason
    return make()
  }
  return { fetch: fetch as typeof globalThis.fetch, requests }
}

/** A POST's JSON body; `{}` for a request without one (a reconnect GET, a stop DELETE). */
function parseBody(body: RequestInit['body']): Record<string, unknown> {
  return body == null ? {} : (JSON.parse(String(body)) as Record<string, unknown>)
}
