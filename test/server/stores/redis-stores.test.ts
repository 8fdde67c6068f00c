import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { CachedAnswer } from '../../../src/server'
import { createRedisCacheStore } from '../../../src/server/stores/redis/redis-cache-store'
import { createRedisRateLimitStore } from '../../../src/server/stores/redis/redis-rate-limit-store'
import { type RedisServer, startRedisServer } from '../../helpers/redis-server'
import { cacheStoreContract } from './cache-store.contract'
import { rateLimitStoreContract } from './rate-limit-store.contract'

type Client = Awaited<ReturnType<typeof connect>>

let server: RedisServer
let client: Client
let prefixes = 0
// A fresh namespace per test: tests never see each other's keys in the one server.
const nextPrefix = () => `test${++prefixes}`

async function connect(url: string) {
  const c = createClient({ url, socket: { reconnectStrategy: () => 20 } })
  // node-redis emits 'error' on every failed reconnect; an unhandled one would crash the process.
  c.on('error', () => {})
  await c.connect()
  return c
}

beforeAll(async () => {
  server = await startRedisServer()
  client = await connect(server.url)
})
afterAll(async () => {
  client?.destroy()
  await server?.stop()
})

const answer = (text: string): CachedAnswer => ({ model: 'm', text, finishReason: 'stop' })

// `fallback: false`: the contract must prove Redis itself, not the local fallback behind it.
cacheStoreContract('the Redis cache store', async () => ({
  store: createRedisCacheStore({ client, prefix: nextPrefix(), maxBytes: 4096, fallback: false }),
  maxBytes: 4096,
  // Redis expires keys on its own clock: real time it is. Long enough that a loaded CI machine cannot
  // eat half of it between the write and the first read (60 ms once failed on Node 24 in CI).
  ttlMs: 1000,
  elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}))

rateLimitStoreContract('the Redis rate-limit store', async () => ({
  store: createRedisRateLimitStore({ client, prefix: nextPrefix(), fallback: false }),
}))

describe('the Redis stores in Redis', () => {
  it('keep answers under copilotedge:v1:cache:<key> as JSON with the TTL as a PX expiry', async () => {
    const store = createRedisCacheStore({ client })
    await store.set('abc', answer('hi'), 60_000)
    expect(JSON.parse((await client.get('copilotedge:v1:cache:abc')) ?? '')).toEqual(answer('hi'))
    const pttl = await client.pTTL('copilotedge:v1:cache:abc')
    expect(pttl).toBeGreaterThan(59_000)
    expect(pttl).toBeLessThanOrEqual(60_000)
    await store.clear()
  })

  it('clear removes only its own namespace', async () => {
    await client.set('someone-else:key', 'theirs')
    await client.set('other:v1:cache:x', 'another prefix')
    const store = createRedisCacheStore({ client, prefix: 'mine' })
    await store.set('a', answer('a'), 60_000)
    await store.clear()
    expect(await client.get('mine:v1:cache:a')).toBeNull()
    expect(await client.get('someone-else:key')).toBe('theirs')
    expect(await client.get('other:v1:cache:x')).toBe('another prefix')
  })

  it('reads a value it cannot parse as a miss', async () => {
    await client.set('garbled:v1:cache:k', '{not json')
    const store = createRedisCacheStore({ client, prefix: 'garbled' })
    expect(await store.get('k')).toBeUndefined()
  })

  it('keeps limiting after Redis forgot the script (SCRIPT FLUSH, as after a restart)', async () => {
    const store = createRedisRateLimitStore({ client, prefix: nextPrefix(), fallback: false })
    const take = { capacity: 2, refillPerMs: 1e-6, now: 1000 }
    expect((await store.take?.('k', take))?.allowed).toBe(true)
    await client.scriptFlush()
    expect((await store.take?.('k', take))?.allowed).toBe(true)
    expect((await store.take?.('k', take))?.allowed).toBe(false)
  })

  it('rate-limit buckets live under copilotedge:v1:ratelimit:<key> with a TTL until full again', async () => {
    const store = createRedisRateLimitStore({ client })
    await store.take?.('1.2.3.4', { capacity: 5, refillPerMs: 0.001, now: Date.now() })
    // One token spent at 1 per second: full again in 1000 ms.
    const pttl = await client.pTTL('copilotedge:v1:ratelimit:1.2.3.4')
    expect(pttl).toBeGreaterThan(900)
    expect(pttl).toBeLessThanOrEqual(1000)
  })
})

describe('a Redis outage', () => {
  it('is answered from local state, logged once, and shared again once Redis is back', async () => {
    const own = await connect(server.url)
    const warn = vi.fn()
    const prefix = nextPrefix()
    const cache = createRedisCacheStore({ client: own, prefix, retryMs: 50, logger: { warn } })
    const limits = createRedisRateLimitStore({ client: own, prefix, retryMs: 50, logger: { warn } })
    await cache.set('before', answer('shared'), 60_000)

    await server.kill()
    // During the outage: every call answers (from local state), none throws, none hangs.
    for (let i = 0; i < 20; i++) {
      expect(await cache.get('before')).toBeUndefined()
      await cache.set('during', answer('local'), 60_000)
      expect((await cache.get('during'))?.text).toBe('local')
      await limits.take?.('k', { capacity: 100, refillPerMs: 1, now: Date.now() })
    }
    expect(warn).toHaveBeenCalledTimes(2)
    expect(warn.mock.calls.map((c) => c[0])).toEqual([
      expect.stringContaining('Redis cache store failed'),
      expect.stringContaining('Redis rate-limit store failed'),
    ])

    await server.restart()
    // Back: a write lands in Redis, where another client sees it.
    await vi.waitFor(
      async () => {
        await cache.set('after', answer('shared again'), 60_000)
        expect(await client.get(`${prefix}:v1:cache:after`)).not.toBeNull()
      },
      { timeout: 5000, interval: 30 },
    )
    expect(warn.mock.calls.some((c) => String(c[0]).includes('cache store answers again'))).toBe(
      true,
    )
    own.destroy()
  })

  it('a hung Redis never holds a call past timeoutMs', async () => {
    const own = await connect(server.url)
    const store = createRedisCacheStore({
      client: own,
      prefix: nextPrefix(),
      timeoutMs: 100,
      logger: { warn: () => {} },
    })
    await store.set('warm', answer('up'), 60_000)
    // SIGSTOP: the connection stays open and nothing answers, as with a hung server.
    server.pause()
    try {
      const started = performance.now()
      await store.set('k', answer('local'), 60_000)
      expect(performance.now() - started).toBeLessThan(500)
      expect((await store.get('k'))?.text).toBe('local')
    } finally {
      server.resume()
    }
    own.destroy()
  })
})
