import type { ErrorType, OpenAIErrorBody } from '../shared/chat-types'

/** The request is invalid: answered with `status` (400, or 413 for a limit) and never retried. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError'
  /** The offending request field, e.g. `messages[2].role`; null when the body as a whole is wrong. */
  readonly param: string | null
  readonly status: number
  readonly type = 'invalid_request_error'
  readonly code: string

  constructor(
    message: string,
    options: { param?: string | null; status?: number; code?: string } = {},
  ) {
    super(message)
    this.param = options.param ?? null
    this.status = options.status ?? 400
    this.code = options.code ?? (this.status === 413 ? 'request_too_large' : 'invalid_request')
  }
}

export interface APIErrorOptions {
  status: number
  type: ErrorType
  /** The upstream's own code (e.g. Workers AI `3040`) or ours (`missing_credentials`). */
  code?: string | null
  /** Seconds the caller should wait before trying again (sent as `Retry-After`). */
  retryAfter?: number
  /** The upstream's HTTP status, when there was one. */
  upstreamStatus?: number
  cause?: unknown
}

/** The upstream failed, timed out or is misconfigured; `status` is what the HTTP handler answers. */
export class APIError extends Error {
  override readonly name = 'APIError'
  readonly status: number
  readonly type: ErrorType
  readonly code: string | null
  readonly retryAfter: number | undefined
  readonly upstreamStatus: number | undefined
  readonly param = null

  constructor(message: string, options: APIErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.status = options.status
    this.type = options.type
    this.code = options.code ?? null
    this.retryAfter = options.retryAfter
    this.upstreamStatus = options.upstreamStatus
  }
}

/** The OpenAI error envelope for a ValidationError or APIError. */
export function errorBody(error: ValidationError | APIError): OpenAIErrorBody {
  return {
    error: { message: error.message, type: error.type, code: error.code, param: error.param },
  }
}

/** True for an abort caused by the caller (client disconnect or `signal`). */
export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    ((error as { name?: unknown }).name === 'AbortError' ||
      (error as { name?: unknown }).name === 'ClientAbort')
  )
}

/** The same error with `secret` cut out of its message (responses never carry the API key). */
export function redactError<E extends ValidationError | APIError>(
  error: E,
  secret: string | undefined,
): E {
  if (!secret || !error.message.includes(secret)) return error
  const message = error.message.replaceAll(secret, '[redacted]')
  if (error instanceof ValidationError) {
    return new ValidationError(message, {
      param: error.param,
      status: error.status,
      code: error.code,
    }) as E
  }
  const api = error as APIError
  return new APIError(message, {
    status: api.status,
    type: api.type,
    code: api.code,
    ...(api.retryAfter !== undefined ? { retryAfter: api.retryAfter } : {}),
    ...(api.upstreamStatus !== undefined ? { upstreamStatus: api.upstreamStatus } : {}),
  }) as E
}
