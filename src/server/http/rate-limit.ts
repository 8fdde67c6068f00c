import { LRUCache } from 'lru-cache'

/** One client's bucket: how many tokens it held at `updatedAt` (ms on the limiter's clock). */
export interface RateLimitBucket {
  tokens: number
  updatedAt: number
}

/** What a store needs to refill and spend one bucket in a single step. */
export interface RateLimitTake {
  capacity: number
  /** Tokens added per millisecond. */
  refillPerMs: number
  /** The limiter's clock, in ms. */
  now: number
}

/** A bucket after one take: `allowed` when a token was spent; `tokens` left (fractional). */
export interface RateLimitTaken {
  allowed: boolean
  tokens: number
}

/**
 * Where buckets live. The in-memory default is per process; plug a shared store (Redis, Workers KV,
 * a Durable Object) to limit across instances. Read-then-write (`get` + `set`) is not atomic: a
 * store that can refill and spend in one step implements `take`, which the limiter then uses
 * instead, so concurrent requests on any instance never overspend.
 */
export interface RateLimitStore {
  get(key: string): RateLimitBucket | undefined | Promise<RateLimitBucket | undefined>
  /** `ttlMs`: after this long untouched the bucket is full again, so the store may drop it. */
  set(key: string, bucket: RateLimitBucket, ttlMs: number): void | Promise<void>
  /** Refill, spend one token if there is one, and save, atomically (see `takeToken`). */
  take?(key: string, take: RateLimitTake): RateLimitTaken | Promise<RateLimitTaken>
}

/** A function of the request naming the client; `null` exempts the request from limiting. */
export type RateLimitKey = (request: Request) => string | null | Promise<string | null>

export interface RateLimitConfig {
  /** Burst size: requests a client may make at once. Default: `requestsPerMinute`, else 60. */
  capacity?: number
  /** Tokens added per second. Give this or `requestsPerMinute`. */
  refillPerSecond?: number
  /** The same rate as `refillPerSecond` (÷ 60), for those who think per minute. */
  requestsPerMinute?: number
  /** Names the client. Default: `clientIp` (read the spoofing caveat there). */
  key?: RateLimitKey
  /** Default: in memory, bounded to `maxKeys` buckets (least recently seen dropped first). */
  store?: RateLimitStore
  /** Bound of the in-memory store. Default 10,000 keys. */
  maxKeys?: number
  /** Clock in ms, for tests. Default `Date.now`. */
  now?: () => number
}

export type RateLimitDecision =
  | { allowed: true; key: string | null; remaining: number }
  | { allowed: false; key: string; retryAfterMs: number }

/** Keys longer than this are cut: a header value must not become an unbounded map key. */
const MAX_KEY_LENGTH = 128
const DEFAULT_MAX_KEYS = 10_000
const TOKEN_EPSILON = 1e-9

/**
 * The client's IP from the standard proxy headers: `CF-Connecting-IP`, then the first hop of
 * `X-Forwarded-For`, then `X-Real-IP`; `'unknown'` when none is set (all such requests then share
 * one bucket, so stripping the headers never escapes the limit).
 *
 * Spoofing caveat: any client can send these headers. Trust them only behind a proxy you control
 * that overwrites them (Cloudflare sets `CF-Connecting-IP`). Many proxies *append* to
 * `X-Forwarded-For`, leaving the client's own first hop in place: behind one of those, pass a `key`
 * that reads the hop your proxy added, or a client gets a fresh bucket per forged value.
 */
export function clientIp(request: Request): string {
  const headers = request.headers
  const cf = headers.get('cf-connecting-ip')?.trim()
  if (cf) return cf.slice(0, MAX_KEY_LENGTH)
  const first = headers.get('x-forwarded-for')?.split(',')[0]?.trim()
  if (first) return first.slice(0, MAX_KEY_LENGTH)
  const real = headers.get('x-real-ip')?.trim()
  if (real) return real.slice(0, MAX_KEY_LENGTH)
  return 'unknown'
}

/**
 * The token-bucket step every store shares: refill `previous` (a bucket never seen, or dropped, is
 * full) up to `capacity`, spend one token if there is one. `ttlMs`: how long until it is full again.
 */
