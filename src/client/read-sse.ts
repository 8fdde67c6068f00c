import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser'
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
  /** Aborting cancels the body and makes the reader throw the signal's reason (an `AbortError`). */
  signal?: AbortSignal | undefined
  /**
   * Most characters that may wait in the buffer for the rest of an event (a partial line plus the
   * event's data so far). Default 16 Mi characters; `0` or `Infinity` turns the limit off.
   */
  maxBufferSize?: number | undefined
  /** Turns an event's `data` into `T`. Default `JSON.parse`. `[DONE]` never reaches it. */
  parse?: ((data: string) => T) | undefined
}

export const DEFAULT_MAX_BUFFER_SIZE = 16 * 1024 * 1024

/**
 * Reads an OpenAI-style SSE response: yields every event until `data: [DONE]`, parsing `data` as JSON.
 * Throws `CopilotHTTPError` (non-2xx), `CopilotContentTypeError`, `CopilotStreamError` (an in-stream
 * `{"error": ...}` payload or an `event: error`), `CopilotParseError`, `CopilotBufferOverflowError`,
 * `CopilotTruncatedError` (the body ended without `[DONE]`), or the signal's `AbortError`.
 * Breaking out of the loop, an error or an abort cancels the body. Nothing is read before the first
 * `next()`.
 */
export function readSSE<T = unknown>(
  response: Response,
  options: ReadSSEOptions<T> = {},
): AsyncGenerator<SSEEvent<T>, void, undefined> {
  return new SSEReader<T>(response, options)
}

const DONE: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined })
// Hoisted so the read loop passes the same object on every read instead of allocating one.
const DECODE_STREAM: TextDecodeOptions = { stream: true }
const CR = 13

// Chosen for speed: a hand-written async iterator rather than an `async function*`. A generator costs
// several promise hops per `yield`; here an event that is already parsed is handed out with one
// resolved promise and no await, and the awaits happen only once per network read. Measured side by
// side on a 20 MB body in 1–16 KiB reads, against bare createParser + TextDecoder + JSON.parse:
// an async generator 0.75x, this 0.94–0.97x (medians of 21 interleaved rounds).
class SSEReader<T> implements AsyncGenerator<SSEEvent<T>, void, undefined> {
  private readonly response: Response
  private readonly signal: AbortSignal | undefined
  private readonly parse: (data: string) => T
  private readonly maxBufferSize: number | undefined
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  private parser: EventSourceParser | undefined
  private readonly decoder = new TextDecoder() // strips one leading BOM, even split across reads
  // Events the parser dispatched during the last feed, handed out from `index` on.
  private readonly queue: EventSourceMessage[] = []
  private index = 0
  private overflowed = false
  private ended = false // the body is fully read
  private closed = false // no more events, ever
  private lastCharCode = 0
  private reading: Promise<IteratorResult<SSEEvent<T>, void>> | undefined

