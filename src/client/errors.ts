// Typed errors thrown by `readSSE` and `streamCopilot`. Each has a stable `name` (a string literal, so it
// survives minification) for code that cannot use `instanceof` across bundles. An abort is not one of
// these: it surfaces as the standard `AbortError` (the signal's reason), exactly as `fetch` does.
import type { OpenAIErrorBody } from '../shared/chat-types'

/** The server answered with a non-2xx status before the stream started. */
export class CopilotHTTPError extends Error {
  override readonly name = 'CopilotHTTPError'
  readonly status: number
  /** The parsed OpenAI error envelope, or the raw body text when it was not one. */
  readonly body: OpenAIErrorBody | string
  readonly type: string | undefined
  readonly code: string | null | undefined
  readonly param: string | null | undefined
  readonly headers: Headers

  constructor(init: { status: number; statusText: string; body: string; headers: Headers }) {
    const envelope = parseErrorEnvelope(init.body)
    const fallback = `HTTP ${init.status}${init.statusText ? ` ${init.statusText}` : ''}`
    const snippet = init.body.trim().slice(0, 200)
    super(envelope?.error.message ?? (snippet ? `${fallback}: ${snippet}` : fallback))
    this.status = init.status
    this.body = envelope ?? init.body
    this.type = envelope?.error.type
    this.code = envelope?.error.code
    this.param = envelope?.error.param
    this.headers = init.headers
  }
}

/** The response was 2xx but not `text/event-stream` (a proxy's HTML page, a JSON answer, ...). */
export class CopilotContentTypeError extends Error {
  override readonly name = 'CopilotContentTypeError'
  readonly contentType: string | null
  readonly status: number

  constructor(contentType: string | null, status: number) {
    super(`Expected a text/event-stream response, got ${contentType ?? 'no content type'}`)
    this.contentType = contentType
    this.status = status
  }
}

/** The server sent an in-stream `{"error": {...}}` payload (a failure after the first byte). */
export class CopilotStreamError extends Error {
  override readonly name = 'CopilotStreamError'
  readonly type: string | undefined
  readonly code: string | null | undefined
  /** The payload exactly as received. */
  readonly body: unknown

  constructor(payload: unknown) {
    const error = (payload as { error?: unknown } | null)?.error
    const details =
      typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {}
    const message =
      typeof details.message === 'string'
        ? details.message
        : typeof error === 'string'
          ? error
          : 'The stream reported an error'
    super(message)
    this.type = typeof details.type === 'string' ? details.type : undefined
    this.code = typeof details.code === 'string' || details.code === null ? details.code : undefined
    this.body = payload
  }
}

/** The body ended (or the connection dropped) before `data: [DONE]`: the answer is incomplete. */
export class CopilotTruncatedError extends Error {
  override readonly name = 'CopilotTruncatedError'

  constructor(options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super(`The stream ended before [DONE]${reason}`, options)
  }
}

/** One event (or one unterminated line) grew past `maxBufferSize` characters. */
export class CopilotBufferOverflowError extends Error {
  override readonly name = 'CopilotBufferOverflowError'
  readonly maxBufferSize: number

  constructor(maxBufferSize: number) {
    super(`An SSE event exceeded maxBufferSize (${maxBufferSize} characters)`)
    this.maxBufferSize = maxBufferSize
  }
}

/** An event's `data` could not be parsed (not JSON, or the custom `parse` threw). */
export class CopilotParseError extends Error {
  override readonly name = 'CopilotParseError'
  /** The raw `data` field, cut to 200 characters. */
  readonly data: string

  constructor(data: string, cause: unknown) {
    super(
      `Could not parse an SSE event's data: ${cause instanceof Error ? cause.message : cause}`,
      {
        cause,
      },
    )
    this.data = data.slice(0, 200)
  }
}

function parseErrorEnvelope(text: string): OpenAIErrorBody | undefined {
  try {
    const parsed: unknown = JSON.parse(text)
    const error = (parsed as { error?: unknown } | null)?.error
    if (
      typeof error === 'object' &&
      error !== null &&
      typeof (error as { message?: unknown }).message === 'string'
    ) {
      return parsed as OpenAIErrorBody
    }
  } catch {
    // Not JSON: the caller keeps the text.
  }
  return undefined
}

/**
 * A resumable stream lost its connection and could not get it back: every reconnect attempt failed
 * (`cause` is the last failure), or the server no longer knows the stream (404 `stream_not_found`,
 * 410 `stream_expired`). The text received until then is still in `getFullResponse()`'s caller's hands
 * through `onChunk`/iteration; `streamId` and `lastEventId` say where it stopped.
 */
export class CopilotReconnectError extends Error {
  override readonly name = 'CopilotReconnectError'
  /** Reconnect attempts made (GETs sent or tried) before giving up. */
  readonly attempts: number
  readonly streamId: string
  readonly lastEventId: string | undefined

  constructor(init: {
    attempts: number
    streamId: string
    lastEventId: string | undefined
    cause: unknown
  }) {
    const reason = init.cause instanceof Error ? `: ${init.cause.message}` : ''
    super(
      `Lost the stream ${init.streamId} and could not resume it after ${init.attempts} attempt${
        init.attempts === 1 ? '' : 's'
      }${reason}`,
      { cause: init.cause },
    )
    this.attempts = init.attempts
    this.streamId = init.streamId
    this.lastEventId = init.lastEventId
  }
}