export function takeToken(
  previous: RateLimitBucket | undefined,
  take: RateLimitTake,
): RateLimitTaken & { bucket: RateLimitBucket; ttlMs: number } {
  const { capacity, refillPerMs, now } = take
  const elapsed = previous ? Math.max(0, now - previous.updatedAt) : 0
  const tokens = previous ? Math.min(capacity, previous.tokens + elapsed * refillPerMs) : capacity
  // The epsilon absorbs floating-point error: a client that waited exactly retryAfterMs gets in.
  // A refused take keeps the refilled count, so the wait is measured from now.
  const allowed = tokens >= 1 - TOKEN_EPSILON
  const left = allowed ? Math.max(0, tokens - 1) : tokens
  return {
    allowed,
    tokens: left,
    bucket: { tokens: left, updatedAt: now },
    ttlMs: (capacity - left) / refillPerMs,
  }
}

/** The default store: an LRU map, so a flood of distinct keys cannot grow memory without bound. */
export function createMemoryRateLimitStore(
  options: { maxKeys?: number; now?: () => number } = {},
): RateLimitStore {
  const now = options.now ?? Date.now
  const buckets = new LRUCache<string, RateLimitBucket>({
    max: options.maxKeys ?? DEFAULT_MAX_KEYS,
    // The bucket's own clock decides expiry, so fake clocks in tests agree with the limiter.
    perf: { now },
    // 0: read the clock on every check instead of caching it behind a timer.
    ttlResolution: 0,
  })
  const set = (key: string, bucket: RateLimitBucket, ttlMs: number) => {
    buckets.set(key, bucket, { ttl: Math.max(1, Math.ceil(ttlMs)) })
  }
  return {
    get: (key) => buckets.get(key),
    set,
    // Synchronous, so atomic within the process: concurrent checks cannot all read a full bucket.
    take: (key, take) => {
      const { allowed, tokens, bucket, ttlMs } = takeToken(buckets.get(key), take)
      set(key, bucket, ttlMs)
      return { allowed, tokens }
    },
  }
}

export interface RateLimiter {
  /** Takes one token for the request's client, or says how long until one is available. */
  check(request: Request): Promise<RateLimitDecision>
  readonly capacity: number
  readonly refillPerSecond: number
}

/**
 * A token bucket per client: `capacity` tokens, refilled continuously at `refillPerSecond`; each
 * request takes one. Throws `TypeError` for a config that cannot work (a limiter that silently
 * allows everything would be the first CopilotEdge's bug again).
 */
export function createRateLimiter(config: RateLimitConfig): RateLimiter {
  const refillPerSecond =
    config.refillPerSecond ??
    (config.requestsPerMinute === undefined ? undefined : config.requestsPerMinute / 60)
  if (
    refillPerSecond === undefined ||
    !(refillPerSecond > 0) ||
    !Number.isFinite(refillPerSecond)
  ) {
    throw new TypeError(
      'rateLimit needs a positive finite `refillPerSecond` or `requestsPerMinute` (or rateLimit: false)',
    )
  }
  const capacity = config.capacity ?? config.requestsPerMinute ?? 60
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new TypeError('rateLimit.capacity must be a positive integer')
  }
  const now = config.now ?? Date.now
  const keyOf = config.key ?? clientIp
  const store = config.store ?? createMemoryRateLimitStore({ maxKeys: config.maxKeys, now })
  const refillPerMs = refillPerSecond / 1000

  return {
    capacity,
    refillPerSecond,
    async check(request) {
      const rawKey = await keyOf(request)
      if (rawKey === null) return { allowed: true, key: null, remaining: capacity }
      const key = String(rawKey).slice(0, MAX_KEY_LENGTH)
      const take = { capacity, refillPerMs, now: now() }
      let taken: RateLimitTaken
      if (store.take) {
        taken = await store.take(key, take)
      } else {
        const step = takeToken(await store.get(key), take)
        await store.set(key, step.bucket, step.ttlMs)
        taken = step
      }
      if (!taken.allowed) {
        return { allowed: false, key, retryAfterMs: Math.ceil((1 - taken.tokens) / refillPerMs) }
      }
      return { allowed: true, key, remaining: Math.floor(taken.tokens) }
    },
  }
}

/** `Retry-After` in whole seconds, rounded up and at least 1 (0 would invite an instant retry). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}
