import type { CacheStore } from '../../cache/response-cache'
import { answerJson, parseAnswer } from '../answer-json'
import { cacheWithFallback, type SharedCacheOptions } from '../cache-with-fallback'
import { keyPrefix } from '../store-keys'
import { type RedisClientLike, redisCommand } from './redis-client'

export interface RedisCacheStoreOptions extends SharedCacheOptions {
  /** Your connected node-redis (or ioredis) client. */
  client: RedisClientLike
  /** Key namespace: keys are `<prefix>:v1:cache:<hash>`. Default `'copilotedge'`. */
  prefix?: string
  /** Answers whose JSON exceeds this many UTF-8 bytes are not stored. Default 1 MiB. */
  maxBytes?: number
}

const DEFAULT_MAX_BYTES = 1024 * 1024
const SCAN_COUNT = '500'

/** Escapes Redis glob characters so a prefix matches only itself in SCAN. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/** The answer cache in Redis alone: `GET`, `SET … PX`, and `SCAN` + `UNLINK` for `clear`. */
export function createRedisCacheStoreOnly(
  options: Pick<RedisCacheStoreOptions, 'client' | 'prefix' | 'maxBytes'>,
): CacheStore {
  const send = redisCommand(options.client)
  const prefix = keyPrefix(options.prefix, 'cache')
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  return {
    get: async (key) => parseAnswer(await send(['GET', prefix + key])),
    set: async (key, value, ttlMs) => {
      const json = answerJson(value, maxBytes)
      if (json === undefined) return
      await send(['SET', prefix + key, json, 'PX', String(Math.max(1, Math.ceil(ttlMs)))])
    },
    clear: async () => {
      let cursor = '0'
      do {
        const reply = (await send([
          'SCAN',
          cursor,
          'MATCH',
          `${globEscape(prefix)}*`,
          'COUNT',
          SCAN_COUNT,
        ])) as [string, string[]]
        cursor = String(reply[0])
        if (reply[1].length > 0) await send(['UNLINK', ...reply[1]])
      } while (cursor !== '0')
    },
  }
}

/**
 * The answer cache shared by every instance through Redis: `cache: { store:
 * createRedisCacheStore({ client }) }`. Values are the answers' JSON with a `PX` TTL. When Redis
 * fails or hangs, answers come from and go to a local in-memory cache, one log line per outage,
 * and Redis is used again as soon as it answers.
 */
export function createRedisCacheStore(options: RedisCacheStoreOptions): CacheStore {
  return cacheWithFallback(createRedisCacheStoreOnly(options), {
    ...options,
    name: 'Redis cache store',
  })
}
