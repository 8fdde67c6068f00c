import type { EventSourceMessage, EventSourceParser, ParseError } from 'eventsource-parser'
import { createParser } from 'eventsource-parser'
import type { FinishReason, ToolCallDelta } from '../../../shared/chat-types'
import type { UpstreamBatchIterator, UpstreamEvent } from '../provider'
import { READS_END_ON_ABORT, UpstreamError } from '../provider'
import { ContentTemplate } from './content-template'
import { errorInfoFromJSON, redact } from './error-body'
import { nativeFrameText, readNativeEvents } from './native-frame'
import { createToolCallId } from './tool-call-id'
import { messageOf } from './upstream-http'
import type { ChunkReader, ChunkSource } from './upstream-transport'
import { Utf8Chunks } from './utf8-chunks'
import {
  argumentsText,
  normalizeFinishReason,
  normalizeUsage,
  resolveFinishReason,
} from './wire-values'

export interface NormalizeStreamOptions {
  /** The request's signal: once aborted, reading stops and its reason (or the fetch's AbortError) is thrown. */
  signal?: AbortSignal
  /** Who is answering, for error messages (`Workers AI`, `ollama`, ...). */
  label?: string
  /** Largest single SSE event, in characters, before the stream is declared malformed. Default 1 MiB. */
  maxBufferSize?: number
  /** Removed from error messages (an upstream error frame may quote the API key). */
  secret?: string
}

const DEFAULT_MAX_BUFFER = 1024 * 1024

/**
 * Normalises an upstream SSE body, in any of the shapes Workers AI and OpenAI-compatible servers
 * send (wire-formats §1.4, §5.2, §8.1), into `UpstreamEvent`s, per the `Provider.stream` contract.
 *
 * Pull-based: a chunk is read from `body` only when the consumer asks for an event and none is
 * queued, so a slow consumer slows the upstream down (backpressure). `return()` (a `break` out of
 * `for await`) cancels the body. The iterator is single-use. `nextBatch()` hands over every event
 * parsed from the current read at once (see `UpstreamBatchIterator`).
 */
export function normalizeStream(
  body: ChunkSource,
  options: NormalizeStreamOptions = {},
): AsyncIterableIterator<UpstreamEvent> & UpstreamBatchIterator {
  return new StreamNormalizer(body, options)
}

/** The fields any frame may carry, whatever its shape. */
interface Frame {
  choices?: unknown
  response?: unknown
  tool_calls?: unknown
  finish_reason?: unknown
  usage?: unknown
  errors?: unknown
  error?: unknown
}

interface ChunkChoice {
  delta?: {
    content?: unknown
    reasoning_content?: unknown
    reasoning?: unknown
    tool_calls?: unknown
  } | null
  finish_reason?: unknown
}

interface RawToolCall {
  index?: unknown
  id?: unknown
  name?: unknown
  arguments?: unknown
  function?: { name?: unknown; arguments?: unknown } | null
}

const DONE_RESULT: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })

/**
 * `open`: reading frames. `ending`: the body ended; queued events are the last. `draining`: [DONE]
 * was seen; once the queue is empty the rest of the body is read and discarded. `closed`: done.
 */
type State = 'open' | 'ending' | 'draining' | 'closed'

/** After [DONE], at most this many bytes are read (and ignored) before the body is cancelled. */
const MAX_DRAIN_BYTES = 64 * 1024

class StreamNormalizer implements AsyncIterableIterator<UpstreamEvent>, UpstreamBatchIterator {
  private readonly reader: ChunkReader
  private readonly decoder = new Utf8Chunks()
  private readonly parser: EventSourceParser
  private readonly signal: AbortSignal | undefined
  /** Its abort cancels the body, which ends a pending read with the abort (onChunk). */
  readonly [READS_END_ON_ABORT]: AbortSignal | undefined
  private readonly label: string
  private readonly secret: string | undefined

