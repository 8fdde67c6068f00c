// One server instance of the two-instance test: the built package (`copilotedge`, as users import
// it) on @hono/node-server, sharing its answer cache, rate limits and streams in flight through
// Redis. Reports its port over IPC and exits when the IPC channel closes (so a killed test run
// leaves no orphan). `/api/slow` (coalescing) and `/api/resumable` (resume) ask a slow upstream.
import { serve } from '@hono/node-server'
import {
  createCopilotEdgeHandler,
  createRedisCacheStore,
  createRedisRateLimitStore,
  createRedisStreamStore,
} from 'copilotedge'
import { createClient } from 'redis'

const { INSTANCE, REDIS_URL, BASE_URL, SLOW_BASE_URL, RATE_LIMIT, RETRY_MS, LEASE_MS } = process.env

const client = createClient({ url: REDIS_URL, socket: { reconnectStrategy: () => 50 } })
// node-redis emits 'error' on each failed reconnect: without a listener the process would crash.
client.on('error', () => {})
await client.connect()

const storeOptions = { client, retryMs: Number(RETRY_MS) }
const streams = createRedisStreamStore({ ...storeOptions, leaseMs: Number(LEASE_MS) })
const credentials = { apiKey: 'emulator-token', accountId: 'emulator-account' }
const handler = createCopilotEdgeHandler({
  ...credentials,
  baseURL: BASE_URL,
  streams,
  cache: { store: createRedisCacheStore(storeOptions) },
  rateLimit: {
    store: createRedisRateLimitStore(storeOptions),
    capacity: Number(RATE_LIMIT),
    // Practically no refill during a test: the window is the burst.
    refillPerSecond: 0.0001,
    // Only requests naming a client are limited, so the cache tests are never turned away.
    key: (request) => request.headers.get('x-client'),
  },
})

const slow = createCopilotEdgeHandler({
  ...credentials,
  baseURL: SLOW_BASE_URL,
  cache: { store: createRedisCacheStore(storeOptions) },
  streams,
})
const resumable = createCopilotEdgeHandler({
  ...credentials,
  baseURL: SLOW_BASE_URL,
  cache: false,
  resume: true,
  streams,
})

// Says which instance answered, so the test can see the balancer alternate.
const withInstance = async (request) => {
  const path = new URL(request.url).pathname
  const route = path.startsWith('/api/slow')
    ? slow
    : path.startsWith('/api/resumable')
      ? resumable
      : handler
  const response = await route(request)
  response.headers.set('X-Instance', INSTANCE)
  return response
}

const server = serve({ fetch: withInstance, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.send({ port: info.port })
})

process.on('disconnect', () => {
  server.close()
  streams.close()
  client.destroy()
  process.exit(0)
})