  constructor(response: Response, options: ReadSSEOptions<T>) {
    this.response = response
    this.signal = options.signal
    this.parse = options.parse ?? (JSON.parse as (data: string) => T)
    const limit = options.maxBufferSize ?? DEFAULT_MAX_BUFFER_SIZE
    this.maxBufferSize = limit > 0 && limit !== Number.POSITIVE_INFINITY ? limit : undefined
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<SSEEvent<T>, void>> {
    // A next() while another waits for a read (only when the caller does not await): queue behind it.
    if (this.reading) {
      const again = () => this.next() // after a failure the reader is closed: done
      return this.reading.then(again, again)
    }
    if (this.index < this.queue.length) {
      // Hot path: no await, one resolved promise.
      try {
        return Promise.resolve(this.take())
      } catch (error) {
        this.close()
        return Promise.reject(error)
      }
    }
    if (this.closed) return Promise.resolve(DONE)
    const reading = this.fill()
    this.reading = reading
    const clear = () => {
      if (this.reading === reading) this.reading = undefined
    }
    reading.then(clear, clear)
    return reading
  }

  return(): Promise<IteratorResult<SSEEvent<T>, void>> {
    this.close()
    return Promise.resolve(DONE)
  }

  throw(error: unknown): Promise<IteratorResult<SSEEvent<T>, void>> {
    this.close()
    return Promise.reject(error)
  }

  private readonly onAbort = (): void => {
    this.reader?.cancel(this.signal?.reason).catch(noop)
  }

  /** Reads until an event is ready (or the stream ends or fails), then hands out the first one. */
  private async fill(): Promise<IteratorResult<SSEEvent<T>, void>> {
    try {
      const signal = this.signal
      if (!this.reader) await this.open()
      const reader = this.reader as ReadableStreamDefaultReader<Uint8Array>
      const parser = this.parser as EventSourceParser
      for (;;) {
        if (this.index < this.queue.length) return this.take()
        if (this.overflowed) throw new CopilotBufferOverflowError(this.maxBufferSize as number)
        if (this.ended) throw new CopilotTruncatedError()
        this.queue.length = 0
        this.index = 0

        let result: ReadableStreamReadResult<Uint8Array>
        try {
          result = await reader.read()
        } catch (error) {
          if (signal?.aborted) throw abortReason(signal)
          if (this.closed) return DONE
          throw new CopilotTruncatedError({ cause: error })
        }
        if (signal?.aborted) throw abortReason(signal)
        if (this.closed) return DONE // return() was called during the read

        let text: string
        if (result.done) {
          this.ended = true
          text = this.decoder.decode()
          if (text.length > 0) this.lastCharCode = text.charCodeAt(text.length - 1)
          // A lone CR ends a line, but the parser holds it back waiting for a possible LF; at the end
          // of the body no LF can come, so supply it (CR LF is one line end): the last event dispatches.
          if (this.lastCharCode === CR) text += '\n'
        } else {
          text = this.decoder.decode(result.value, DECODE_STREAM)
          if (text.length > 0) this.lastCharCode = text.charCodeAt(text.length - 1)
        }
        if (text.length > 0) parser.feed(text)
      }
    } catch (error) {
      this.close()
      throw error
    }
  }

  /** Validates the response and starts reading. Throws before reading anything when it cannot. */
  private async open(): Promise<void> {
    const { response, signal } = this
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
    this.reader = response.body.getReader()
    const queue = this.queue
    // One closure per stream, none per event: the parser calls back synchronously inside feed().
    this.parser = createParser({
      onEvent: (message) => {
        queue.push(message)
      },
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') this.overflowed = true
      },
      maxBufferSize: this.maxBufferSize,
    })
    signal?.addEventListener('abort', this.onAbort)
  }

  /** Hands out the next queued event. Throws for an in-stream error or unparsable data. */
  private take(): IteratorResult<SSEEvent<T>, void> {
    const message = this.queue[this.index++] as EventSourceMessage
    const data = message.data
    if (data === '[DONE]') {
      this.close()
      return DONE
    }
    let parsed: T
    try {
      parsed = this.parse(data)
    } catch (error) {
      throw new CopilotParseError(data, error)
    }
    if (message.event === 'error' || isErrorPayload(parsed)) throw new CopilotStreamError(parsed)
    return { done: false, value: { data: parsed, id: message.id, event: message.event } }
  }

  /** Ends the stream for good: releases the connection (after [DONE] too) and the abort listener. */
  private close(): void {
    if (this.closed) return
    this.closed = true
    this.queue.length = 0
    this.index = 0
    this.signal?.removeEventListener('abort', this.onAbort)
    if (this.reader) this.reader.cancel().catch(noop)
    else cancelQuietly(this.response.body)
  }
}

// `await using` support where the runtime defines Symbol.asyncDispose, as async generators have it.
const asyncDispose = (Symbol as { asyncDispose?: symbol }).asyncDispose
if (asyncDispose) {
  Object.defineProperty(SSEReader.prototype, asyncDispose, {
    value(this: SSEReader<unknown>) {
      return this.return().then(noop)
    },
    configurable: true,
    writable: true,
  })
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
