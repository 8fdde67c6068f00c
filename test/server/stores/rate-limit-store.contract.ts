// The behaviour every RateLimitStore must show under the token-bucket limiter, run against each
// implementation (memory, Redis; KV and the Durable Object later). The limiter's clock is fake, so
// windows pass without waiting; a remote store computes with the clock it is given.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RateLimitStore } from '../../../src/server'
import { createRateLimiter } from '../../../src/server/http/rate-limit'

export interface RateLimitStoreSubject {
  store: RateLimitStore
  close?(): Promise<void>
}

const request = (ip: string) =>
  new Request('http://localhost/api', { method: 'POST', headers: { 'cf-connecting-ip': ip } })

export function rateLimitStoreContract(
  name: string,
  make: (now: () => number) => Promise<RateLimitStoreSubject>,
): void {
  describe(`${name} as a RateLimitStore`, () => {
    let t = 1_700_000_000_000
    const now = () => t
    let subject: RateLimitStoreSubject
    beforeEach(async () => {
      t = 1_700_000_000_000
      subject = await make(now)
    })
    afterEach(async () => {
      await subject.close?.()
    })
    const limiter = (capacity: number, refillPerSecond: number) =>
      createRateLimiter({ capacity, refillPerSecond, store: subject.store, now })

    it('allows capacity requests, then answers each further one with the wait for the next token', async () => {
      const limit = limiter(3, 0.5)
      const decisions = []
      for (let i = 0; i < 5; i++) decisions.push(await limit.check(request('1.1.1.1')))
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false])
      expect(decisions[2]).toEqual({ allowed: true, key: '1.1.1.1', remaining: 0 })
      expect(decisions[4]).toEqual({ allowed: false, key: '1.1.1.1', retryAfterMs: 2000 })
    })

    it('lets one more request in once the window has refilled one token, and only one', async () => {
      const limit = limiter(2, 1)
      await limit.check(request('a'))
      await limit.check(request('a'))
      expect((await limit.check(request('a'))).allowed).toBe(false)
      t += 999
      expect(await limit.check(request('a'))).toMatchObject({ allowed: false, key: 'a' })
      t += 1
      expect((await limit.check(request('a'))).allowed).toBe(true)
      expect((await limit.check(request('a'))).allowed).toBe(false)
    })

    it('refills to capacity after a long idle, never beyond', async () => {
      const limit = limiter(2, 10)
      await limit.check(request('a'))
      await limit.check(request('a'))
      t += 3_600_000
      const seen = []
      for (let i = 0; i < 3; i++) seen.push((await limit.check(request('a'))).allowed)
      expect(seen).toEqual([true, true, false])
    })

    it('keeps one bucket per client', async () => {
      const limit = limiter(1, 0.001)
      expect((await limit.check(request('a'))).allowed).toBe(true)
      expect((await limit.check(request('a'))).allowed).toBe(false)
      expect((await limit.check(request('b'))).allowed).toBe(true)
    })

    it('allows exactly 10 of 50 concurrent requests against a limit of 10', async () => {
      const limit = limiter(10, 0.001)
      const decisions = await Promise.all(
        Array.from({ length: 50 }, () => limit.check(request('burst'))),
      )
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10)
      expect(decisions.filter((d) => !d.allowed)).toHaveLength(40)
    })

    it('reads back a bucket it was given', async () => {
      await subject.store.set('direct', { tokens: 2.5, updatedAt: t }, 60_000)
      expect(await subject.store.get('direct')).toEqual({ tokens: 2.5, updatedAt: t })
      expect(await subject.store.get('absent')).toBeUndefined()
    })
  })
}