  // Events parsed but not yet handed out (added by enqueue). next() drains it from `head` and
  // truncates it to empty once drained (no shift()); nextBatch() hands the whole array over and
  // starts a new one.
  private queue: UpstreamEvent[] = []
  private head = 0
  private state: State = 'open'
  private failure: unknown = undefined
  private released = false
  /** Set while flushing the end of the body: a cut-off last frame is truncation, not malformed. */
  private atEnd = false
  /**
   * The parser holds nothing (what it was fed ended with a blank line): the next text starts at
   * an event boundary, where readNativeEvents may take the events before the parser does.
   */
  private atBoundary = true

  private sawDone = false
  private sawTerminal = false
  private sawToolCall = false
  private upstreamFinish: FinishReason | undefined = undefined
  // The last usage object as sent: normalised once at the end, not on every chunk (OpenAI-style
  // upstreams repeat cumulative usage on every frame; this is a hot path).
  private rawUsage: unknown = undefined
  private readonly openedToolIndexes = new Set<number>()
  private readonly template = new ContentTemplate()
  private nextToolIndex = 0

  constructor(body: ChunkSource, options: NormalizeStreamOptions) {
    this.reader = body.getReader()
    this.signal = options.signal
    this[READS_END_ON_ABORT] = options.signal
    this.label = options.label ?? 'upstream'
    this.secret = options.secret
    // Callbacks are bound once here, not per frame.
    this.parser = createParser({
      onEvent: (message) => this.onMessage(message),
      onError: (error) => this.onParseError(error),
      maxBufferSize: options.maxBufferSize ?? DEFAULT_MAX_BUFFER,
    })
    this.signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<UpstreamEvent> {
    return this
  }

  async next(): Promise<IteratorResult<UpstreamEvent>> {
    for (;;) {
      if (this.head < this.queue.length) {
        const value = this.queue[this.head++] as UpstreamEvent
        if (this.head === this.queue.length) {
          this.queue.length = 0
          this.head = 0
        }
        return { done: false, value }
      }
      if (await this.refill()) return DONE_RESULT
    }
  }

  nextBatch(): Promise<IteratorResult<UpstreamEvent[], undefined>> {
    if (this.head < this.queue.length) return Promise.resolve(this.takeBatch())
    // Hot path (one call per network read, i.e. per token of a paced stream): from the body's read
    // to the batch in one `then`, no async frames nor a second `then` in between.
    if (this.failure === undefined && this.state === 'open' && !this.signal?.aborted) {
      return this.reader.read().then(this.onChunkToBatch, this.onReadError)
    }
    return this.refill().then((over) => (over ? DONE_RESULT : this.nextBatch()))
  }

  private readonly onChunkToBatch = (
    chunk: ReadableStreamReadResult<Uint8Array>,
  ):
    | IteratorResult<UpstreamEvent[], undefined>
    | Promise<IteratorResult<UpstreamEvent[], undefined>> => {
    this.onChunk(chunk)
    return this.head < this.queue.length ? this.takeBatch() : this.nextBatch()
  }

  /**
   * Queues an event. Hot path (one per token): a batch's array starts as `[event]`, one slot, not
   * as `[]` grown by push to 16 slots; most batches of a paced stream hold one event (~120 bytes
   * less per batch, sampled allocations). An arrow, so readNativeEvents takes it as it is.
   */
  private readonly enqueue = (event: UpstreamEvent): void => {
    if (this.queue.length === 0) this.queue = [event]
    else this.queue.push(event)
  }

  /** Every queued event, handed over. */
  private takeBatch(): IteratorResult<UpstreamEvent[], undefined> {
    const value = this.head === 0 ? this.queue : this.queue.slice(this.head)
    this.queue = []
    this.head = 0
    return { done: false, value }
  }

  /** Nothing is queued: throws a pending failure, or reads on; true once the stream is over. */
  private async refill(): Promise<boolean> {
    if (this.failure !== undefined) {
      const failure = this.failure
      this.failure = undefined
      this.close()
      throw failure
    }
    if (this.state === 'draining') await this.drain()
    if (this.state !== 'open') {
      this.close()
      return true
    }
    await this.pull()
    return false
  }

  async return(): Promise<IteratorResult<UpstreamEvent>> {
    this.queue.length = 0
    this.head = 0
    this.failure = undefined
    this.state = 'closed'
    await this.release()
    return DONE_RESULT
  }

  /** Reads one chunk and feeds it to the parser, or handles the end of the body. */
  private pull(): Promise<void> {
    if (this.signal?.aborted) {
      try {
        this.abortNow(undefined)
      } catch (error) {
        return Promise.reject(error)
      }
    }
    return this.reader.read().then(this.onChunk, this.onReadError)
  }

  private readonly onReadError = (error: unknown): never => {
    this.released = true
    if (this.signal?.aborted) this.abortNow(error)
    this.close()
    throw new UpstreamError(`${this.label} stream failed mid-body: ${messageOf(error)}`, {
      kind: 'network',
      cause: error,
    })
  }

  private readonly onChunk = (chunk: ReadableStreamReadResult<Uint8Array>): void => {
    if (chunk.done) {
      this.released = true
      // Our abort listener cancels the reader, which ends a pending read quietly.
      if (this.signal?.aborted) this.abortNow(undefined)
      this.atEnd = true
      this.feed(this.decoder.end())
      // The SSE spec discards an event without its blank line; flushing one lets a final
      // `data: [DONE]` (or a lone trailing `\r`) count. A frame cut mid-JSON is ignored (atEnd).
      this.feed('\n\n')
      this.atEnd = false
      this.end()
      return
    }
    this.feed(this.decoder.decode(chunk.value))
    if (this.failure !== undefined) {
      this.state = 'closed'
      void this.release()
    } else if (this.sawDone) {
      // Anything after [DONE] is ignored (as the OpenAI SDK does). The body is not cancelled here:
      // it is drained to its (normally immediate) end when the consumer asks for the end, so the
      // upstream sees a complete exchange and keep-alive connections stay reusable.
      this.end()
      this.state = 'draining'
    }
  }

  /** Reads what follows [DONE] until the body ends; cancels it if it goes on (or fails). */
  private async drain(): Promise<void> {
    this.state = 'closed'
    let drained = 0
    try {
      while (!this.released && drained <= MAX_DRAIN_BYTES && !this.signal?.aborted) {
        const chunk = await this.reader.read()
        if (chunk.done) {
          this.released = true
          break
        }
        drained += chunk.value.byteLength
      }
    } catch {
      // The answer is complete: a failure after [DONE] does not matter.
      this.released = true
    }
  }

  private feed(text: string): void {
    if (text === '' || this.failure !== undefined || this.sawDone) return
    const from = this.atBoundary ? readNativeEvents(text, this.enqueue) : 0
    if (from === text.length) return
    const rest = from === 0 ? text : text.slice(from)
    this.parser.feed(rest)
    // Ends with a blank line: the parser dispatched its last event and buffers nothing.
    this.atBoundary = rest.endsWith('\n\n')
  }

  /** No more frames will come: queue usage and finish, or fail as truncated. */
  private end(): void {
    if (this.state !== 'open') return
    this.state = 'ending'
    if (this.failure !== undefined) return
    if (!this.sawDone && !this.sawTerminal) {
      this.failure = new UpstreamError(
        `${this.label} stream ended without a terminal signal ([DONE], a finish_reason or a usage frame): the answer is truncated`,
        { kind: 'truncated' },
      )
      return
    }
    const usage = normalizeUsage(this.rawUsage)
    if (usage !== undefined) this.enqueue({ type: 'usage', usage })
    this.enqueue({
      type: 'finish',
      reason: resolveFinishReason(this.upstreamFinish, this.sawToolCall),
    })
  }

  private onMessage(message: EventSourceMessage): void {
    if (this.failure !== undefined || this.sawDone) return
    const data = message.data
    if (message.event === 'error') {
      this.failInStream(safeParse(data), data)
      return
    }
    if (data === '[DONE]' || (data.charCodeAt(0) !== 123 /* { */ && data.trim() === '[DONE]')) {
      this.sawDone = true
      return
    }
    if (data === '') return
    // Hot path: the commonest frame, {"response":"…","p":"…"}, without JSON.parse (see
    // nativeFrameText: where it answers, the frame is exactly what onFrame would read as text).
    // And OpenAI content chunks shaped like the last one JSON.parse read (see ContentTemplate).
    const text = nativeFrameText(data) ?? this.template.match(data)
    if (text !== undefined) {
      if (text !== '') this.enqueue({ type: 'text', text })
      return
    }
    let frame: unknown
    try {
      frame = JSON.parse(data)
    } catch (error) {
      if (this.atEnd) return
      const shown = redact(data, this.secret)
      this.failure = new UpstreamError(
        `${this.label} sent a frame that is not JSON: ${shown.length > 120 ? `${shown.slice(0, 120)}…` : shown}`,
        { kind: 'malformed', cause: error },
      )
      return
    }
    if (typeof frame !== 'object' || frame === null) {
      this.failure = new UpstreamError(`${this.label} sent a frame that is not an object`, {
        kind: 'malformed',
      })
      return
    }
    this.onFrame(frame as Frame, data)
  }

  private onFrame(frame: Frame, data: string): void {
    if (frame.choices !== undefined) {
      // An OpenAI chat.completion.chunk (OpenAI-typed models on /ai/run, /ai/v1, OpenAI-compatible servers).
      if (Array.isArray(frame.choices) && frame.choices.length > 0) {
        // Only choice 0: copilotedge never asks for n > 1.
        const choice = frame.choices[0] as ChunkChoice | null
        if (choice !== null && typeof choice === 'object') {
          const delta = choice.delta
          if (delta != null) {
            const content = delta.content
            const queued = this.queue.length
            if (typeof content === 'string' && content !== '') {
              this.enqueue({ type: 'text', text: content })
            }
            const reasoning = delta.reasoning_content ?? delta.reasoning
            if (typeof reasoning === 'string' && reasoning !== '') {
              this.enqueue({ type: 'reasoning', text: reasoning })
            }
            if (delta.tool_calls !== undefined) {
              this.onToolCalls(delta.tool_calls)
            } else if (
              this.queue.length === queued + 1 &&
              typeof content === 'string' &&
              content !== '' &&
              choice.finish_reason == null &&
              frame.usage == null
            ) {
              // Its only effect was this one text event: later chunks like it skip JSON.parse.
              this.template.learn(data, content)
            }
          }
          this.onFinishReason(choice.finish_reason)
        }
      }
      if (frame.usage != null) this.rawUsage = frame.usage
      return
    }
    if (frame.errors !== undefined || frame.error !== undefined) {
      const info = errorInfoFromJSON(frame)
      if (info !== undefined) {
        this.failInStream(frame, undefined)
        return
      }
    }
    // A native Workers AI frame: {"response", "p", "tool_calls", "usage"}; `p` is padding, ignored.
    const response = frame.response
    if (typeof response === 'string') {
      if (response !== '') this.enqueue({ type: 'text', text: response })
    } else if (response != null) {
      this.enqueue({
        type: 'text',
        text: typeof response === 'object' ? JSON.stringify(response) : String(response),
      })
    }
    if (frame.tool_calls !== undefined) this.onToolCalls(frame.tool_calls)
    this.onFinishReason(frame.finish_reason)
    if (frame.usage != null) {
      this.rawUsage = frame.usage
      // The terminal frame is {"response":"","usage"}; usage next to real text is not an ending.
      if (response === '' || response === undefined) this.sawTerminal = true
    }
  }

  private onFinishReason(value: unknown): void {
    if (value == null) return
    const reason = normalizeFinishReason(value)
    if (reason === undefined) return
    this.upstreamFinish = reason
    this.sawTerminal = true
  }

  /**
   * Tool-call fragments in either form: OpenAI deltas (`{index, id?, type?, function}`) and legacy
   * whole calls (`{name, arguments: object}`). `id`/`type`/`name` go out only on the first fragment
   * of each index; the null finalization sentinel and empty fragments are skipped.
   */
  private onToolCalls(value: unknown): void {
    if (!Array.isArray(value)) return
    for (let position = 0; position < value.length; position++) {
      const raw = value[position] as RawToolCall | null
      if (raw === null || typeof raw !== 'object') continue
      let name: unknown
      let args: unknown
      let index: number
      if (raw.function != null && typeof raw.function === 'object') {
        name = raw.function.name
        args = raw.function.arguments
        index = typeof raw.index === 'number' ? raw.index : position
      } else if (raw.name !== undefined || raw.arguments !== undefined) {
        // Legacy whole call: each one is a new call unless it names its index.
        name = raw.name
        args = raw.arguments
        index = typeof raw.index === 'number' ? raw.index : this.nextToolIndex
      } else {
        continue
      }
      const text = argumentsText(args)
      let delta: ToolCallDelta
      if (!this.openedToolIndexes.has(index)) {
        const hasName = typeof name === 'string' && name !== ''
        // The finalization sentinel {"id":null,"type":null,"function":{"name":null,"arguments":""}}.
        if (!hasName && !text) continue
        this.openedToolIndexes.add(index)
        if (index >= this.nextToolIndex) this.nextToolIndex = index + 1
        delta = {
          index,
          id: typeof raw.id === 'string' && raw.id !== '' ? raw.id : createToolCallId(),
          type: 'function',
          function: hasName ? { name: name as string, arguments: text ?? '' } : { arguments: text },
        }
      } else {
        if (!text) continue
        delta = { index, function: { arguments: text } }
      }
      this.sawToolCall = true
      this.enqueue({ type: 'tool-call', delta })
    }
  }

  private onParseError(error: ParseError): void {
    if (error.type === 'unknown-field') {
      // A bare `[DONE]` line without `data:` (seen in a Cloudflare fixture).
      if (error.field?.trim() === '[DONE]' && this.failure === undefined) this.sawDone = true
      return
    }
    if (error.type === 'max-buffer-size-exceeded' && this.failure === undefined) {
      this.failure = new UpstreamError(`${this.label} sent an event larger than the buffer limit`, {
        kind: 'malformed',
        cause: error,
      })
    }
  }

  private failInStream(frame: unknown, raw: string | undefined): void {
    const info = errorInfoFromJSON(frame, this.secret)
    const message =
      info?.message || (raw && redact(raw, this.secret).slice(0, 500)) || 'unknown error'
    const code = info?.code
    this.failure = new UpstreamError(
      `${this.label} reported an error mid-stream${code === undefined ? '' : ` (code ${code})`}: ${message}`,
      { kind: 'in-stream', code },
    )
  }

  /** The request was aborted: stop, and rethrow the fetch's own AbortError (or the signal's reason). */
  private abortNow(error: unknown): never {
    this.state = 'closed'
    this.queue.length = 0
    this.head = 0
    void this.release()
    throw error ?? (this.signal as AbortSignal).reason
  }

  private readonly onAbort = (): void => {
    // Fetches that ignore the signal (custom ones, the binding) still stop here.
    void this.release()
  }

  private close(): void {
    this.state = 'closed'
    void this.release()
  }

  private async release(): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort)
    if (this.released) return
    this.released = true
    try {
      await this.reader.cancel(this.signal?.aborted ? this.signal.reason : undefined)
    } catch {
      // Already errored or closed: nothing left to release.
    }
  }
}

function safeParse(data: string): unknown {
  try {
    return JSON.parse(data)
  } catch {
    return undefined
  }
}
