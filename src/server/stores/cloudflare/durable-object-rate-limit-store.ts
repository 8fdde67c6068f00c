import {
  createMemoryRateLimitStore,
  type RateLimitBucket,
  type RateLimitStore,
  type RateLimitTaken,
} from '../../http/rate-limit'
import { createStoreCircuit, type StoreCircuitOptions } from '../store-circuit'
import { keyPrefix } from '../store-keys'
import { withFallback } from '../with-fallback'
import type { DurableObjectNamespaceLike } from './cloudflare-bindings'
import { COORDINATOR_PATHS } from './copilot-edge-coordinator'

export interface DurableObjectRateLimitStoreOptions extends Omit<StoreCircuitOptions, 'name'> {
  /** The binding of your `CopilotEdgeCoordinator` class, e.g. `env.COPILOT_COORDINATOR`. */
  namespace: DurableObjectNamespaceLike
  /** Names the objects: `<prefix>:v1:ratelimit:<client key>` (or `…:shard-<n>`). Default `'copilotedge'`. */
  prefix?: string
  /**
   * `0` (default): one object per client key, so limits scale with the number of clients. `n`: the
   * keys are hashed onto `n` objects (fewer objects, each serving more clients one at a time).
   */
  shards?: number
  /** Buckets while the object fails (each isolate then limits on its own). Default: in memory. */
  fallback?: RateLimitStore | false
}

// The first call to an object may create it in another location: give it time before the circuit
// calls the object down.
const DEFAULT_TIMEOUT_MS = 1000
const ORIGIN = 'https://copilotedge.coordinator'

/** FNV-1a, 32 bits: a stable, cheap hash for sharding (not security). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** Rate-limit buckets in `CopilotEdgeCoordinator` Durable Objects alone; `take` is atomic. */
export function createDurableObjectRateLimitStoreOnly(
  options: Pick<DurableObjectRateLimitStoreOptions, 'namespace' | 'prefix' | 'shards'>,
): RateLimitStore {
  const namespace = options.namespace
  if (!namespace || typeof namespace.idFromName !== 'function') {
    throw new TypeError(
      'createDurableObjectRateLimitStore needs `namespace`: the CopilotEdgeCoordinator binding',
    )
  }
  const shards = options.shards ?? 0
  if (!Number.isInteger(shards) || shards < 0) {
    throw new TypeError('shards must be 0 (one object per key) or a positive integer')
  }
  const prefix = keyPrefix(options.prefix, 'ratelimit')
  const objectName = (key: string) =>
    shards > 0 ? `${prefix}shard-${fnv1a(key) % shards}` : prefix + key

  const call = async <T>(key: string, path: string, body: Record<string, unknown>): Promise<T> => {
    const stub = namespace.get(namespace.idFromName(objectName(key)))
    const response = await stub.fetch(ORIGIN + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ key, ...body }),
    })
    if (!response.ok) {
      throw new Error(
        `CopilotEdgeCoordinator answered ${response.status}: ${await response.text()}`,
      )
    }
    return (await response.json()) as T
  }

  return {
    get: async (key) =>
      (await call<{ bucket: RateLimitBucket | null }>(key, COORDINATOR_PATHS.get, {})).bucket ??
      undefined,
    set: async (key, bucket, ttlMs) => {
      await call(key, COORDINATOR_PATHS.set, { bucket, ttlMs })
    },
    take: (key, take) => call<RateLimitTaken>(key, COORDINATOR_PATHS.take, { ...take }),
  }
}

/**
 * Rate limits shared by every Worker isolate and location through a Durable Object:
 * `rateLimit: { store: createDurableObjectRateLimitStore({ namespace: env.COPILOT_COORDINATOR }) }`.
 * Strongly consistent (one object owns each bucket). When the object fails or hangs, each isolate
 * limits locally, one log line per outage, and the object is used again as soon as it answers.
 */
export function createDurableObjectRateLimitStore(
  options: DurableObjectRateLimitStoreOptions,
): RateLimitStore {
  const shared = createDurableObjectRateLimitStoreOnly(options)
  if (options.fallback === false) return shared
  const local = options.fallback ?? createMemoryRateLimitStore()
  return withFallback(
    shared,
    local,
    createStoreCircuit({
      name: 'Durable Object rate-limit store',
      timeoutMs: DEFAULT_TIMEOUT_MS,
      ...options,
    }),
  )
}
