import { type CacheStore, createMemoryCacheStore } from '../cache/response-cache'
import { createStoreCircuit, type StoreCircuitOptions } from './store-circuit'
import { withFallback } from './with-fallback'

/** What every shared cache store accepts besides its own client: the circuit and the fallback. */
export interface SharedCacheOptions extends Omit<StoreCircuitOptions, 'name'> {
  /**
   * Where answers go while the shared store fails (the circuit's `timeoutMs`/`retryMs` decide
   * when). Default: an in-memory LRU of 1000 entries / 16 MiB per instance; `false`: no fallback,
   * the shared store's errors reach the response cache (each a miss).
   */
  fallback?: CacheStore | false
}

/**
 * A shared cache store as the handler gets it: calls to `shared` go through a circuit that falls
 * back to a local cache (one log line per outage), and every write goes through `keep` (Workers
 * hand it to `waitUntil`). `clear` is not on a request's path, so not hidden by the circuit: both
 * are cleared and a shared error throws.
 */
export function cacheWithFallback(
  shared: CacheStore,
  options: SharedCacheOptions & { name: string },
  keep: <T>(write: Promise<T>) => Promise<T> = (write) => write,
): CacheStore {
  if (options.fallback === false) {
    return {
      get: shared.get,
      set: (key, value, ttlMs) => keep(Promise.resolve(shared.set(key, value, ttlMs))),
      clear: shared.clear,
    }
  }
  const local =
    options.fallback ??
    createMemoryCacheStore({ maxEntries: 1000, maxBytes: 16 * 1024 * 1024, ttl: 60_000 })
  const store = withFallback(shared, local, createStoreCircuit(options))
  return {
    get: store.get,
    set: (key, value, ttlMs) => keep(store.set(key, value, ttlMs)),
    clear: async () => {
      await local.clear()
      await shared.clear()
    },
  }
}
