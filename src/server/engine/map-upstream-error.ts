import { APIError, isAbortError, ValidationError } from '../errors'
import { UpstreamError } from '../providers/provider'

const CREDENTIALS =
  'check the `apiKey` setting (env CLOUDFLARE_API_TOKEN) and `accountId` (env CLOUDFLARE_ACCOUNT_ID), or the credentials of your `provider`'

/** Workers AI codes meaning "no such model": 5007 (HTTP 400) and 3042 (HTTP 404). */
export function isModelNotFound(error: unknown): boolean {
  return (
    error instanceof UpstreamError &&
    (error.code === '5007' ||
      error.code === '3042' ||
      (error.kind === 'http' && error.status === 404))
  )
}

/**
 * Turns any failure of the upstream into the APIError the caller sees, with a truthful status:
 * 400/413 pass through with the upstream message (the caller's input); 401/403/404 and unknown
 * models are our configuration (502, naming the setting); 429 stays 429 with its Retry-After; 408
 * is a timeout (504); everything else is 502.
 */
export function toAPIError(error: unknown, model: string): APIError | ValidationError | Error {
  if (error instanceof APIError || error instanceof ValidationError || isAbortError(error)) {
    return error as Error
  }
  if (!(error instanceof UpstreamError)) {
    return new APIError(`Upstream failed: ${(error as Error)?.message ?? String(error)}`, {
      status: 502,
      type: 'upstream_error',
      cause: error,
    })
  }
  const status = error.status
  const retryAfter =
    error.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(error.retryAfterMs / 1000))
  const base = { code: error.code ?? null, upstreamStatus: status, cause: error }
  if (isModelNotFound(error)) {
    return new APIError(
      `The upstream does not know the model ${JSON.stringify(model)} (HTTP ${status ?? '?'}): check the \`model\` setting (and \`fallback\`/\`models\`)${status === 404 ? `, or \`accountId\` and \`baseURL\`` : ''}. Upstream said: ${error.message}`,
      { ...base, status: 502, type: 'upstream_error' },
    )
  }
  if (error.kind === 'http' && status !== undefined) {
    if (status === 400 || status === 413) {
      return new APIError(error.message, { ...base, status, type: 'invalid_request_error' })
    }
    if (status === 401 || status === 403) {
      return new APIError(
        `The upstream refused our credentials (HTTP ${status}): ${CREDENTIALS}. Upstream said: ${error.message}`,
        { ...base, status: 502, type: 'upstream_error' },
      )
    }
    if (status === 429) {
      // Always with a Retry-After: without the upstream's, a 1 s hint (clients back off further).
      return new APIError(`The upstream is rate limiting requests: ${error.message}`, {
        ...base,
        status: 429,
        type: 'rate_limit_error',
        retryAfter: retryAfter ?? 1,
      })
    }
    if (status === 408) {
      return new APIError(`The upstream timed out: ${error.message}`, {
        ...base,
        status: 504,
        type: 'timeout_error',
      })
    }
    return new APIError(`The upstream failed (HTTP ${status}): ${error.message}`, {
      ...base,
      status: 502,
      type: 'upstream_error',
      ...(retryAfter !== undefined ? { retryAfter } : {}),
    })
  }
  const what: Record<string, string> = {
    network: 'Could not reach the upstream',
    truncated: 'The upstream stream ended early',
    malformed: 'The upstream sent a response that could not be understood',
    'in-stream': 'The upstream reported an error',
  }
  return new APIError(`${what[error.kind] ?? 'The upstream failed'}: ${error.message}`, {
    ...base,
    status: 502,
    type: 'upstream_error',
  })
}
