/** What an upstream error body says, whatever its shape. */
export interface ErrorBodyInfo {
  message: string
  code?: string
}

const MAX_MESSAGE = 500

/** Removes the `AiError: AiError: ` (and `InferenceUpstreamError: `) prefix noise Workers AI adds. */
export function cleanAiErrorMessage(message: string): string {
  return message.replace(/^(?:\s*(?:AiError|InferenceUpstreamError)\s*:\s*)+/, '').trim()
}

/**
 * Reads an error body: the Cloudflare v4 envelope `{errors:[{code,message}]}`, OpenAI's
 * `{error:{message,type,code}}`, Ollama's `{error:"..."}`, or plain text (shortened).
 */
export function parseErrorBody(text: string, secret?: string): ErrorBodyInfo {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { message: shorten(redact(text.trim(), secret)) }
  }
  return errorInfoFromJSON(json, secret) ?? { message: shorten(redact(text.trim(), secret)) }
}

/**
 * The error described by a parsed JSON value, or `undefined` when it describes none. `secret` is
 * removed before messages are shortened, so a cut can never leave part of it behind.
 */
export function errorInfoFromJSON(json: unknown, secret?: string): ErrorBodyInfo | undefined {
  if (typeof json !== 'object' || json === null) return undefined
  const body = json as { errors?: unknown; error?: unknown; message?: unknown }
  if (Array.isArray(body.errors) && body.errors.length > 0) {
    const first = body.errors[0] as { code?: unknown; message?: unknown } | null
    const messages: string[] = []
    for (const entry of body.errors as Array<{ message?: unknown } | null>) {
      if (typeof entry?.message === 'string') {
        messages.push(cleanAiErrorMessage(redact(entry.message, secret)))
      }
    }
    return {
      message: shorten(messages.join('; ')),
      code: codeOf(first?.code),
    }
  }
  if (typeof body.error === 'string') return { message: shorten(redact(body.error, secret)) }
  if (typeof body.error === 'object' && body.error !== null) {
    const error = body.error as { message?: unknown; code?: unknown; type?: unknown }
    return {
      message: shorten(typeof error.message === 'string' ? redact(error.message, secret) : ''),
      code: codeOf(error.code) ?? codeOf(error.type),
    }
  }
  return undefined
}

function codeOf(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value === 'string' && value !== '') return value
  return undefined
}

function shorten(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text
}

/** Removes every occurrence of `secret` from `text`. */
export function redact(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('[redacted]') : text
}
