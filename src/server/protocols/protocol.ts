import type { CachedAnswer } from '../cache/response-cache'
import type { AnswerEvent, AnswerMeta } from '../engine/answer-event'
import type { APIError, ValidationError } from '../errors'
import type { ParsedRequest, RequestSettings } from './chat-completions/validate-request'

/** The wire protocols one handler speaks (config `protocols` restricts them). */
export type ProtocolName = 'chat-completions' | 'responses' | 'ag-ui' | 'ui-message-stream'

/** A request in the one internal shape, plus what the protocol needs to echo back (ids). */
export interface Decoded<Context = unknown> {
  request: ParsedRequest
  context: Context
}

/**
 * Turns the answer's events into one protocol's bytes. It writes into its own buffer (a
 * `ByteBuffer`); the SSE body calls `take()` once per chunk. It never reads the upstream, never
 * times anything and never touches the cache: the answer pipeline does all of that once for all
 * protocols.
 */
export interface StreamEncoder {
  /** Bytes written since the last `take()`. */
  readonly size: number
  /** The opening bytes (Chat Completions: the role chunk; AG-UI: RUN_STARTED; ...), once. */
  start(): void
  /** One event; `finish` ends the protocol's stream (its terminator included, e.g. `[DONE]`). */
  event(event: AnswerEvent): void
  /**
   * A failure after the response started: the protocol's in-stream error; nothing follows it. It
   * can come without `start()` (the response opened with pings while the upstream was slow to
   * answer, then the upstream failed): then it writes whatever the protocol needs first.
   */
  error(error: APIError | ValidationError): void
  /** The chunk written so far (the caller's to keep); the buffer starts over. */
  take(): Uint8Array
}

export interface Protocol<Context = unknown> {
  readonly name: ProtocolName
  /**
   * The body (already parsed JSON, within the size limit) in the one internal shape. Throws a
   * ValidationError (400/413) for bad input, naming the protocol's own field in `param`.
   */
  decode(body: unknown, settings: RequestSettings): Decoded<Context>
  /** The encoder of one streamed answer. */
  encoder(meta: AnswerMeta, decoded: Decoded<Context>): StreamEncoder
  /** Headers a stream of this protocol carries besides the SSE ones (e.g. the AI SDK's marker). */
  readonly streamHeaders?: Readonly<Record<string, string>>
  /** The JSON body of a complete answer, for protocols with a non-stream form. */
  json?(answer: CachedAnswer, meta: AnswerMeta, decoded: Decoded<Context>): unknown
  /** The body of an error answered before the stream, in the protocol's shape (OpenAI's when absent). */
  errorBody?(error: APIError | ValidationError): unknown
}
