import type { CompletionResult, UpstreamEvent } from '../provider'
import { UpstreamError } from '../provider'
import { completionEvents } from './completion-events'
import { errorInfoFromJSON } from './error-body'
import { normalizeStream } from './normalize-stream'
import { completionFromBody } from './parse-completion'
import { envelopeError, readJSON } from './upstream-http'
import type { UpstreamResponse } from './upstream-transport'

export interface StreamResponseOptions {
  signal: AbortSignal
  label: string
  secret?: string
  /**
   * Asked for the answer when a stream request got an *empty* JSON result: gpt-oss does that on
   * some `/ai/run` paths, and Cloudflare's own client then asks once more with `stream: false`
   * (wire-formats §1.4). A protocol fallback for that quirk, not a retry.
   */
  completeInstead?: () => Promise<CompletionResult>
}

/**
 * The events of a 2xx answer to a `stream: true` request. `application/json` means the upstream
 * answered with a complete result instead of a stream (gpt-oss on some paths, JSON mode): it is
 * replayed as a synthetic stream. Anything else is read as SSE.
 */
export async function eventsFromResponse(
  response: UpstreamResponse,
  options: StreamResponseOptions,
): Promise<AsyncIterable<UpstreamEvent>> {
  const contentType = response.headers.get('content-type') ?? ''
  if (contentType.includes('json')) {
    const result = completionFromJSONBody(await readJSON(response, options), options)
    const replay =
      isEmptyCompletion(result) && options.completeInstead
        ? await options.completeInstead()
        : result
    return completionEvents(replay)
  }
  if (response.body === null) {
    throw new UpstreamError(`${options.label} answered a stream request with an empty body`, {
      kind: 'malformed',
    })
  }
  return normalizeStream(response.body, {
    signal: options.signal,
    label: options.label,
    secret: options.secret,
  })
}

/** A parsed 2xx JSON body as a completion; an error envelope inside it (`success: false`) throws. */
export function completionFromJSONBody(
  body: unknown,
  options: { label: string; secret?: string },
): ReturnType<typeof completionFromBody> {
  if (typeof body === 'object' && body !== null) {
    const envelope = body as { success?: unknown; error?: unknown }
    if (envelope.success === false || (envelope.error != null && !('choices' in body))) {
      const info = errorInfoFromJSON(body, options.secret)
      if (info !== undefined) throw envelopeError(options.label, info, options.secret)
    }
  }
  return completionFromBody(body, options.label)
}

/** An answer with nothing in it: no text, no reasoning, no tool call. */
export function isEmptyCompletion(result: CompletionResult): boolean {
  return result.text === '' && !result.reasoning && result.toolCalls === undefined
}
