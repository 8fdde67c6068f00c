import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import {
  clientIp,
  createMemoryRateLimitStore,
  createRateLimiter,
  type RateLimitBucket,
  type RateLimitStore,
  retryAfterSeconds,
} from '../../../src/server/http/rate-limit'

function req(headers: Record<string, string> = {}): Request {
  return new Request('http://localhost/api', { method: 'POST', headers })
}

function clock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('clientIp', () => {
  it('prefers CF-Connecting-IP, then the first X-Forwarded-For hop, then X-Real-IP', () => {
    expect(
      clientIp(
        req({
          'cf-connecting-ip': '1.1.1.1',
          'x-forwarded-for': '2.2.2.2',
          'x-real-ip': '3.3.3.3',
        }),
      ),
    ).toBe('1.1.1.1')
    expect(
      clientIp(req({ 'x-forwarded-for': ' 2.2.2.2 , 10.0.0.1', 'x-real-ip': '3.3.3.3' })),
    ).toBe('2.2.2.2')
    expect(clientIp(req({ 'x-real-ip': '3.3.3.3' }))).toBe('3.3.3.3')
  })

  it('puts requests with no client header in one shared bucket so stripping headers never escapes', () => {
    expect(clientIp(req())).toBe('unknown')
    expect(clientIp(req({ 'x-forwarded-for': ' , ' }))).toBe('unknown')
  })

  it('cuts a huge header value so it cannot become a huge map key', () => {
    expect(clientIp(req({ 'cf-connecting-ip': 'a'.repeat(10_000) })).length).toBe(128)
  })
})

describe('createRateLimiter', () => {
  it('allows a burst of capacity, then refuses with the wait until the next token', async () => {
    const c = clock()
    const limiter = createRateLimiter({ capacity: 3, refillPerSecond: 0.5, now: c.now })
    const r = req({ 'cf-connecting-ip': '1.1.1.1' })
    const results = []
    for (let i = 0; i < 4; i++) results.push(await limiter.check(r))
    expect(results.map((d) => d.allowed)).toEqual([true, true, true, false])
    expect(results[3]).toEqual({ allowed: false, key: '1.1.1.1', retryAfterMs: 2000 })
    c.advance(1000)
    expect(await limiter.check(r)).toMatchObject({ allowed: false, retryAfterMs: 1000 })
    c.advance(1000)
    expect(await limiter.check(r)).toMatchObject({ allowed: true, remaining: 0 })
  })

  it('keeps one bucket per client', async () => {
    const c = clock()
    const limiter = createRateLimiter({ capacity: 1, refillPerSecond: 1, now: c.now })
    expect((await limiter.check(req({ 'cf-connecting-ip': 'a' }))).allowed).toBe(true)
    expect((await limiter.check(req({ 'cf-connecting-ip': 'a' }))).allowed).toBe(false)
    expect((await limiter.check(req({ 'cf-connecting-ip': 'b' }))).allowed).toBe(true)
  })

  it('refills continuously up to capacity, never beyond', async () => {
    const c = clock()
    const limiter = createRateLimiter({ capacity: 2, refillPerSecond: 10, now: c.now })
    const r = req()
    await limiter.check(r)
    await limiter.check(r)
    c.advance(60_000)
    const seen = []
    for (let i = 0; i < 3; i++) seen.push((await limiter.check(r)).allowed)
    expect(seen).toEqual([true, true, false])
  })

  it('derives the rate from requestsPerMinute, with the burst defaulting to the same number', async () => {
    const c = clock()
    const limiter = createRateLimiter({ requestsPerMinute: 6, now: c.now })
    expect(limiter.capacity).toBe(6)
    expect(limiter.refillPerSecond).toBeCloseTo(0.1)
    for (let i = 0; i < 6; i++) expect((await limiter.check(req())).allowed).toBe(true)
    expect(await limiter.check(req())).toMatchObject({ allowed: false, retryAfterMs: 10_000 })
  })

  it('uses a custom key, and a null key exempts the request', async () => {
    const limiter = createRateLimiter({
      capacity: 1,
      refillPerSecond: 1,
      now: () => 0,
      key: (r) => r.headers.get('x-user'),
    })
    expect((await limiter.check(req({ 'x-user': 'u1' }))).allowed).toBe(true)
    expect((await limiter.check(req({ 'x-user': 'u1' }))).allowed).toBe(false)
    for (let i = 0; i < 5; i++) expect((await limiter.check(req())).allowed).toBe(true)
  })

  it('works through an async store with the bucket and a TTL after which it would be full', async () => {
    const saved = new Map<string, { bucket: RateLimitBucket; ttlMs: number }>()
    const store: RateLimitStore = {
      get: async (k) => saved.get(k)?.bucket,
      set: async (k, bucket, ttlMs) => {
        saved.set(k, { bucket, ttlMs })
      },
    }
    const limiter = createRateLimiter({ capacity: 4, refillPerSecond: 2, store, now: () => 5 })
    await limiter.check(req({ 'x-real-ip': '9.9.9.9' }))
    expect(saved.get('9.9.9.9')).toEqual({ bucket: { tokens: 3, updatedAt: 5 }, ttlMs: 500 })
  })

  it('refuses a config that would silently allow everything', () => {
    expect(() => createRateLimiter({ capacity: 5 })).toThrow(TypeError)
    expect(() => createRateLimiter({ refillPerSecond: 0 })).toThrow(TypeError)
    expect(() => createRateLimiter({ refillPerSecond: Number.NaN })).toThrow(TypeError)
    expect(() => createRateLimiter({ refillPerSecond: 1, capacity: 0 })).toThrow(TypeError)
    expect(() => createRateLimiter({ refillPerSecond: 1, capacity: 1.5 })).toThrow(TypeError)
  })
})

