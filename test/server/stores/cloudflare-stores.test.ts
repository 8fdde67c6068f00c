import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  type CachedAnswer,
  type CacheLike,
  type CacheStore,
  CopilotEdgeCoordinator,
  createCacheAPIStore,
  createDurableObjectRateLimitStore,
  createKVCacheStore,
  type DurableObjectNamespaceLike,
  type KVNamespaceLike,
  type RateLimitStore,
} from '../../../src/server'
import { createRateLimiter } from '../../../src/server/http/rate-limit'
import { cacheStoreContract } from './cache-store.contract'
import {
  coordinatorOf,
  defaultCacheOf,
  kvOf,
  remoteStore,
  type StartedWorkers,
  startStoreWorkers,
} from './cloudflare/miniflare-workers'
import { rateLimitStoreContract } from './rate-limit-store.contract'

// The contract suites, against the Cloudflare stores running inside workerd (Miniflare): each store
// method is executed by a Worker bundled from src/ against Miniflare's own KV, Cache API and
// Durable Object implementations; the suites drive it from here over fetch.

let workers: StartedWorkers
let origin = ''
let prefixes = 0
const nextPrefix = () => `t${Date.now().toString(36)}-${++prefixes}`
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

beforeAll(async () => {
  workers = await startStoreWorkers([{ name: 'stores' }, { name: 'sqlite', sqlite: true }])
  origin = workers.origins.stores ?? ''
})
afterAll(async () => {
  await workers?.dispose()
})

const CACHE_METHODS = ['get', 'set', 'clear']
const MAX_BYTES = 4096
// Store and clock live in workerd: real time. Long enough that the calls between the write and the
// first read never eat half of it: 1,000 ms was not (CI on Node 22, 2 shared cores under load,
// 2026-12-02: the Cache API store missed its answer at "half" the TTL).
const TTL_MS = 3000

cacheStoreContract('the Workers KV cache store (on workerd)', async () => ({
  store: remoteStore<CacheStore>(
    origin,
    'kv',
    { prefix: nextPrefix(), maxBytes: MAX_BYTES },
    CACHE_METHODS,
  ),
  maxBytes: MAX_BYTES,
  ttlMs: TTL_MS,
  elapse: sleep,
}))

cacheStoreContract('the Cache API store (on workerd)', async () => ({
  store: remoteStore<CacheStore>(
    origin,
    'cache-api',
    { prefix: nextPrefix(), maxBytes: MAX_BYTES },
    CACHE_METHODS,
  ),
  maxBytes: MAX_BYTES,
  ttlMs: TTL_MS,
  elapse: sleep,
}))

rateLimitStoreContract('the Durable Object rate-limit store (on workerd)', async () => ({
  store: remoteStore<RateLimitStore>(origin, 'durable-object', { prefix: nextPrefix() }, [
    'get',
    'set',
    'take',
  ]),
}))

rateLimitStoreContract(
  'the Durable Object rate-limit store, SQLite-backed object (on workerd)',
  async () => ({
    store: remoteStore<RateLimitStore>(
      workers.origins.sqlite ?? '',
      'durable-object',
      { prefix: nextPrefix() },
      ['get', 'set', 'take'],
    ),
  }),
)

