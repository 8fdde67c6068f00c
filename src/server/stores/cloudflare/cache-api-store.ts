import type { CacheStore } from '../../cache/response-cache'
import { answerJson, parseAnswer } from '../answer-json'
import { cacheWithFallback, type SharedCacheOptions } from '../cache-with-fallback'
import type { CacheLike } from './cloudflare-bindings'
import { keepAlive, type WaitUntil } from './keep-alive'

export interface CacheAPIStoreOptions extends SharedCacheOptions {
  /** The cache to use. Default `caches.default` (read on each call, as it is a Workers global). */
  cache?: CacheLike
  /**
   * The synthetic origin of the cache keys: an answer lives at `<baseUrl>/<prefix>/v1/cache/<hash>`.
   * Never fetched. Default `'https://copilotedge.cache'`.
   */
  baseUrl?: string
  /** Key namespace. Default `'copilotedge'`. */
  prefix?: string
  /** Answers whose JSON exceeds this many UTF-8 bytes are not stored. Default 1 MiB. */
  maxBytes?: number
  /** Keys `clear()` remembers (those this store wrote, newest kept). Default 10,000. */
  maxTrackedKeys?: number
  /** Clock for the exact expiry check, in ms. Default `Date.now`. */
  now?: () => number
  /**
   * Pass `waitUntil` from `cloudflare:workers`: every write is handed to it, so a cache fill that
   * ends after the response (always, for a stream) is not cancelled with the request.
   */
  waitUntil?: WaitUntil
}

const DEFAULT_BASE_URL = 'https://copilotedge.cache'
const DEFAULT_MAX_BYTES = 1024 * 1024
const DEFAULT_MAX_TRACKED_KEYS = 10_000
const EXPIRES_HEADER = 'X-CopilotEdge-Expires'

function defaultCache(): CacheLike {
  const cache = (globalThis as { caches?: { default?: CacheLike } }).caches?.default
  if (!cache) {
    throw new TypeError(
      'createCacheAPIStore: no `caches.default` here (it exists on Cloudflare Workers); pass `cache`',
    )
  }
  return cache
}

/**
 * The answer cache in the Cache API alone. Each answer is a synthetic `Response` whose
 * `Cache-Control: max-age` (whole seconds, at least 1) lets the cache drop it; the exact expiry
 * rides in a header and is checked on every read. The Cache API cannot list its keys, so `clear()`
 * deletes only the keys this store object wrote (up to `maxTrackedKeys`), in this location.
 */
export function createCacheAPIStoreOnly(
  options: Pick<
    CacheAPIStoreOptions,
    'cache' | 'baseUrl' | 'prefix' | 'maxBytes' | 'maxTrackedKeys' | 'now'
  > = {},
): CacheStore {
  const cacheOf = options.cache ? () => options.cache as CacheLike : defaultCache
  if (!options.cache) defaultCache()
  const base = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '')
  new URL(base) // a clear TypeError now rather than on the first request
  const root = `${base}/${encodeURIComponent(options.prefix ?? 'copilotedge')}/v1/cache/`
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  const maxTracked = options.maxTrackedKeys ?? DEFAULT_MAX_TRACKED_KEYS
  const now = options.now ?? Date.now
  // Insertion-ordered: the oldest is forgotten first once the bound is reached.
  const written = new Set<string>()
  const urlOf = (key: string) => root + encodeURIComponent(key)

  return {
    get: async (key) => {
      const response = await cacheOf().match(urlOf(key))
      if (!response) return undefined
      const expiresAt = Number(response.headers.get(EXPIRES_HEADER))
      const text = await response.text()
      if (Number.isFinite(expiresAt) && now() >= expiresAt) return undefined
      return parseAnswer(text)
    },
    set: async (key, value, ttlMs) => {
      const json = answerJson(value, maxBytes)
      if (json === undefined) return
      const url = urlOf(key)
      const response = new Response(json, {
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'Cache-Control': `max-age=${Math.max(1, Math.ceil(ttlMs / 1000))}`,
          [EXPIRES_HEADER]: String(now() + ttlMs),
        },
      })
      await cacheOf().put(url, response)
      written.delete(url)
      written.add(url)
      if (written.size > maxTracked) {
        const oldest = written.values().next().value
        if (oldest !== undefined) written.delete(oldest)
      }
    },
    clear: async () => {
      const urls = [...written]
      written.clear()
      await Promise.all(urls.map((url) => cacheOf().delete(url)))
    },
  }
}

/**
 * The answer cache in the Cache API (`caches.default`): shared by every isolate in one Cloudflare
 * location (data center), not across locations, and free of KV's write costs and 60 s minimum.
 * `cache: { store: createCacheAPIStore() }`. The Cache API has no effect on `*.workers.dev` and
 * preview deployments (only on a custom domain). When it fails, answers fall back to a per-isolate
 * in-memory cache, one log line per outage.
 */
export function createCacheAPIStore(options: CacheAPIStoreOptions = {}): CacheStore {
  return cacheWithFallback(
    createCacheAPIStoreOnly(options),
    { ...options, name: 'Cache API store' },
    keepAlive(options.waitUntil, 'Cache API store'),
  )
}
