import { createMemoryCacheStore, createMemoryRateLimitStore } from '../../../src/server'
import { cacheStoreContract } from './cache-store.contract'
import { rateLimitStoreContract } from './rate-limit-store.contract'

cacheStoreContract('the memory store', async () => ({
  store: createMemoryCacheStore({ maxEntries: 100, maxBytes: 64 * 1024, ttl: 60_000 }),
  maxBytes: 64 * 1024,
  ttlMs: 60,
  // lru-cache reads its own clock (no injectable one in createMemoryCacheStore): real time it is.
  elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}))

rateLimitStoreContract('the memory store', async (now) => ({
  store: createMemoryRateLimitStore({ now }),
}))