describe('the Cloudflare stores in their bindings (on workerd)', () => {
  it('KV: a TTL under 60 s is stored with expirationTtl 60 and the exact expiry as metadata', async () => {
    const prefix = nextPrefix()
    const store = remoteStore<CacheStore>(origin, 'kv', { prefix }, CACHE_METHODS)
    const before = Date.now()
    await store.set('k', { model: 'm', text: 'hi', finishReason: 'stop' }, 5000)
    const kv = await kvOf(workers.mf, 'stores')
    const { value, metadata } = await kv.getWithMetadata(`${prefix}:v1:cache:k`, 'text')
    expect(JSON.parse(value ?? '')).toEqual({ model: 'm', text: 'hi', finishReason: 'stop' })
    const expiresAt = (metadata as { expiresAt: number }).expiresAt
    expect(expiresAt).toBeGreaterThanOrEqual(before + 5000)
    expect(expiresAt).toBeLessThan(Date.now() + 5000 + 1000)
    const listed = await kv.list({ prefix: `${prefix}:v1:cache:` })
    // KV's own expiry: at least its 60 s minimum from now (seconds since the epoch).
    expect(listed.keys[0]?.expiration).toBeGreaterThanOrEqual(Math.floor(before / 1000) + 59)
  })

  it('KV: clear removes only keys under its own prefix', async () => {
    const kv = await kvOf(workers.mf, 'stores')
    await kv.put('someone-else:key', 'theirs')
    const prefix = nextPrefix()
    const store = remoteStore<CacheStore>(origin, 'kv', { prefix }, CACHE_METHODS)
    await store.set('a', { model: 'm', text: 'a', finishReason: 'stop' }, 60_000)
    await store.clear()
    expect(await kv.get(`${prefix}:v1:cache:a`)).toBeNull()
    expect(await kv.get('someone-else:key')).toBe('theirs')
  })

  it('KV: a value another version wrote (not an answer) reads as a miss', async () => {
    const kv = await kvOf(workers.mf, 'stores')
    const prefix = nextPrefix()
    await kv.put(`${prefix}:v1:cache:k`, '{not json')
    const store = remoteStore<CacheStore>(origin, 'kv', { prefix }, CACHE_METHODS)
    expect(await store.get('k')).toBeUndefined()
  })

  it('Cache API: the answer is a Response under a synthetic URL with Cache-Control max-age', async () => {
    const prefix = nextPrefix()
    const store = remoteStore<CacheStore>(origin, 'cache-api', { prefix }, CACHE_METHODS)
    await store.set('k', { model: 'm', text: 'hi', finishReason: 'stop' }, 90_500)
    const cache = await defaultCacheOf(workers.mf)
    const response = await cache.match(`https://copilotedge.cache/${prefix}/v1/cache/k`)
    expect(response?.status).toBe(200)
    expect(response?.headers.get('cache-control')).toBe('max-age=91')
    expect(await response?.json()).toEqual({ model: 'm', text: 'hi', finishReason: 'stop' })
  })

  it('Durable Object: buckets live in the coordinator named after the key, one per client', async () => {
    const prefix = nextPrefix()
    const store = remoteStore<RateLimitStore>(origin, 'durable-object', { prefix }, ['take'])
    const take = { capacity: 1, refillPerMs: 1e-6, now: 1000 }
    await store.take?.('alice', take)
    const namespace = await coordinatorOf(workers.mf, 'stores')
    const stub = namespace.get(namespace.idFromName(`${prefix}:v1:ratelimit:alice`))
    const response = await stub.fetch('https://copilotedge.coordinator/v1/rate-limit/get', {
      method: 'POST',
      body: JSON.stringify({ key: 'alice' }),
    })
    expect(await response.json()).toEqual({ bucket: { tokens: 0, updatedAt: 1000 } })
  })
})

