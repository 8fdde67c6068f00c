import { APIError, errorBody, ValidationError } from '../errors'

export function jsonResponse(
  body: unknown,
  status: number,
  headers?: Record<string, string>,
): Response {
  // A literal and assignments, not spreads (see sseHeaders: spreading cost ~25x).
  const all: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
  }
  if (headers) for (const name in headers) all[name] = headers[name] as string
  return new Response(JSON.stringify(body), { status, headers: all })
}

/**
 * An error's JSON with its status (and `Retry-After` when it has one): the OpenAI error envelope,
 * or `body` (another protocol's error shape).
 */
export function errorResponse(
  error: ValidationError | APIError,
  headers: Record<string, string> = {},
  body: unknown = errorBody(error),
): Response {
  const extra: Record<string, string> = { ...headers }
  if (error instanceof APIError && error.retryAfter !== undefined) {
    extra['Retry-After'] = String(error.retryAfter)
  }
  return jsonResponse(body, error.status, extra)
}

/** 405 for a method the endpoint does not serve (`allow`: the ones it does). */
export function methodNotAllowed(method: string, allow = 'POST'): Response {
  return errorResponse(
    new ValidationError(`Method ${method} is not allowed; use ${allow.replace(', ', ' or ')}.`, {
      status: 405,
      code: 'method_not_allowed',
    }),
    { Allow: allow },
  )
}
