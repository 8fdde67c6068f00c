import type { ChatCompletionChunk, ChatMessage, ChatRequest } from '../shared/chat-types'
import { CopilotHTTPError, CopilotReconnectError, CopilotTruncatedError } from './errors'
import { readSSE } from './read-sse'
import {
  isReconnectable,
  type ReconnectOptions,
  type ReconnectPolicy,
  reconnectDelay,
  reconnectPolicy,
  sleep,
} from './reconnect'
import { STREAM_ID_HEADER, sendStop, streamUrl } from './stream-endpoint'

/** A stream the server keeps (from a response's `X-CopilotEdge-Stream-Id`), and where to go on. */
export interface ResumeTarget {
  streamId: string
  /** The last event id received; the server sends the events after it. None: from the start. */
  lastEventId?: string | undefined
}

interface StreamCopilotCommonOptions {
  /** The endpoint, e.g. `/api/copilot` (a route mounting the copilotedge handler). */
  api: string | URL
  /** Extra request fields (`model`, `temperature`, ...). `messages` and `stream: true` always win. */
  body?: (Partial<Omit<ChatRequest, 'messages' | 'stream'>> & Record<string, unknown>) | undefined
  headers?: HeadersInit | undefined
  /** Aborting it is `abort()`: the request ends and a resumable stream is stopped on the server. */
  signal?: AbortSignal | undefined
  /** Default: the global `fetch`, looked up when the stream starts. */
  fetch?: typeof fetch | undefined
  /** Called for every content delta, as it arrives (whether or not anyone iterates). */
  onChunk?: ((delta: string, chunk: ChatCompletionChunk) => void) | undefined
  /**
   * Called with every HTTP response (any status) before its body is read, e.g. to read `X-Cache`:
   * the POST's (or the resume GET's), then each reconnect GET's.
   */
  onResponse?: ((response: Response) => void) | undefined
  /**
   * Reconnecting a resumable stream (one whose response carries `X-CopilotEdge-Stream-Id`) after a
   * lost connection: `GET api?stream=<id>` with `Last-Event-ID`, capped exponential backoff with full
   * jitter. Default `{ maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 5_000 }`; `false` turns it off.
   */
  reconnect?: false | ReconnectOptions | undefined
  /** Called before each reconnect attempt (counted from 1; back to 1 once an attempt brings events). */
  onReconnect?: ((attempt: number) => void) | undefined
}

export type StreamCopilotOptions = StreamCopilotCommonOptions &
  (
    | { messages: ChatMessage[]; resume?: undefined }
    | {
        /** Reads a known stream again (after a page reload) with a GET instead of POSTing a prompt. */
        resume: ResumeTarget
        messages?: undefined
      }
  )

/** A running chat completion stream. Iterate it for content deltas, or await the whole text. */
export interface CopilotStream extends AsyncIterable<string> {
  /** The first HTTP response (rejects when the request fails or is aborted before one arrives). */
  readonly response: Promise<Response>
  /** The whole text; after `abort()` the text received until then. Rejects with the stream's error. */
  getFullResponse(): Promise<string>
  /** Aborts the request and stops a resumable stream on the server; iteration then ends quietly. */
  abort(reason?: unknown): void
  /**
   * Drops the connection like `abort()` but leaves a resumable stream running on the server, to be
   * read again with `streamCopilot({ api, resume: { streamId, lastEventId } })`.
   */
  disconnect(reason?: unknown): void
  /** The server's id for this stream, once the response said it is resumable. */
  readonly streamId: string | undefined
  /** The id of the last event received: resume from here. */
  readonly lastEventId: string | undefined
}

type State = 'running' | 'done' | 'aborted' | 'error'

/**
 * POSTs `{ ...body, messages, stream: true }` to `api` at once (or, with `resume`, GETs a known
 * stream) and reads the OpenAI chunk stream, reconnecting a resumable stream by itself. Every iterator
 * sees every delta from the start, each exactly once. Breaking out of a `for await` aborts.
 */
