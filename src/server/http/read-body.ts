import { ValidationError } from '../errors'

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/** One per process: `decode()` without `stream` keeps no state between calls. */
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Reads and parses a JSON request body: 415 unless the content type is JSON, 413 beyond `maxBytes`
 * (checked on Content-Length first, then while reading, which stops at the cap instead of
 * buffering an endless body), 400 for bytes that are not UTF-8 or text that is not JSON.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const type = request.headers.get('content-type') ?? ''
  if (!JSON_TYPE.test(type)) {
    throw new ValidationError(
      `Content-Type must be application/json${type ? ` (got ${type.split(';')[0]})` : ''}.`,
      { status: 415, code: 'unsupported_media_type' },
    )
  }
  const tooLarge = () =>
    new ValidationError(`Request body exceeds the limit of ${maxBytes} bytes.`, { status: 413 })
  const declared = Number(request.headers.get('content-length'))
  if (maxBytes > 0 && declared > maxBytes) throw tooLarge()

  const bytes = await readCapped(request, maxBytes, tooLarge)
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    throw new ValidationError('Request body is not valid UTF-8.', { code: 'invalid_encoding' })
  }
  if (text.trim() === '')
    throw new ValidationError('Request body is empty.', { code: 'invalid_json' })
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new ValidationError(`Request body is not valid JSON: ${(error as Error).message}`, {
      code: 'invalid_json',
    })
  }
}

async function readCapped(
  request: Request,
  maxBytes: number,
  tooLarge: () => ValidationError,
): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array(0)
  const reader = request.body.getReader()
  const parts: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (maxBytes > 0 && total > maxBytes) {
      reader.cancel().catch(() => {})
      throw tooLarge()
    }
    parts.push(value)
  }
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(total)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}
