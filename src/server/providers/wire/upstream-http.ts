import { UpstreamError } from '../provider'
import { parseErrorBody, redact } from './error-body'
import { parseRetryAfter } from './retry-after'
import type { Transport, UpstreamResponse } from './upstream-transport'
import { statusForWorkersAICode } from './workers-ai-error-codes'

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>

export interface PostJSONOptions {
  /** A configured `fetch`, or defaultTransport. */
  transport: Transport
  url: string
  headers: Record<string, string>
  body: unknown
  signal: AbortSignal
  /** Who answered, for error messages (`Workers AI`, `ollama`, ...). */
  label: string
  /** Removed from every error message, in case an upstream echoes it. */
  secret?: string
}

/**
 * POSTs a JSON body and resolves with a 2xx answer. A non-2xx answer rejects with an
 * `UpstreamError` of kind `http`; a fetch rejection with kind `network`, except an abort of
 * `signal`, which propagates unchanged so the caller can tell an abort from a failure.
 */
export async function postJSON(options: PostJSONOptions): Promise<UpstreamResponse> {
  const { signal, label, secret } = options
  // Serialised outside the try: a body that cannot be serialised (too deep, a cycle) is the
  // caller's problem and must not pass for a (retryable) network failure.
  const body = JSON.stringify(options.body)
  let response: UpstreamResponse
  try {
    response = await options.transport(options.url, {
      method: 'POST',
      headers: options.headers,
      body,
      signal,
    })
  } catch (error) {
    if (signal.aborted) throw error
    throw new UpstreamError(redact(`${label} could not be reached: ${messageOf(error)}`, secret), {
      kind: 'network',
      cause: error,
    })
  }
  if (!response.ok) throw await errorFromResponse(response, options)
  return response
}

/** Turns a non-2xx answer into an `UpstreamError` (reads the body; never includes the secret). */
async function errorFromResponse(
  response: UpstreamResponse,
  options: { signal: AbortSignal; label: string; secret?: string },
): Promise<UpstreamError> {
  let text = ''
  try {
    text = await response.text()
  } catch (error) {
    if (options.signal.aborted) throw error
  }
  const info = parseErrorBody(text, options.secret)
  const status = response.status
  const code = info.code
  const detail = info.message === '' ? response.statusText : info.message
  // Redacted again as a whole: the secret could also arrive split across the parts joined here.
  const message = `${options.label} answered ${status}${code === undefined ? '' : ` (code ${code})`}${detail ? `: ${detail}` : ''}`
  return new UpstreamError(redact(message, options.secret), {
    kind: 'http',
    status,
    code,
    retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
  })
}

/**
 * An error envelope inside a 2xx answer (`success: false`): reported as `http` with the status the
 * code stands for, or 502 when the code is unknown.
 */
export function envelopeError(
  label: string,
  info: { message: string; code?: string },
  secret?: string,
): UpstreamError {
  const status = statusForWorkersAICode(info.code) ?? 502
  const code = info.code === undefined ? '' : ` (code ${info.code})`
  return new UpstreamError(redact(`${label} reported an error${code}: ${info.message}`, secret), {
    kind: 'http',
    status,
    code: info.code,
  })
}

/** Reads a 2xx body as JSON: a read failure is `network` (an abort propagates), bad JSON `malformed`. */
export async function readJSON(
  response: UpstreamResponse,
  options: { signal: AbortSignal; label: string },
): Promise<unknown> {
  let text: string
  try {
    text = await response.text()
  } catch (error) {
    if (options.signal.aborted) throw error
    throw new UpstreamError(`${options.label} connection failed while reading the answer`, {
      kind: 'network',
      cause: error,
    })
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new UpstreamError(`${options.label} answered with invalid JSON`, {
      kind: 'malformed',
      cause: error,
    })
  }
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) {
    // undici hides the reason (ECONNREFUSED, ...) in `cause`.
    const cause = (error as { cause?: unknown }).cause
    const causeMessage = cause instanceof Error && cause.message ? ` (${cause.message})` : ''
    return `${error.message}${causeMessage}`
  }
  return String(error)
}
