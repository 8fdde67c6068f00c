// Shared by the protocol decoder tests: the settings a body is checked against, the cache key of
// a decoded request, and the ValidationError a bad body gets.
import { expect } from 'vitest'
import { cacheKey } from '../../../src/server/cache/cache-key'
import { resolveConfig } from '../../../src/server/config'
import { ValidationError } from '../../../src/server/errors'
import type { ParsedRequest } from '../../../src/server/protocols/chat-completions/validate-request'

export const MODEL = '@cf/meta/llama-3.1-8b-instruct'
export const OTHER = '@cf/openai/gpt-oss-20b'

/** Two allowed models and small limits (5 messages of 50 characters), so over-limit bodies stay short. */
export const settings = resolveConfig({
  model: MODEL,
  models: [MODEL, OTHER],
  limits: { maxMessages: 5, maxMessageChars: 50 },
})

/** The cache key of a decoded request: equal keys share one cached answer. */
export function keyOf(request: Pick<ParsedRequest, 'model' | 'messages' | 'params'>): string {
  return cacheKey(request.model, request.messages, request.params)
}

/** The ValidationError `decode` throws; fails the test if it returns or throws anything else. */
export function validationError(decode: () => unknown): ValidationError {
  try {
    decode()
  } catch (error) {
    if (error instanceof ValidationError) return error
    throw error
  }
  throw new Error('decode accepted the body')
}

/**
 * For property tests over arbitrary bodies: `decode` returns a request with at least one message,
 * or throws a 400 or 413 ValidationError; never anything else.
 */
export function expectRequestOrRejection(
  decode: () => { request: Pick<ParsedRequest, 'messages'> },
): void {
  try {
    expect(decode().request.messages.length).toBeGreaterThan(0)
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError)
    expect([400, 413]).toContain((error as ValidationError).status)
  }
}
