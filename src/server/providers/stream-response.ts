import { completionEvents } from './completion-events'
import { errorInfoFromJSON } from './error-body'
import { normalizeStream } from './normalize-stream'
import { completionFromBody } from './parse-completion'
import type { UpstreamEvent } from './provider'
import { UpstreamError } from './provider'
import { envelopeError, readJSON } from './upstream-http'

export interface StreamResponseOptions {
  signal: AbortSignal
  label: string
  secret?: string
}

/**
 * The events of a 2xx answer to a `stream: true` request. `application/json` means the upstream
 * answered with a complete result instead of a stream (gpt-oss on some paths, JSON mode): it is
 * replayed as a synthetic stream. Anything else is read as SSE.
 */
export async function eventsFromResponse(
  response: Response,
  options: StreamResponseOptions,
): Promise<AsyncIterable<UpstreamEvent>> {
  const contentType = response.headers.get('content-type') ?? ''
  if (contentType.includes('json')) {
    return completionEvents(completionFromJSONBody(await readJSON(response, options), options))
  }
  if (response.body === null) {
    throw new UpstreamError(`${options.label} answered a stream request with an empty body`, {
      kind: 'malformed',
    })
  }
  return normalizeStream(response.body, { signal: options.signal, label: options.label })
}

/** A parsed 2xx JSON body as a completion; an error envelope inside it (`success: false`) throws. */
export function completionFromJSONBody(
  body: unknown,
  options: { label: string; secret?: string },
): ReturnType<typeof completionFromBody> {
  if (typeof body === 'object' && body !== null) {
    const envelope = body as { success?: unknown; error?: unknown }
    if (envelope.success === false || (envelope.error != null && !('choices' in body))) {
      const info = errorInfoFromJSON(body)
      if (info !== undefined) throw envelopeError(options.label, info, options.secret)
    }
  }
  return completionFromBody(body, options.label)
}
