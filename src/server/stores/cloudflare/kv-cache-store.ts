import type { CacheStore } from '../../cache/response-cache'
import { answerJson, parseAnswer } from '../answer-json'
import { cacheWithFallback, type SharedCacheOptions } from '../cache-with-fallback'
import { keyPrefix } from '../store-keys'
import type { KVNamespaceLike } from './cloudflare-bindings'
import { keepAlive, type WaitUntil } from './keep-alive'

export interface KVCacheStoreOptions extends SharedCacheOptions {
  /** The KV namespace binding, e.g. `env.COPILOT_CACHE`. */
  namespace: KVNamespaceLike
  /** Key namespace: keys are `<prefix>:v1:cache:<hash>`. Default `'copilotedge'`. */
  prefix?: string
  /** Answers whose JSON exceeds this many UTF-8 bytes are not stored. Default 1 MiB (KV allows 25). */
  maxBytes?: number
  /** Clock for the exact expiry check, in ms. Default `Date.now`. */
  now?: () => number
  /**
   * Pass `waitUntil` from `cloudflare:workers`: every write is handed to it, so a cache fill that
   * ends after the response (always, for a stream) is not cancelled with the request.
   */
  waitUntil?: WaitUntil
}

/** KV refuses an `expirationTtl` under 60 seconds. */
export const KV_MIN_TTL_SECONDS = 60
const DEFAULT_MAX_BYTES = 1024 * 1024
const DEFAULT_TIMEOUT_MS = 1000
// Deletes in flight at once in clear(): KV counts operations per invocation.
const CLEAR_CONCURRENCY = 10

interface KVMetadata {
  /** When the answer expires, in ms on the writer's clock (KV's own TTL is at least 60 s). */
  expiresAt?: number
}

/**
 * The answer cache in Workers KV alone. KV's `expirationTtl` has a 60 s minimum, so a shorter TTL
 * is rounded up for KV and the exact expiry travels as the key's metadata, checked on every read:
 * an answer is never served past its TTL, it only occupies KV until KV drops it.
 */
export function createKVCacheStoreOnly(
  options: Pick<KVCacheStoreOptions, 'namespace' | 'prefix' | 'maxBytes' | 'now'>,
): CacheStore {
  const kv = options.namespace
  if (!kv || typeof kv.getWithMetadata !== 'function' || typeof kv.put !== 'function') {
    throw new TypeError('createKVCacheStore needs `namespace`: a KV namespace binding (env.MY_KV)')
  }
  const prefix = keyPrefix(options.prefix, 'cache')
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  const now = options.now ?? Date.now
  return {
    get: async (key) => {
      const { value, metadata } = await kv.getWithMetadata(prefix + key, 'text')
      const expiresAt = (metadata as KVMetadata | null)?.expiresAt
      if (typeof expiresAt === 'number' && now() >= expiresAt) return undefined
      return parseAnswer(value)
    },
    set: async (key, value, ttlMs) => {
      const json = answerJson(value, maxBytes)
      if (json === undefined) return
      const metadata: KVMetadata = { expiresAt: now() + ttlMs }
      const expirationTtl = Math.max(KV_MIN_TTL_SECONDS, Math.ceil(ttlMs / 1000))
      await kv.put(prefix + key, json, { expirationTtl, metadata })
    },
    // list + delete under our prefix only. KV's list is eventually consistent too: a key written
    // elsewhere in the last seconds may be missed (it still expires by its TTL).
    clear: async () => {
      let cursor: string | undefined
      do {
        const page = await kv.list({ prefix, ...(cursor ? { cursor } : {}) })
        const names = page.keys.map((k) => k.name)
        for (let i = 0; i < names.length; i += CLEAR_CONCURRENCY) {
          await Promise.all(names.slice(i, i + CLEAR_CONCURRENCY).map((name) => kv.delete(name)))
        }
        cursor = page.list_complete ? undefined : page.cursor
      } while (cursor)
    },
  }
}

/**
 * The answer cache shared by every Worker isolate, in every location, through Workers KV:
 * `cache: { store: createKVCacheStore({ namespace: env.COPILOT_CACHE }) }`. KV is eventually
 * consistent (a write is visible at once where it was made, within about 60 s elsewhere) and keeps
 * each key at least 60 s. When KV fails or hangs, answers come from and go to a per-isolate
 * in-memory cache, one log line per outage, and KV is used again as soon as it answers.
 */
export function createKVCacheStore(options: KVCacheStoreOptions): CacheStore {
  // A cold KV read (not cached in the colo) can take a few hundred ms: a tighter bound would open
  // the circuit on healthy reads.
  return cacheWithFallback(
    createKVCacheStoreOnly(options),
    { timeoutMs: DEFAULT_TIMEOUT_MS, ...options, name: 'Workers KV cache store' },
    keepAlive(options.waitUntil, 'Workers KV cache store'),
  )
}