export function streamCopilot(options: StreamCopilotOptions): CopilotStream {
  const controller = new AbortController()
  const signal = controller.signal
  const external = options.signal
  const fetchImpl = options.fetch ?? globalThis.fetch
  const policy = reconnectPolicy(options.reconnect)

  // Deltas are kept as an array and joined once: no O(n²) string copies.
  const parts: string[] = []
  let state: State = 'running'
  let failure: unknown
  let fullText: string | undefined
  let streamId = options.resume?.streamId
  let lastEventId = options.resume?.lastEventId
  let lastNumericId = toInteger(lastEventId)
  let waiters: Array<() => void> = []
  const wake = () => {
    if (waiters.length === 0) return
    const woken = waiters
    waiters = []
    for (const resolve of woken) resolve()
  }

  /** Ends the request; `stop` also tells the server to stop generating a resumable stream. */
  const end = (reason: unknown, stop: boolean) => {
    if (state !== 'running' || signal.aborted) return
    controller.abort(reason)
    if (stop && streamId !== undefined) sendStop(fetchImpl, options.api, streamId, options.headers)
  }
  const onExternalAbort = () => end(external?.reason, true)
  if (external?.aborted) controller.abort(external.reason)
  else external?.addEventListener('abort', onExternalAbort, { once: true })

  let resolveResponse!: (response: Response) => void
  let rejectResponse!: (reason: unknown) => void
  const response = new Promise<Response>((resolve, reject) => {
    resolveResponse = resolve
    rejectResponse = reject
  })
  // Nobody has to look at `response`: never an unhandled rejection from it.
  response.catch(noop)

  const resumeRequest = (id: string): Promise<Response> => {
    const headers = new Headers(options.headers)
    headers.delete('content-type')
    headers.set('accept', 'text/event-stream')
    if (lastEventId !== undefined) headers.set('last-event-id', lastEventId)
    return fetchImpl(streamUrl(options.api, id), { method: 'GET', headers, signal })
  }

  const firstRequest = (): Promise<Response> => {
    if (options.resume) return resumeRequest(options.resume.streamId)
    const headers = new Headers(options.headers)
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
    if (!headers.has('accept')) headers.set('accept', 'text/event-stream')
    return fetchImpl(options.api, {
      method: 'POST',
      headers,
      body: JSON.stringify({ ...options.body, messages: options.messages, stream: true }),
      signal,
    })
  }

  /** False for an event already received (a reconnect's server may send it again). */
  const isNew = (id: string | undefined): boolean => {
    if (id === undefined) return true
    const numeric = toInteger(id)
    if (numeric !== undefined && lastNumericId !== undefined && numeric <= lastNumericId)
      return false
    lastEventId = id
    lastNumericId = numeric
    return true
  }

  /** Reads one response's events. True when something new arrived. */
  const readBody = async (res: Response, progress: { made: boolean }): Promise<void> => {
    for await (const event of readSSE<ChatCompletionChunk>(res, { signal })) {
      if (!isNew(event.id)) continue
      progress.made = true
      const delta = event.data.choices?.[0]?.delta?.content
      if (typeof delta === 'string' && delta.length > 0) {
        parts.push(delta)
        options.onChunk?.(delta, event.data)
        wake()
      }
    }
  }

  /** GETs the stream again until a 2xx arrives; throws CopilotReconnectError when it gives up. */
  const reconnect = async (
    active: ReconnectPolicy,
    id: string,
    attempts: { count: number },
    lost: unknown,
  ): Promise<Response> => {
    let cause = lost
    for (;;) {
      if (attempts.count >= active.maxAttempts) {
        throw new CopilotReconnectError({
          attempts: attempts.count,
          streamId: id,
          lastEventId,
          cause,
        })
      }
      const attempt = ++attempts.count
      options.onReconnect?.(attempt)
      await sleep(active.timers, reconnectDelay(active, attempt), signal)
      try {
        const res = await resumeRequest(id)
        options.onResponse?.(res)
        if (res.ok) return res
        cause = new CopilotHTTPError({
          status: res.status,
          statusText: res.statusText,
          body: await res.text().catch(() => ''),
          headers: res.headers,
        })
      } catch (error) {
        if (signal.aborted) throw error
        cause = error
      }
      if (!isReconnectable(cause)) {
        throw new CopilotReconnectError({ attempts: attempt, streamId: id, lastEventId, cause })
      }
    }
  }

  const run = async (): Promise<void> => {
    try {
      let res: Response
      try {
        res = await firstRequest()
      } catch (error) {
        rejectResponse(error)
        throw error
      }
      resolveResponse(res)
      streamId ??= res.headers.get(STREAM_ID_HEADER) ?? undefined
      options.onResponse?.(res)
      const attempts = { count: 0 }
      for (;;) {
        const progress = { made: false }
        try {
          await readBody(res, progress)
          break
        } catch (error) {
          // Only a lost connection is reconnected: an error event or an HTTP error is the answer.
          if (signal.aborted || !policy || streamId === undefined) throw error
          if (!(error instanceof CopilotTruncatedError)) throw error
          if (progress.made) attempts.count = 0
          res = await reconnect(policy, streamId, attempts, error)
        }
      }
      state = 'done'
    } catch (error) {
      if (signal.aborted) {
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
    get streamId() {
      return streamId
    },
    get lastEventId() {
      return lastEventId
    },
    getFullResponse: () =>
      finished.then(() => {
        if (state === 'error') throw failure
        return text()
      }),
    abort: (reason?: unknown) => end(reason, true),
    disconnect: (reason?: unknown) => end(reason, false),
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
          end(undefined, true)
          return { done: true, value: undefined }
        },
      }
    },
  }
}

/** An SSE id as an integer (our server's ids are), or undefined when it is not one. */
function toInteger(id: string | undefined): number | undefined {
  if (id === undefined || !/^\d{1,15}$/.test(id)) return undefined
  return Number(id)
}

function noop(): void {}
