// A module Worker, bundled from src/ with esbuild and run on workerd by Miniflare in the tests:
// - `POST /store/<kind>/<method>` runs one method of a Cloudflare store inside workerd, against the
//   real bindings (the contract suites in Node call the stores through this, see remote-store.ts);
// - anything else is the copilotedge handler, its cache in KV (or the Cache API) and, when
//   RATE_LIMIT is set, its rate limit in the CopilotEdgeCoordinator Durable Object;
// - with SLOW_BASE_URL set, `/api/slow` (coalescing) and `/api/resumable` (resume: true) ask that
//   slow upstream with their streams in flight shared through the Durable Object stream store.

// Keeps the request alive for a promise, from anywhere in the request (workerd's own module).
import { waitUntil } from 'cloudflare:workers'
import {
  type CacheStore,
  CopilotEdgeCoordinator,
  createCacheAPIStore,
  createCopilotEdgeHandler,
  createDurableObjectRateLimitStore,
  createDurableObjectStreamStore,
  createKVCacheStore,
  type DurableObjectNamespaceLike,
  type KVNamespaceLike,
  type RateLimitStore,
} from '../../../../src/server'

export { CopilotEdgeCoordinator }

interface Env {
  CACHE: KVNamespaceLike
  COORDINATOR: DurableObjectNamespaceLike
  CLOUDFLARE_API_TOKEN: string
  CLOUDFLARE_ACCOUNT_ID: string
  WORKERS_AI_BASE_URL: string
  /** 'kv' (default) or 'cache-api': the handler's answer cache. */
  CACHE_KIND?: string
  /** '1': the handler's cache store gets no `waitUntil` (to show what that costs). */
  NO_WAIT_UNTIL?: string
  /** The handler's `idleTimeoutMs` for `/api/slow` and `/api/resumable` (default: its own). */
  IDLE_TIMEOUT_MS?: string
  /** Requests per client before 429 (the bucket barely refills); unset: no rate limit. */
  RATE_LIMIT?: string
  /** The slow upstream of `/api/slow` and `/api/resumable`; unset: no such routes. */
  SLOW_BASE_URL?: string
  /** The stream store's lease (ms). */
  LEASE_MS?: string
  /** The stream store's flushMs (default its own). */
  FLUSH_MS?: string
  /** '1': `/api/slow` and `/api/resumable` keep their streams in the isolate only (no stream store). */
  LOCAL_STREAMS?: string
  /** Sent back as `X-Worker`: which Worker answered. */
  WORKER_NAME?: string
}

export interface StoreOptions {
  prefix?: string
  maxBytes?: number
}

type AnyStore = CacheStore | RateLimitStore
const stores = new Map<string, AnyStore>()

// `fallback: false`: the contract must prove the binding itself, not the local fallback.
function storeFor(kind: string, options: StoreOptions, env: Env): AnyStore {
  const id = `${kind}:${JSON.stringify(options)}`
  let store = stores.get(id)
  if (!store) {
    if (kind === 'kv') {
      store = createKVCacheStore({ namespace: env.CACHE, ...options, fallback: false })
    } else if (kind === 'cache-api') {
      store = createCacheAPIStore({ ...options, fallback: false })
    } else if (kind === 'durable-object') {
      store = createDurableObjectRateLimitStore({
        namespace: env.COORDINATOR,
        prefix: options.prefix,
        fallback: false,
      })
    } else {
      throw new TypeError(`unknown store ${kind}`)
    }
    stores.set(id, store)
  }
  return store
}

async function callStore(request: Request, env: Env, kind: string, method: string) {
  const { options, args } = (await request.json()) as { options: StoreOptions; args: unknown[] }
  const store = storeFor(kind, options, env) as unknown as Record<
    string,
    (...a: unknown[]) => unknown
  >
  const fn = store[method]
  if (typeof fn !== 'function') return Response.json({ error: `no ${method}` }, { status: 404 })
  try {
    const value = await fn.apply(store, args)
    // `undefined` (a miss) does not survive JSON: it is the absence of `value`.
    return Response.json(value === undefined ? {} : { value })
  } catch (error) {
    return Response.json({ error: String(error) }, { status: 500 })
  }
}

type Handler = (request: Request) => Promise<Response>
let handler: Handler | undefined
let slow: Handler | undefined
let resumable: Handler | undefined

/** `/api/slow` and `/api/resumable`: streams in flight shared by every Worker through the object. */
function sharedStreamRoute(path: string, env: Env): Handler | undefined {
  if (!env.SLOW_BASE_URL) return undefined
  const base = {
    apiKey: env.CLOUDFLARE_API_TOKEN,
    accountId: env.CLOUDFLARE_ACCOUNT_ID,
    baseURL: env.SLOW_BASE_URL,
  }
  const streams = () =>
    createDurableObjectStreamStore({
      namespace: env.COORDINATOR,
      waitUntil,
      leaseMs: Number(env.LEASE_MS ?? 5_000),
      ...(env.FLUSH_MS ? { flushMs: Number(env.FLUSH_MS) } : {}),
    })
  if (path.startsWith('/api/slow')) {
    // The default memory cache: its key is what identical requests are coalesced by.
    slow ??= createCopilotEdgeHandler({
      ...base,
      ...(env.LOCAL_STREAMS === '1' ? {} : { streams: streams() }),
      ...(env.NO_WAIT_UNTIL === '1' ? {} : { waitUntil }),
      ...(env.IDLE_TIMEOUT_MS ? { idleTimeoutMs: Number(env.IDLE_TIMEOUT_MS) } : {}),
    })
    return slow
  }
  if (path.startsWith('/api/resumable')) {
    resumable ??= createCopilotEdgeHandler({
      ...base,
      cache: false,
      resume: true,
      ...(env.LOCAL_STREAMS === '1' ? {} : { streams: streams() }),
      ...(env.NO_WAIT_UNTIL === '1' ? {} : { waitUntil }),
      ...(env.IDLE_TIMEOUT_MS ? { idleTimeoutMs: Number(env.IDLE_TIMEOUT_MS) } : {}),
    })
    return resumable
  }
  return undefined
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const path = new URL(request.url).pathname
    const match = /^\/store\/([a-z-]+)\/([a-z]+)$/.exec(path)
    if (match?.[1] && match[2]) return callStore(request, env, match[1], match[2])
    const shared = sharedStreamRoute(path, env)
    if (shared) {
      const response = await shared(request)
      response.headers.set('X-Worker', env.WORKER_NAME ?? '')
      return response
    }
    const keep = env.NO_WAIT_UNTIL === '1' ? {} : { waitUntil }
    handler ??= createCopilotEdgeHandler({
      apiKey: env.CLOUDFLARE_API_TOKEN,
      accountId: env.CLOUDFLARE_ACCOUNT_ID,
      baseURL: env.WORKERS_AI_BASE_URL,
      stream: true,
      cache: {
        store:
          env.CACHE_KIND === 'cache-api'
            ? createCacheAPIStore(keep)
            : createKVCacheStore({ namespace: env.CACHE, ...keep }),
      },
      ...(env.RATE_LIMIT
        ? {
            rateLimit: {
              capacity: Number(env.RATE_LIMIT),
              refillPerSecond: 0.001,
              store: createDurableObjectRateLimitStore({ namespace: env.COORDINATOR }),
            },
          }
        : {}),
    })
    return handler(request)
  },
}
