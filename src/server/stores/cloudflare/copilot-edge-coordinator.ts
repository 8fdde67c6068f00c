import type { Clock } from '../../clock'
import { type RateLimitBucket, type RateLimitTake, takeToken } from '../../http/rate-limit'
import type { DurableObjectStateLike } from './cloudflare-bindings'
import { CoordinatorStreams } from './coordinator-streams'

/** The coordinator's routes (the client and the object agree on them; versioned like keys). */
export const COORDINATOR_PATHS = {
  take: '/v1/rate-limit/take',
  get: '/v1/rate-limit/get',
  set: '/v1/rate-limit/set',
} as const

/** A bucket as stored: the token count plus when the object may drop it (its own clock). */
interface StoredBucket extends RateLimitBucket {
  expiresAt: number
}

const BUCKET_PREFIX = 'rl:'

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })

const isFiniteNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value)

/**
 * The Durable Object behind `createDurableObjectRateLimitStore` and
 * `createDurableObjectStreamStore`: it holds rate-limit buckets in its storage and refills + spends
 * them one request at a time; the stream routes (`/v1/stream/*`) are `CoordinatorStreams`'. A Durable Object runs one event at a
 * time and its input gate holds other events while a storage call is pending, so read, compute and
 * write form one atomic step across every Worker isolate and location. Expired buckets are deleted
 * by an alarm, so storage holds only buckets that are not yet full again.
 *
 * Export it from your Worker and bind it (see the README, "Scaling out"):
 * `export { CopilotEdgeCoordinator } from 'copilotedge'`. It needs no `cloudflare:workers` import
 * (it is spoken to over `fetch`), so it is safe to import on any runtime.
 */
export class CopilotEdgeCoordinator {
  readonly #storage: DurableObjectStateLike['storage']
  readonly #streams: CoordinatorStreams

  /** Cloudflare passes `(state, env)`; `options.clock` is for tests. */
  constructor(
    state: DurableObjectStateLike,
    _env?: unknown,
    options: { clock?: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'> } = {},
  ) {
    this.#storage = state.storage
    this.#streams = new CoordinatorStreams(
      state.storage,
      (time) => this.#wakeBy(time),
      options.clock,
    )
  }

  async fetch(request: Request): Promise<Response> {
    if (request.method !== 'POST') return json({ error: 'POST only' }, 405)
    let body: Record<string, unknown>
    try {
      body = (await request.json()) as Record<string, unknown>
    } catch {
      return json({ error: 'body must be JSON' }, 400)
    }
    const path = new URL(request.url).pathname
    if (path.startsWith('/v1/stream/')) return this.#streams.fetch(path, body)
    const key = body.key
    if (typeof key !== 'string' || key === '') return json({ error: '`key` must be a string' }, 400)
    switch (path) {
      case COORDINATOR_PATHS.take: {
        const { capacity, refillPerMs, now } = body
        if (!isFiniteNumber(capacity) || !isFiniteNumber(refillPerMs) || !isFiniteNumber(now)) {
          return json({ error: '`capacity`, `refillPerMs` and `now` must be numbers' }, 400)
        }
        return json(await this.take(key, { capacity, refillPerMs, now }))
      }
      case COORDINATOR_PATHS.get:
        return json({ bucket: (await this.get(key)) ?? null })
      case COORDINATOR_PATHS.set: {
        const bucket = body.bucket as Partial<RateLimitBucket> | undefined
        const ttlMs = body.ttlMs
        if (!isFiniteNumber(bucket?.tokens) || !isFiniteNumber(bucket?.updatedAt)) {
          return json({ error: '`bucket` must be { tokens, updatedAt }' }, 400)
        }
        if (!isFiniteNumber(ttlMs)) return json({ error: '`ttlMs` must be a number' }, 400)
        await this.set(key, { tokens: bucket.tokens, updatedAt: bucket.updatedAt }, ttlMs)
        return json({ ok: true })
      }
      default:
        return json({ error: 'not found' }, 404)
    }
  }

  /** Refill, spend one token if there is one, save: no other event runs in between. */
  async take(key: string, take: RateLimitTake) {
    const { allowed, tokens, bucket, ttlMs } = takeToken(await this.get(key), take)
    await this.set(key, bucket, ttlMs)
    return { allowed, tokens }
  }

  async get(key: string): Promise<RateLimitBucket | undefined> {
    const saved = await this.#storage.get<StoredBucket>(BUCKET_PREFIX + key)
    if (!saved || Date.now() >= saved.expiresAt) return undefined
    return { tokens: saved.tokens, updatedAt: saved.updatedAt }
  }

  async set(key: string, bucket: RateLimitBucket, ttlMs: number): Promise<void> {
    const expiresAt = Date.now() + Math.max(1, Math.ceil(ttlMs))
    await this.#storage.put<StoredBucket>(BUCKET_PREFIX + key, { ...bucket, expiresAt })
    await this.#wakeBy(expiresAt)
  }

  /** Deletes expired buckets and stream logs, and wakes up for the next one to expire. */
  async alarm(): Promise<void> {
    const next = Math.min(await this.#expireBuckets(), await this.#streams.alarm())
    if (next !== Number.POSITIVE_INFINITY) await this.#storage.setAlarm(next)
  }

  /** One alarm per object: moved earlier when something expires sooner, never later. */
  async #wakeBy(time: number): Promise<void> {
    const alarm = await this.#storage.getAlarm()
    if (alarm === null || alarm > time) await this.#storage.setAlarm(time)
  }

  async #expireBuckets(): Promise<number> {
    const now = Date.now()
    const buckets = await this.#storage.list<StoredBucket>({ prefix: BUCKET_PREFIX })
    const expired: string[] = []
    let next = Number.POSITIVE_INFINITY
    for (const [name, bucket] of buckets) {
      if (now >= bucket.expiresAt) expired.push(name)
      else next = Math.min(next, bucket.expiresAt)
    }
    // Storage deletes at most 128 keys per call.
    for (let i = 0; i < expired.length; i += 128) {
      await this.#storage.delete(expired.slice(i, i + 128))
    }
    return next
  }
}
