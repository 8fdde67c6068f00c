import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cacheKey } from '../../src/server/cache/cache-key'
import { sha256Hex } from '../../src/server/cache/sha256'
import { resolveConfig } from '../../src/server/config'
import { backoffDelay } from '../../src/server/engine/retry'
import { SseEncoder } from '../../src/server/protocols/chat-completions/sse-encoder'

describe('sha256Hex', () => {
  it('matches node:crypto for any string, across block boundaries and astral characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'))
      }),
      { numRuns: 500 },
    )
    for (const n of [0, 55, 56, 63, 64, 65, 119, 120, 100_000]) {
      const text = 'a'.repeat(n)
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text).digest('hex'))
    }
  })
})

describe('cacheKey', () => {
  it('depends on model, messages and every generation parameter, in a fixed order', () => {
    const base = cacheKey('m', [{ role: 'user', content: 'hi' }], { temperature: 0.5, top_p: 1 })
    expect(cacheKey('m', [{ role: 'user', content: 'hi' }], { top_p: 1, temperature: 0.5 })).toBe(
      base,
    )
    expect(
      cacheKey('n', [{ role: 'user', content: 'hi' }], { temperature: 0.5, top_p: 1 }),
    ).not.toBe(base)
    expect(
      cacheKey('m', [{ role: 'user', content: 'hi!' }], { temperature: 0.5, top_p: 1 }),
    ).not.toBe(base)
    expect(
      cacheKey('m', [{ role: 'user', content: 'hi' }], { temperature: 0.6, top_p: 1 }),
    ).not.toBe(base)
    expect(
      cacheKey('m', [{ role: 'user', content: 'hi' }], { temperature: 0.5, top_p: 1, seed: 1 }),
    ).not.toBe(base)
    expect(base).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe('resolveConfig', () => {
  it('applies the documented defaults', () => {
    const config = resolveConfig({ apiKey: 'k', accountId: 'a' })
    expect(config).toMatchObject({
      model: '@cf/meta/llama-3.1-8b-instruct',
      stream: false,
      debug: false,
      cache: { ttl: 60_000, maxEntries: 1000, maxBytes: 16 * 1024 * 1024 },
      retry: { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 4000, maxRetryAfterMs: 10_000 },
      timeoutMs: 30_000,
      idleTimeoutMs: 30_000,
      heartbeatMs: 5_000,
      limits: { maxBodyBytes: 1024 * 1024, maxMessages: 500, maxMessageChars: 100_000 },
      baseURL: 'https://api.cloudflare.com/client/v4',
    })
    expect([...config.models]).toEqual(['@cf/meta/llama-3.1-8b-instruct'])
    expect([...resolveConfig({ model: 'a', fallback: 'b' }).models]).toEqual(['a', 'b'])
  })

  it('treats 0 and false as off, never as "use the default"', () => {
    const config = resolveConfig({
      timeoutMs: 0,
      idleTimeoutMs: 0,
      heartbeatMs: 0,
      retry: { maxAttempts: 0, baseDelayMs: 0 },
      cache: { ttl: 0 },
    })
    expect(config).toMatchObject({ timeoutMs: 0, idleTimeoutMs: 0, heartbeatMs: 0, cache: false })
    expect(config.retry).toMatchObject({ maxAttempts: 1, baseDelayMs: 0 })
    expect(resolveConfig({ retry: false }).retry.maxAttempts).toBe(1)
    expect(resolveConfig({ cache: false }).cache).toBe(false)
    expect(resolveConfig({ stream: false }).stream).toBe(false)
  })

  it('rejects negative or non-numeric settings with a TypeError naming them', () => {
    expect(() => resolveConfig({ timeoutMs: -1 })).toThrow(/timeoutMs/)
    expect(() => resolveConfig({ retry: { maxAttempts: Number.NaN } })).toThrow(/retry.maxAttempts/)
  })
})

describe('backoffDelay', () => {
  it('is full jitter: within [0, min(maxDelayMs, baseDelayMs·2^n))', () => {
    const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1500, maxRetryAfterMs: 0 }
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (n, r) => {
          const delay = backoffDelay(n, policy, () => r)
          expect(delay).toBeGreaterThanOrEqual(0)
          expect(delay).toBeLessThan(Math.min(1500, 100 * 2 ** n))
        },
      ),
    )
  })
})

describe('SseEncoder', () => {
  it('writes the same bytes as JSON.stringify of the whole chunk', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), (text, model) => {
        const encoder = new SseEncoder('chatcmpl-x', 123, model)
        encoder.role()
        const event = encoder.content(text)
        const expected = {
          id: 'chatcmpl-x',
          object: 'chat.completion.chunk',
          created: 123,
          model,
          choices: [{ index: 0, delta: { content: text }, finish_reason: null }],
        }
        expect(event).toBe(`id: 2\ndata: ${JSON.stringify(expected)}\n\n`)
      }),
    )
  })
})
