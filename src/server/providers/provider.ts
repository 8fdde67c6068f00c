import type {
  ChatMessage,
  FinishReason,
  Tool,
  ToolCall,
  ToolCallDelta,
  ToolChoice,
  Usage,
} from '../../shared/chat-types'

/** Generation parameters forwarded upstream (already validated). */
export interface GenerationParams {
  temperature?: number
  top_p?: number
  max_tokens?: number
  seed?: number
  stop?: string | string[]
  frequency_penalty?: number
  presence_penalty?: number
  tools?: Tool[]
  tool_choice?: ToolChoice
}

export interface ProviderRequest {
  model: string
  messages: ChatMessage[]
  params: GenerationParams
  /** Aborted when the caller disconnects or a timeout fires: the upstream fetch must stop at once. */
  signal: AbortSignal
  /**
   * The same opaque value for every turn of one conversation (config `sessionAffinity`), for
   * upstreams that route by it to the instance holding the conversation's prompt prefix: Workers
   * AI's `x-session-affinity`. A provider whose upstream has no such routing ignores it.
   */
  sessionAffinity?: string | undefined
}

/**
 * A normalised upstream event. Whatever the wire shape (native Workers AI frames, OpenAI chunks,
 * JSON answered to a stream request, the binding's stream), a provider yields only these.
 */
export type UpstreamEvent =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string }
  /** `id`, `type` and `function.name` only on the first fragment of each index; never the null sentinel. */
  | { type: 'tool-call'; delta: ToolCallDelta }
  | { type: 'usage'; usage: Usage }
  | { type: 'finish'; reason: FinishReason }

/**
 * Optional and additive: the iterator of the iterable `Provider.stream()` resolves to may also
 * offer `nextBatch()`, handing over in one call every event already parsed (typically one network
 * read's worth). The engine uses it when present and falls back to `next()` otherwise, so a plain
 * `AsyncIterable<UpstreamEvent>` (an async generator) stays a complete provider.
 *
 * Why: a 200,000-token stream is ~600 network reads but 200,000 events; one promise per read
 * instead of one per event is what lets the engine keep up with a pass-through proxy.
 */
export interface UpstreamBatchIterator extends AsyncIterator<UpstreamEvent> {
  /**
   * Resolves with at least one event, in order, and the same events `next()` would have given
   * one by one (the two may be mixed); `done` at the end; rejects as `next()` would. The array
   * is the caller's to keep.
   */
  nextBatch(): Promise<IteratorResult<UpstreamEvent[], undefined>>
}

/**
 * Internal (not exported from the package): set on an iterator whose pending read ends, rejecting
 * with the signal's reason, once that signal aborts, as copilotedge's own stream normaliser does.
 * The engine then needs no abort race of its own around each read (hot path: one per network
 * read); any other iterator gets one, so a provider that ignores its signal cannot hold a read.
 */
export const READS_END_ON_ABORT: unique symbol = Symbol('copilotedge.readsEndOnAbort')

/** Whether `iterator` offers `nextBatch()` (see `UpstreamBatchIterator`). */
export function hasBatches(
  iterator: AsyncIterator<UpstreamEvent>,
): iterator is UpstreamBatchIterator {
  return typeof (iterator as Partial<UpstreamBatchIterator>).nextBatch === 'function'
}

export interface CompletionResult {
  text: string
  reasoning?: string
  toolCalls?: ToolCall[]
  finishReason: FinishReason
  usage?: Usage
}

/**
 * The upstream, as the engine sees it: one streaming call. Every answer (non-stream replies
 * included) goes through `stream()`, so retries, timeouts, fallback and the cache behave the same
 * whatever the client asked for; a provider implements nothing else.
 */
export interface Provider {
  /** Short name for logs and metrics, e.g. `workers-ai`. */
  readonly name: string
  /**
   * Starts a streaming completion. Resolves once the upstream answered with a success status;
   * rejects with `UpstreamError` otherwise. The iterable yields normalised events, then exactly one
   * `finish` event (synthesised when the wire has none: `tool_calls` if a tool call was seen, else
   * `stop`), with at most one `usage` event (the last cumulative figures) just before it, and ends.
   * A body that ends with no terminal signal (`[DONE]`, a finish_reason, the Workers AI usage frame)
   * throws `UpstreamError` of kind `truncated` instead of ending quietly.
   */
  stream(request: ProviderRequest): Promise<AsyncIterable<UpstreamEvent>>
}

/** A built-in provider: `stream()` for the engine, plus a direct non-streaming call of its own. */
export interface CompletingProvider extends Provider {
  /** A non-streaming completion, straight from the upstream (no retries). Rejects with `UpstreamError`. */
  complete(request: ProviderRequest): Promise<CompletionResult>
}

export type UpstreamErrorKind =
  /** The upstream answered a non-2xx status. */
  | 'http'
  /** The connection failed or was reset (fetch threw), before or during the body. */
  | 'network'
  /** The stream ended without a terminal signal. */
  | 'truncated'
  /** A frame or body that could not be understood. */
  | 'malformed'
  /** The upstream sent an error frame inside a stream. */
  | 'in-stream'

export interface UpstreamErrorOptions {
  kind: UpstreamErrorKind
  /** HTTP status of the upstream answer, for kind `http`. */
  status?: number
  /** The upstream's own error code (Workers AI internal code such as `3040`, or OpenAI `code`). */
  code?: string
  /** Parsed `Retry-After`, in milliseconds. */
  retryAfterMs?: number
  cause?: unknown
}

/** Any failure talking to the upstream. Its message never contains credentials. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError'
  readonly kind: UpstreamErrorKind
  readonly status: number | undefined
  readonly code: string | undefined
  readonly retryAfterMs: number | undefined

  constructor(message: string, options: UpstreamErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.kind = options.kind
    this.status = options.status
    this.code = options.code
    this.retryAfterMs = options.retryAfterMs
  }
}