describe('createMemoryRateLimitStore', () => {
  it('holds at most maxKeys buckets, whatever the flood of distinct keys', async () => {
    const c = clock()
    const store = createMemoryRateLimitStore({ maxKeys: 100, now: c.now })
    const limiter = createRateLimiter({ capacity: 1, refillPerSecond: 1, store, now: c.now })
    for (let i = 0; i < 5_000; i++) await limiter.check(req({ 'cf-connecting-ip': `10.0.${i}` }))
    let kept = 0
    for (let i = 0; i < 5_000; i++) if (store.get(`10.0.${i}`)) kept++
    expect(kept).toBe(100)
  })

  it('drops a bucket once it would be full again', () => {
    const c = clock()
    const store = createMemoryRateLimitStore({ now: c.now })
    store.set('k', { tokens: 0, updatedAt: c.now() }, 1000)
    c.advance(999)
    expect(store.get('k')).toBeDefined()
    c.advance(2)
    expect(store.get('k')).toBeUndefined()
  })
})

describe('retryAfterSeconds', () => {
  it('rounds up to whole seconds, at least 1', () => {
    expect(retryAfterSeconds(0)).toBe(1)
    expect(retryAfterSeconds(1)).toBe(1)
    expect(retryAfterSeconds(1000)).toBe(1)
    expect(retryAfterSeconds(1001)).toBe(2)
  })
})

describe('the default clock', () => {
  it('follows Date.now, so fake timers drive the refill', async () => {
    vi.useFakeTimers({ now: 0 })
    try {
      const limiter = createRateLimiter({ capacity: 1, requestsPerMinute: 60 })
      expect((await limiter.check(req())).allowed).toBe(true)
      expect(await limiter.check(req())).toMatchObject({ allowed: false, retryAfterMs: 1000 })
      vi.advanceTimersByTime(1000)
      expect((await limiter.check(req())).allowed).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('token bucket properties', () => {
  it('never allows more than capacity plus rate times the window, and never refuses a client that waited retryAfterMs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0.01, max: 50, noNaN: true }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 120 }),
        async (capacity, refillPerSecond, gaps) => {
          let t = 0
          const limiter = createRateLimiter({ capacity, refillPerSecond, now: () => t })
          const allowedAt: number[] = []
          for (const gap of gaps) {
            t += gap
            const decision = await limiter.check(req())
            if (decision.allowed) {
              allowedAt.push(t)
              continue
            }
            expect(decision.retryAfterMs).toBeGreaterThan(0)
            // Waiting exactly as told always succeeds.
            const saved = t
            t += decision.retryAfterMs
            const retry = await limiter.check(req())
            expect(retry.allowed).toBe(true)
            allowedAt.push(t)
            expect(t).toBeGreaterThan(saved)
          }
          for (let i = 0; i < allowedAt.length; i++) {
            for (let j = i; j < allowedAt.length; j++) {
              const window = allowedAt[j]! - allowedAt[i]!
              const bound = capacity + (refillPerSecond * window) / 1000
              expect(j - i + 1).toBeLessThanOrEqual(Math.floor(bound + 1e-9))
            }
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  it('clientIp: any header value gives a non-empty key of at most 128 characters', () => {
    fc.assert(
      fc.property(
        fc.record({
          'cf-connecting-ip': fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
          'x-forwarded-for': fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
          'x-real-ip': fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
        }),
        (raw) => {
          const headers: Record<string, string> = {}
          for (const [k, v] of Object.entries(raw)) {
            // Only what a Headers object accepts: printable ASCII without CR/LF.
            if (v !== undefined) headers[k] = v.replace(/[^\x20-\x7e]/g, '')
          }
          const key = clientIp(req(headers))
          expect(key.length).toBeGreaterThan(0)
          expect(key.length).toBeLessThanOrEqual(128)
          expect(key).toBe(key.trim())
        },
      ),
    )
  })
})
