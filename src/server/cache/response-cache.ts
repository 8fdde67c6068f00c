import { LRUCache } from 'lru-cache'
import type { FinishReason, ToolCall, Usage } from '../../shared/chat-types'

/** A complete answer as cached (and as assembled from a stream). */
export interface CachedAnswer {
  /** The model that produced it (the fallback, when that one answered). */
  model: string
  text: string
  reasoning?: string
  toolCalls?: ToolCall[]
  finishReason: FinishReason
  usage?: Usage
}

/**
 * Where answers live. The in-memory LRU is the default; a shared store (Redis, Workers KV) plugs in
 * by implementing these three calls. Values are plain JSON-serialisable objects. Sync or async.
 */
export interface CacheStore {
  get(key: string): CachedAnswer | undefined | Promise<CachedAnswer | undefined>
  set(key: string, value: CachedAnswer, ttlMs: number): void | Promise<void>
  clear(): void | Promise<void>
}

/** Bytes an answer takes in memory (UTF-16 strings, roughly). */
function answerSize(answer: CachedAnswer): number {
  let size = 64 + answer.model.length * 2 + answer.text.length * 2
  if (answer.reasoning) size += answer.reasoning.length * 2
  if (answer.toolCalls) size += JSON.stringify(answer.toolCalls).length * 2
  return size
}

/** lru-cache bounded by entries and bytes, each entry expiring after its ttl. */
export function createMemoryCacheStore(options: {
  maxEntries: number
  maxBytes: number
  ttl: number
}): CacheStore {
  const lru = new LRUCache<string, CachedAnswer>({
    max: options.maxEntries,
    maxSize: options.maxBytes,
    sizeCalculation: answerSize,
    ttl: options.ttl,
    // Expired entries are never served; no timer per entry (lru-cache checks on read).
    ttlAutopurge: false,
  })
  return {
    get: (key) => lru.get(key),
    set: (key, value, ttlMs) => {
      // An answer bigger than the whole cache is skipped rather than evicting everything.
      if (answerSize(value) <= options.maxBytes) lru.set(key, value, { ttl: ttlMs })
    },
    clear: () => lru.clear(),
  }
}

interface InFlight {
  promise: Promise<CachedAnswer>
  controller: AbortController
  waiters: number
}

/**
 * The cache in front of the upstream: lookups, writes (complete answers only) and in-flight
 * de-duplication, so N identical concurrent non-stream requests make one upstream call. The shared
 * call is aborted only when every caller waiting on it has gone.
 */
export class ResponseCache {
  readonly #store: CacheStore
  readonly #ttl: number
  readonly #inFlight = new Map<string, InFlight>()
  readonly #onError: (error: unknown) => void

  constructor(store: CacheStore, ttl: number, onError: (error: unknown) => void) {
    this.#store = store
    this.#ttl = ttl
    this.#onError = onError
  }

  /** The cached answer, or undefined. A failing shared store is a miss, never an error. */
  get(key: string): CachedAnswer | undefined | Promise<CachedAnswer | undefined> {
    try {
      const value = this.#store.get(key)
      if (value instanceof Promise) {
        return value.catch((error: unknown) => {
          this.#onError(error)
          return undefined
        })
      }
      return value
    } catch (error) {
      this.#onError(error)
      return undefined
    }
  }

  /**
   * Stores a complete answer (finish `stop` or `length`); anything else is ignored. An async
   * store's write comes back as a promise that settles (never rejects) once it is done.
   */
  set(key: string, answer: CachedAnswer): void | Promise<void> {
    if (answer.finishReason !== 'stop' && answer.finishReason !== 'length') return
    try {
      const done = this.#store.set(key, answer, this.#ttl)
      if (done instanceof Promise) return done.then(undefined, this.#onError)
    } catch (error) {
      this.#onError(error)
    }
  }

  clear(): void | Promise<void> {
    return this.#store.clear()
  }

  /**
   * Runs `produce` once for concurrent callers with the same key. Each caller's `signal` only
   * detaches that caller; the shared call is aborted when the last one leaves.
   */
  dedupe(
    key: string,
    signal: AbortSignal | undefined,
    produce: (signal: AbortSignal) => Promise<CachedAnswer>,
  ): Promise<CachedAnswer> {
    let entry = this.#inFlight.get(key)
    if (!entry) {
      const controller = new AbortController()
      const promise = produce(controller.signal).finally(() => {
        if (this.#inFlight.get(key) === created) this.#inFlight.delete(key)
      })
      // Each waiter handles the outcome; this only keeps an abandoned call from being "unhandled".
      promise.catch(() => {})
      const created: InFlight = { promise, controller, waiters: 0 }
      entry = created
      this.#inFlight.set(key, entry)
    }
    const shared = entry
    shared.waiters++
    if (!signal) return shared.promise.finally(() => shared.waiters--)
    return new Promise<CachedAnswer>((resolve, reject) => {
      const leave = () => {
        signal.removeEventListener('abort', onAbort)
        shared.waiters--
      }
      const onAbort = () => {
        leave()
        if (shared.waiters === 0) {
          shared.controller.abort(signal.reason)
          if (this.#inFlight.get(key) === shared) this.#inFlight.delete(key)
        }
        reject(signal.reason)
      }
      if (signal.aborted) {
        onAbort()
        return
      }
      signal.addEventListener('abort', onAbort, { once: true })
      shared.promise.then(
        (value) => {
          leave()
          resolve(value)
        },
        (error: unknown) => {
          leave()
          reject(error)
        },
      )
    })
  }
}
