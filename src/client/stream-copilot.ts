import type { ChatCompletionChunk, ChatMessage, ChatRequest } from '../shared/chat-types'
import { readSSE } from './read-sse'

export interface StreamCopilotOptions {
  /** The endpoint, e.g. `/api/copilot` (a route mounting the copilotedge handler). */
  api: string | URL
  messages: ChatMessage[]
  /** Extra request fields (`model`, `temperature`, ...). `messages` and `stream: true` always win. */
  body?: (Partial<Omit<ChatRequest, 'messages' | 'stream'>> & Record<string, unknown>) | undefined
  headers?: HeadersInit | undefined
  signal?: AbortSignal | undefined
  /** Default: the global `fetch`, looked up when the stream starts. */
  fetch?: typeof fetch | undefined
  /** Called for every content delta, as it arrives (whether or not anyone iterates). */
  onChunk?: ((delta: string, chunk: ChatCompletionChunk) => void) | undefined
  /** Called with the HTTP response (any status) before its body is read, e.g. to read `X-Cache`. */
  onResponse?: ((response: Response) => void) | undefined
}

/** A running chat completion stream. Iterate it for content deltas, or await the whole text. */
export interface CopilotStream extends AsyncIterable<string> {
  /** The HTTP response (rejects when the request fails or is aborted before one arrives). */
  readonly response: Promise<Response>
  /** The whole text; after `abort()` the text received until then. Rejects with the stream's error. */
  getFullResponse(): Promise<string>
  /** Aborts the request; iteration then ends quietly. */
  abort(reason?: unknown): void
}

type State = 'running' | 'done' | 'aborted' | 'error'

/**
 * POSTs `{ ...body, messages, stream: true }` to `api` at once and reads the OpenAI chunk stream.
 * Every iterator sees every delta from the start. Breaking out of a `for await` aborts the request.
 */
export function streamCopilot(options: StreamCopilotOptions): CopilotStream {
  const controller = new AbortController()
  const external = options.signal
  const onExternalAbort = () => controller.abort(external?.reason)
  if (external?.aborted) controller.abort(external.reason)
  else external?.addEventListener('abort', onExternalAbort, { once: true })

  // Deltas are kept as an array and joined once: no O(n²) string copies.
  const parts: string[] = []
  let state: State = 'running'
  let failure: unknown
  let fullText: string | undefined
  let waiters: Array<() => void> = []
  const wake = () => {
    if (waiters.length === 0) return
    const woken = waiters
    waiters = []
    for (const resolve of woken) resolve()
  }

  let resolveResponse!: (response: Response) => void
  let rejectResponse!: (reason: unknown) => void
  const response = new Promise<Response>((resolve, reject) => {
    resolveResponse = resolve
    rejectResponse = reject
  })
  // Nobody has to look at `response`: never an unhandled rejection from it.
  response.catch(noop)

  const run = async (): Promise<void> => {
    try {
      const headers = new Headers(options.headers)
      if (!headers.has('content-type')) headers.set('content-type', 'application/json')
      if (!headers.has('accept')) headers.set('accept', 'text/event-stream')
      const fetchImpl = options.fetch ?? globalThis.fetch
      let res: Response
      try {
        res = await fetchImpl(options.api, {
          method: 'POST',
          headers,
          body: JSON.stringify({ ...options.body, messages: options.messages, stream: true }),
          signal: controller.signal,
        })
      } catch (error) {
        rejectResponse(error)
        throw error
      }
      resolveResponse(res)
      options.onResponse?.(res)
      for await (const event of readSSE<ChatCompletionChunk>(res, { signal: controller.signal })) {
        const delta = event.data.choices?.[0]?.delta?.content
        if (typeof delta === 'string' && delta.length > 0) {
          parts.push(delta)
          options.onChunk?.(delta, event.data)
          wake()
        }
      }
      state = 'done'
    } catch (error) {
      if (controller.signal.aborted) {
        state = 'aborted'
      } else {
        state = 'error'
        failure = error
        controller.abort(error) // Nothing else to read: make sure the connection is released.
      }
    } finally {
      external?.removeEventListener('abort', onExternalAbort)
      wake()
    }
  }
  // The request starts now, not when someone first iterates.
  const finished = run()

  const text = () => {
    fullText ??= parts.join('')
    return fullText
  }

  return {
    response,
    getFullResponse: () =>
      finished.then(() => {
        if (state === 'error') throw failure
        return text()
      }),
    abort: (reason?: unknown) => {
      if (state === 'running') controller.abort(reason)
    },
    [Symbol.asyncIterator]: (): AsyncIterator<string> => {
      let index = 0
      let ended = false
      return {
        next: async (): Promise<IteratorResult<string>> => {
          for (;;) {
            if (ended) return { done: true, value: undefined }
            if (index < parts.length) return { done: false, value: parts[index++] as string }
            if (state !== 'running') {
              ended = true
              if (state === 'error') throw failure
              return { done: true, value: undefined }
            }
            await new Promise<void>((resolve) => waiters.push(resolve))
          }
        },
        return: async (): Promise<IteratorResult<string>> => {
          ended = true
          if (state === 'running') controller.abort()
          return { done: true, value: undefined }
        },
      }
    },
  }
}

function noop(): void {}