// The fallback: a binding that fails or hangs never fails a request (the same circuit as Redis).
describe('the Cloudflare stores when their binding fails', () => {
  const answer: CachedAnswer = { model: 'm', text: 'local', finishReason: 'stop' }
  const failing = <T>(methods: string[], error = new Error('binding down')): T =>
    Object.fromEntries(methods.map((m) => [m, () => Promise.reject(error)])) as T

  it('KV down: answers go to and come from local memory, one log line for the outage', async () => {
    const logger = { warn: vi.fn() }
    const namespace = failing<KVNamespaceLike>(['getWithMetadata', 'put', 'delete', 'list'])
    const store = createKVCacheStore({ namespace, logger })
    expect(await store.get('k')).toBeUndefined()
    await store.set('k', answer, 60_000)
    expect(await store.get('k')).toEqual(answer)
    expect(logger.warn).toHaveBeenCalledTimes(1)
    expect(logger.warn.mock.calls[0]?.[0]).toContain('Workers KV cache store failed')
  })

  it('Cache API hanging: each call waits at most timeoutMs, then local memory serves', async () => {
    const logger = { warn: vi.fn() }
    const never = () => new Promise<never>(() => {})
    const cache: CacheLike = { match: never, put: never, delete: never }
    const store = createCacheAPIStore({ cache, logger, timeoutMs: 50 })
    const started = Date.now()
    await store.set('k', answer, 60_000)
    expect(Date.now() - started).toBeLessThan(1000)
    expect(await store.get('k')).toEqual(answer)
    expect(logger.warn).toHaveBeenCalledTimes(1)
  })

  it('Durable Object down: each isolate limits locally, then the object is used again', async () => {
    const logger = { warn: vi.fn() }
    let down = true
    const objects = new Map<string, CopilotEdgeCoordinator>()
    const memoryStorage = () => {
      const data = new Map<string, unknown>()
      return {
        get: async (k: string) => data.get(k),
        put: async (k: string, v: unknown) => void data.set(k, v),
        delete: async () => true,
        list: async () => new Map(),
        getAlarm: async () => 1,
        setAlarm: async () => {},
      }
    }
    const namespace: DurableObjectNamespaceLike = {
      idFromName: (name) => ({ toString: () => name }),
      get: (id) => ({
        fetch: async (input, init) => {
          if (down) throw new Error('Durable Object reset')
          const name = id.toString()
          let object = objects.get(name)
          if (!object) {
            object = new CopilotEdgeCoordinator({ storage: memoryStorage() as never })
            objects.set(name, object)
          }
          return object.fetch(new Request(input, init))
        },
      }),
    }
    let t = 0
    const limiter = createRateLimiter({
      capacity: 2,
      refillPerSecond: 0.001,
      now: () => t,
      store: createDurableObjectRateLimitStore({ namespace, logger, retryMs: 100 }),
    })
    const request = new Request('http://x/', { headers: { 'cf-connecting-ip': 'c' } })
    const local = []
    for (let i = 0; i < 3; i++) local.push((await limiter.check(request)).allowed)
    expect(local).toEqual([true, true, false])
    expect(logger.warn).toHaveBeenCalledTimes(1)
    down = false
    await sleep(120)
    t += 1
    // The object answers again: its own (full) bucket is used from now on.
    const shared = []
    for (let i = 0; i < 3; i++) shared.push((await limiter.check(request)).allowed)
    expect(shared).toEqual([true, true, false])
    expect(logger.warn).toHaveBeenCalledTimes(2)
    expect(logger.warn.mock.calls[1]?.[0]).toContain('answers again')
  })

  it('hands every cache write to waitUntil, through the fallback too, and waits for none of it to fail', async () => {
    const waited: Promise<unknown>[] = []
    const waitUntil = (promise: Promise<unknown>) => void waited.push(promise)
    let release = () => {}
    const namespace = {
      ...failing<KVNamespaceLike>(['getWithMetadata', 'delete', 'list']),
      put: () => new Promise<void>((resolve) => (release = resolve)),
    }
    const kv = createKVCacheStore({ namespace, waitUntil, logger: { warn: () => {} } })
    const write = kv.set('k', answer, 60_000)
    expect(waited).toHaveLength(1)
    release()
    await write
    const down = createCacheAPIStore({
      cache: failing<CacheLike>(['match', 'put', 'delete']),
      waitUntil,
      logger: { warn: () => {} },
    })
    await down.set('k', answer, 60_000)
    expect(waited).toHaveLength(2)
    await expect(Promise.all(waited)).resolves.toBeDefined()
    expect(await down.get('k')).toEqual(answer)
  })

  it('the coordinator answers a malformed call with a 400, never a 500', async () => {
    const coordinator = new CopilotEdgeCoordinator({ storage: {} as never })
    const post = (path: string, body: string) =>
      coordinator.fetch(new Request(`https://c${path}`, { method: 'POST', body }))
    expect((await post('/v1/rate-limit/take', '{nope')).status).toBe(400)
    expect((await post('/v1/rate-limit/take', '{"key":"k","capacity":"2"}')).status).toBe(400)
    expect((await post('/v1/rate-limit/nothing', '{"key":"k"}')).status).toBe(404)
  })
})
