import { createClient } from 'redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { SharedStream } from '../../../src/server/engine/stream-store'
import {
  createRedisStreamStore,
  type RedisStreamStore,
  type RedisStreamStoreOptions,
} from '../../../src/server/stores/redis/redis-stream-store'
import { type RedisServer, startRedisServer } from '../../helpers/redis-server'
import { drain, finish, hi, NO_STOP, streamStoreContract } from './stream-store.contract'

type Client = Awaited<ReturnType<typeof connect>>

let server: RedisServer
let client: Client
let prefixes = 0
const opened: RedisStreamStore[] = []
const clients: Client[] = []

async function connect(url: string) {
  const c = createClient({ url, socket: { reconnectStrategy: () => 20 } })
  c.on('error', () => {})
  await c.connect()
  return c
}

/** A store in a fresh namespace (tests never see each other's keys), closed after the test. */
function store(options: Partial<RedisStreamStoreOptions> = {}, prefix = `s${++prefixes}`) {
  const created = createRedisStreamStore({ client, prefix, leaseMs: 600, ...options })
  opened.push(created)
  return created
}

beforeAll(async () => {
  server = await startRedisServer()
  client = await connect(server.url)
})
afterEach(() => {
  for (const s of opened.splice(0)) s.close()
  for (const c of clients.splice(0)) c.destroy()
})
afterAll(async () => {
  client?.destroy()
  await server?.stop()
})

streamStoreContract('the Redis stream store', {
  pair: () => {
    const prefix = `pair${++prefixes}`
    return [store({}, prefix), store({}, prefix)]
  },
  settleMs: 600,
})

describe('the Redis stream store', () => {
  it('ends a reader with stream_truncated once the leader is gone (its lease lapsed), not a hang', async () => {
    const leaderClient = await connect(server.url)
    clients.push(leaderClient)
    const leader = store({ client: leaderClient }, 'dies')
    const reader = store({}, 'dies')
    const id = crypto.randomUUID()
    const writer = leader.publish(id, { model: 'm' }, NO_STOP)
    writer.opened('m')
    writer.append(hi)
    const stream = (await reader.read(id, { known: false })) as SharedStream
    await stream.opened
    // Head, open and the events are in Redis (the leader writes in the background).
    await vi.waitFor(async () => expect(await client.xLen(`dies:v1:stream:${id}`)).toBe(3))
    // The leader's process dies: nothing refreshes its lease any more.
    leaderClient.destroy()
    const started = Date.now()
    const { events, error } = await drain(stream)
    expect(events).toEqual(hi)
    expect(error?.code).toBe('stream_truncated')
    expect(error?.status).toBe(502)
    // Within the lease (600 ms) and one blocking read (200 ms), with room for a loaded machine.
    expect(Date.now() - started).toBeLessThan(3_000)
  })

  it('keeps an answer under <prefix>:v1:stream:<id> with a PX expiry, its lease gone once it ended', async () => {
    const s = store({}, 'keys')
    const id = crypto.randomUUID()
    const writer = s.publish(id, { model: 'm' }, { ...NO_STOP, ttlMs: 5_000 })
    writer.opened('m')
    writer.append([...hi, finish])
    await vi.waitFor(async () => {
      expect(await client.exists(`keys:v1:stream:${id}:lease`)).toBe(1)
    })
    writer.end('complete')
    await vi.waitFor(async () => {
      expect(await client.exists(`keys:v1:stream:${id}:lease`)).toBe(0)
    })
    expect(await client.xLen(`keys:v1:stream:${id}`)).toBe(4)
    const pttl = await client.pTTL(`keys:v1:stream:${id}`)
    expect(pttl).toBeGreaterThan(4_000)
    expect(pttl).toBeLessThanOrEqual(5_000)
  })

  it('answers locally (claim undefined) while Redis is down, logging the outage once', async () => {
    const down = await connect(server.url)
    clients.push(down)
    const warn = vi.fn()
    const s = store({ client: down, logger: { warn } })
    down.destroy()
    expect(await s.claim('k', 'a')).toBeUndefined()
    expect(await s.claim('k', 'b')).toBeUndefined()
    expect(await s.stop('x')).toBe(false)
    expect(warn).toHaveBeenCalledTimes(1)
    expect(String(warn.mock.calls[0]?.[0])).toContain('Redis stream store failed')
  })
})
