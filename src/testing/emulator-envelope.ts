// Cloudflare v4 envelope responses: the success wrapper and every error the emulator answers.

export interface EnvelopeError {
  code: number
  message: string
}

export function jsonResponse(
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  const text = JSON.stringify(body)
  return new Response(text, {
    status,
    headers: {
      'content-type': 'application/json',
      'content-length': String(new TextEncoder().encode(text).byteLength),
      ...headers,
    },
  })
}

export function successEnvelope(result: unknown, headers: Record<string, string> = {}): Response {
  return jsonResponse({ result, success: true, errors: [], messages: [] }, 200, headers)
}

export function errorEnvelope(
  status: number,
  errors: EnvelopeError | EnvelopeError[],
  headers: Record<string, string> = {},
): Response {
  const list = Array.isArray(errors) ? errors : [errors]
  return jsonResponse({ result: null, success: false, errors: list, messages: [] }, status, headers)
}

export const AUTH_ERROR: EnvelopeError = { code: 10000, message: 'Authentication error' }

export function noRoute(path: string, accountMismatch: boolean): Response {
  const errors: EnvelopeError[] = accountMismatch
    ? [
        {
          code: 7003,
          message: `Could not route to ${path}, perhaps your object identifier is invalid?`,
        },
        { code: 7000, message: 'No route for that URI' },
      ]
    : [{ code: 7000, message: 'No route for that URI' }]
  return errorEnvelope(404, errors)
}

export function methodNotAllowed(method: string): Response {
  return errorEnvelope(
    405,
    { code: 7001, message: `Method ${method} not available for that URI.` },
    { allow: 'POST' },
  )
}

export function badInput(message: string, code = 5006): Response {
  return errorEnvelope(400, { code, message })
}

export function noSuchModel(model: string): Response {
  return errorEnvelope(400, { code: 5007, message: `AiError: No such model ${model} or task` })
}

/** What a `status` fault answers when it names no code or message (wire-formats §1.5). */
export function defaultErrorFor(status: number): EnvelopeError {
  switch (status) {
    case 400:
      return { code: 5006, message: 'AiError: Bad input' }
    case 401:
    case 403:
      return AUTH_ERROR
    case 404:
      return { code: 3042, message: 'AiError: Invalid model ID' }
    case 408:
      return { code: 3007, message: 'AiError: Request timeout' }
    case 413:
      return { code: 3006, message: 'AiError: Request is too large' }
    case 429:
      return { code: 3040, message: 'Capacity temporarily exceeded, please try again.' }
    default:
      return status >= 500
        ? { code: 3043, message: 'AiError: Internal server error' }
        : { code: status, message: `AiError: HTTP ${status}` }
  }
}
