import { createParser, type EventSourceMessage } from 'eventsource-parser'
import {
  CopilotBufferOverflowError,
  CopilotContentTypeError,
  CopilotHTTPError,
  CopilotParseError,
  CopilotStreamError,
  CopilotTruncatedError,
} from './errors'

/** One dispatched SSE event. `id` and `event` are per event (not carried forward), as the parser gives them. */
export interface SSEEvent<T> {
  data: T
  id?: string | undefined
  event?: string | undefined
}

export interface ReadSSEOptions<T> {
  /** Aborting cancels the body and makes the generator throw the signal's reason (an `AbortError`). */
  signal?: AbortSignal | undefined
  /**
   * Most characters one event (or one unterminated line) may buffer. Default 16 Mi characters;
   * `0` or `Infinity` turns the limit off.
   */
  maxBufferSize?: number | undefined
  /** Turns an event's `data` into `T`. Default `JSON.parse`. `[DONE]` never reaches it. */
  parse?: ((data: string) => T) | undefined
}

export const DEFAULT_MAX_BUFFER_SIZE = 16 * 1024 * 1024

// Hoisted so the hot loop passes the same object on every read instead of allocating one.
const DECODE_STREAM: TextDecodeOptions = { stream: true }
const CR = 13

/**
 * Reads an OpenAI-style SSE response: yields every event until `data: [DONE]`, parsing `data` as JSON.
 * Throws `CopilotHTTPError` (non-2xx), `CopilotContentTypeError`, `CopilotStreamError` (an in-stream
 * `{"error": ...}` payload or an `event: error`), `CopilotParseError`, `CopilotBufferOverflowError`,
 * `CopilotTruncatedError` (the body ended without `[DONE]`), or the signal's `AbortError`.
 * Breaking out of the loop, an error or an abort cancels the body.
 */
export async function* readSSE<T = unknown>(
  response: Response,
  options: ReadSSEOptions<T> = {},
): AsyncGenerator<SSEEvent<T>, void, undefined> {
  const { signal } = options
  const parse = options.parse ?? (JSON.parse as (data: string) => T)
  const limit = options.maxBufferSize ?? DEFAULT_MAX_BUFFER_SIZE
  const maxBufferSize = limit > 0 && limit !== Number.POSITIVE_INFINITY ? limit : undefined

  if (signal?.aborted) {
    cancelQuietly(response.body)
    throw abortReason(signal)
  }
  if (!response.ok) {
    throw new CopilotHTTPError({
      status: response.status,
      statusText: response.statusText,
      body: await response.text().catch(() => ''),
      headers: response.headers,
    })
  }
  const contentType = response.headers.get('content-type')
  if (!contentType?.trimStart().toLowerCase().startsWith('text/event-stream')) {
    cancelQuietly(response.body)
    throw new CopilotContentTypeError(contentType, response.status)
  }
  if (!response.body) throw new CopilotTruncatedError()

  const reader = response.body.getReader()
  // The parser calls back synchronously inside feed(); events are queued and yielded after each feed.
  // One closure per stream, none per event.
  const queue: EventSourceMessage[] = []
  let overflowed = false
  const parser = createParser({
    onEvent: (message) => {
      queue.push(message)
    },
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') overflowed = true
    },
    maxBufferSize,
  })
  // The decoder strips one leading BOM (even split across reads) and, with `stream: true`, keeps a
  // multi-byte character split across reads whole.
  const decoder = new TextDecoder()
  const onAbort = () => {
    reader.cancel(signal?.reason).catch(noop)
  }
  signal?.addEventListener('abort', onAbort)
  let lastCharCode = 0

  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>
      try {
        result = await reader.read()
      } catch (error) {
        if (signal?.aborted) throw abortReason(signal)
        throw new CopilotTruncatedError({ cause: error })
      }
      if (signal?.aborted) throw abortReason(signal)

      let text: string
      if (result.done) {
        text = decoder.decode()
        if (text.length > 0) lastCharCode = text.charCodeAt(text.length - 1)
        // A lone CR ends a line, but the parser holds it back waiting for a possible LF; at the end of
        // the body no LF can come, so supply it (CR LF is one line end) and the last event dispatches.
        if (lastCharCode === CR) text += '\n'
      } else {
        text = decoder.decode(result.value, DECODE_STREAM)
        if (text.length > 0) lastCharCode = text.charCodeAt(text.length - 1)
      }
      if (text.length > 0) parser.feed(text)

      // Hot path: a plain indexed loop; the parser's own event object is reused for the yield (its
      // `data` string replaced by the parsed value) instead of allocating a second object per event.
      for (let i = 0; i < queue.length; i++) {
        const message = queue[i] as EventSourceMessage
        const data = message.data
        if (data === '[DONE]') return
        let parsed: T
        try {
          parsed = parse(data)
        } catch (error) {
          throw new CopilotParseError(data, error)
        }
        if (message.event === 'error' || isErrorPayload(parsed))
          throw new CopilotStreamError(parsed)
        ;(message as unknown as SSEEvent<T>).data = parsed
        yield message as unknown as SSEEvent<T>
      }
      queue.length = 0

      if (overflowed) throw new CopilotBufferOverflowError(maxBufferSize as number)
      if (result.done) throw new CopilotTruncatedError()
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    // Releases the connection when the consumer broke out, on an error, and after [DONE].
    reader.cancel().catch(noop)
  }
}

function isErrorPayload(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'error' in value && value.error != null
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError')
}

function cancelQuietly(body: ReadableStream<Uint8Array> | null): void {
  if (body && !body.locked) body.cancel().catch(noop)
}

function noop(): void {}
