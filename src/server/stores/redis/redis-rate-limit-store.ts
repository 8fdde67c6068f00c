import {
  createMemoryRateLimitStore,
  type RateLimitBucket,
  type RateLimitStore,
  type RateLimitTaken,
} from '../../http/rate-limit'
import { createStoreCircuit, type StoreCircuitOptions } from '../store-circuit'
import { keyPrefix } from '../store-keys'
import { withFallback } from '../with-fallback'
import { type RedisClientLike, type RedisCommand, redisCommand } from './redis-client'

export interface RedisRateLimitStoreOptions extends Omit<StoreCircuitOptions, 'name'> {
  /** Your connected node-redis (or ioredis) client. */
  client: RedisClientLike
  /** Key namespace: keys are `<prefix>:v1:ratelimit:<client key>`. Default `'copilotedge'`. */
  prefix?: string
  /**
   * Buckets while Redis is down (each instance then limits on its own). Default: the in-memory
   * store; `false`: Redis errors reach the limiter (which lets the request through, logged).
   */
  fallback?: RateLimitStore | false
}

// The same step as `takeToken` in rate-limit.ts, run inside Redis so refill + spend + save is one
// atomic operation across every instance. A bucket is `<tokens>:<updatedAt>` with a PX TTL (the
// time until it is full again). `%.17g` round-trips a double exactly.
const TAKE_SCRIPT = `
local capacity = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local tokens = capacity
local saved = redis.call('GET', KEYS[1])
if saved then
  local sep = string.find(saved, ':', 1, true)
  if sep then
    local before = tonumber(string.sub(saved, 1, sep - 1))
    local at = tonumber(string.sub(saved, sep + 1))
    if before and at then
      tokens = math.min(capacity, before + math.max(0, now - at) * refill)
    end
  end
end
local allowed = 0
if tokens >= 1 - 1e-9 then
  tokens = math.max(0, tokens - 1)
  allowed = 1
end
local ttl = math.max(1, math.ceil((capacity - tokens) / refill))
local left = string.format('%.17g', tokens)
redis.call('SET', KEYS[1], left .. ':' .. string.format('%.17g', now), 'PX', ttl)
return { allowed, left }
`

/** `EVALSHA`, loading the script on first use and again after Redis lost it (restart, flush). */
export function scriptRunner(send: RedisCommand, script: string) {
  let sha: Promise<string> | undefined
  return async (keys: string[], args: string[]): Promise<unknown> => {
    const tail = [String(keys.length), ...keys, ...args]
    sha ??= send(['SCRIPT', 'LOAD', script]).then(String)
    try {
      return await send(['EVALSHA', await sha, ...tail])
    } catch (error) {
      sha = undefined
      if (!String((error as Error)?.message).includes('NOSCRIPT')) throw error
      // EVAL also caches the script in Redis, so the next EVALSHA finds it.
      return send(['EVAL', script, ...tail])
    }
  }
}

function parseBucket(raw: unknown): RateLimitBucket | undefined {
  if (typeof raw !== 'string') return undefined
  const [tokens, updatedAt] = raw.split(':').map(Number)
  if (!Number.isFinite(tokens) || !Number.isFinite(updatedAt)) return undefined
  return { tokens: tokens as number, updatedAt: updatedAt as number }
}

/** Rate-limit buckets in Redis alone; `take` is one Lua script (atomic). */
export function createRedisRateLimitStoreOnly(
  options: Pick<RedisRateLimitStoreOptions, 'client' | 'prefix'>,
): RateLimitStore {
  const send = redisCommand(options.client)
  const prefix = keyPrefix(options.prefix, 'ratelimit')
  const take = scriptRunner(send, TAKE_SCRIPT)
  return {
    get: async (key) => parseBucket(await send(['GET', prefix + key])),
    set: async (key, bucket, ttlMs) => {
      const value = `${bucket.tokens}:${bucket.updatedAt}`
      await send(['SET', prefix + key, value, 'PX', String(Math.max(1, Math.ceil(ttlMs)))])
    },
    take: async (key, request): Promise<RateLimitTaken> => {
      const reply = (await take(
        [prefix + key],
        [String(request.capacity), String(request.refillPerMs), String(request.now)],
      )) as [number | string, string]
      return { allowed: Number(reply[0]) === 1, tokens: Number(reply[1]) }
    },
  }
}

/**
 * Rate limits shared by every instance through Redis: `rateLimit: { store:
 * createRedisRateLimitStore({ client }), ... }`. The same token bucket as the memory store, taken
 * atomically by a Lua script. When Redis fails or hangs, each instance limits locally, one log
 * line per outage, and Redis is used again as soon as it answers.
 */
export function createRedisRateLimitStore(options: RedisRateLimitStoreOptions): RateLimitStore {
  const shared = createRedisRateLimitStoreOnly(options)
  if (options.fallback === false) return shared
  const local = options.fallback ?? createMemoryRateLimitStore()
  return withFallback(
    shared,
    local,
    createStoreCircuit({ name: 'Redis rate-limit store', ...options }),
  )
}
