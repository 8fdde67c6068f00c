import { createClient } from 'redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { AnswerEvent } from '../../../src/server/engine/answer-event'
import type { SharedStream } from '../../../src/server/engine/stream-store'
import { APIError } from '../../../src/server/errors'
import {
  createRedisStreamStore,
  type RedisStreamStore,
  type RedisStreamStoreOptions,
} from '../../../src/server/stores/redis/redis-stream-store'
import { type RedisServer, startRedisServer } from '../../helpers/redis-server'

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

const NO_STOP = { ttlMs: 60_000, maxBytes: 1 << 20, onStop: () => {} }

/** Everything a shared stream hands over, and how it ended. */
async function drain(stream: SharedStream) {
  const events: AnswerEvent[] = []
  try {
    for (;;) {
      const batch = await stream.read()
      if (batch === undefined) return { events, error: undefined }
      events.push(...batch)
    }
  } catch (error) {
    return { events, error: error as APIError }
  }
}

const hi: AnswerEvent[] = [
  { type: 'text', text: 'Hel' },
  { type: 'text', text: 'lo' },
]
const finish: AnswerEvent = { type: 'finish', reason: 'stop' }

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

describe('the Redis stream store', () => {
  it('hands a reader on another store every event the leader wrote, in order, then the end', async () => {
    const leader = store({}, 'same')
    const other = store({}, 'same')
    const id = crypto.randomUUID()
    const writer = leader.publish(id, { model: 'm' }, NO_STOP)
    writer.opened('answering-model')
    writer.append(hi.slice(0, 1))
    const reader = (await other.read(id, { known: false })) as SharedStream
    writer.append([...hi.slice(1), finish])
    writer.end('complete')
    await reader.opened
    expect(reader.model).toBe('answering-model')
    expect(await drain(reader)).toEqual({ events: [...hi, finish], error: undefined })
  })

  it('lets a follower wait for a stream its leader has not written yet', async () => {
    const s = store()
    const id = crypto.randomUUID()
    const reader = (await s.read(id, { known: false })) as SharedStream
    const writer = s.publish(id, { model: 'm' }, NO_STOP)
    writer.opened('m')
    writer.append([...hi, finish])
    writer.end('complete')
    expect((await drain(reader)).events).toEqual([...hi, finish])
  })

  it('finds a resumable stream by id with its head, and nothing for an unknown id', async () => {
    const s = store()
    const id = crypto.randomUUID()
    const encoding = {
      protocol: 'chat-completions' as const,
      answerId: 'chatcmpl-1',
      created: 7,
      decoded: { request: { model: 'm' }, context: undefined },
    } as never
    s.publish(id, { model: 'm', encoding }, NO_STOP).end('complete')
    await vi.waitFor(async () => {
      const found = await s.read(id, { known: true })
      expect(found?.head).toEqual({ model: 'm', encoding })
      found?.abort()
    })
    expect(await s.read(crypto.randomUUID(), { known: true })).toBeUndefined()
  })

  it("gives readers the leader's error as the same status and code", async () => {
    const s = store()
    const id = crypto.randomUUID()
    const writer = s.publish(id, { model: 'm' }, NO_STOP)
    writer.opened('m')
    writer.append(hi)
    writer.end(
      'error',
      new APIError('Upstream busy', { status: 429, type: 'rate_limit_error', retryAfter: 3 }),
    )
    const { events, error } = await drain((await s.read(id, { known: false })) as SharedStream)
    expect(events).toEqual(hi)
    expect(error).toBeInstanceOf(APIError)
    expect([error?.status, error?.type, error?.message, error?.retryAfter]).toEqual([
      429,
      'rate_limit_error',
      'Upstream busy',
      3,
    ])
  })

  it('ends the shared log with resume_log_full once it outgrows maxBytes', async () => {
    const s = store()
    const id = crypto.randomUUID()
    const writer = s.publish(id, { model: 'm' }, { ...NO_STOP, maxBytes: 64 })
    writer.opened('m')
    writer.append(hi)
    writer.append([{ type: 'text', text: 'x'.repeat(100) }])
    writer.append([finish])
    const { error } = await drain((await s.read(id, { known: false })) as SharedStream)
    expect([error?.status, error?.code]).toEqual([502, 'resume_log_full'])
  })

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

  it('claims a cache key once: the first leads, the next follow its stream; a failed answer frees it', async () => {
    const a = store({}, 'claims')
    const b = store({}, 'claims')
    const first = crypto.randomUUID()
    expect(await a.claim('k', first)).toEqual({ role: 'leader' })
    expect(await b.claim('k', crypto.randomUUID())).toEqual({ role: 'follower', streamId: first })
    a.publish(first, { model: 'm' }, { ...NO_STOP, key: 'k' }).end(
      'error',
      new APIError('x', { status: 502, type: 'upstream_error' }),
    )
    await vi.waitFor(async () => {
      expect(await client.get('claims:v1:inflight:k')).toBeNull()
    })
    expect(await b.claim('k', 'next')).toEqual({ role: 'leader' })
  })

  it('keeps a completed answer claimed until its lease lapses, so a late identical request follows it', async () => {
    const s = store({}, 'late')
    const id = crypto.randomUUID()
    expect(await s.claim('k', id)).toEqual({ role: 'leader' })
    const writer = s.publish(id, { model: 'm' }, { ...NO_STOP, key: 'k' })
    writer.opened('m')
    writer.append([...hi, finish])
    writer.end('complete')
    const claim = await s.claim('k', 'late')
    expect(claim).toEqual({ role: 'follower', streamId: id })
    const { events } = await drain((await s.read(id, { known: false })) as SharedStream)
    expect(events).toEqual([...hi, finish])
  })

  it('delivers a stop asked on another store to the leader, and says false for an unknown stream', async () => {
    const leader = store({}, 'stops')
    const other = store({}, 'stops')
    const id = crypto.randomUUID()
    const onStop = vi.fn()
    leader.publish(id, { model: 'm' }, { ...NO_STOP, onStop })
    // The leader's subscription opens on its first publish.
    await vi.waitFor(async () => {
      expect(await other.stop(id)).toBe(true)
      expect(onStop).toHaveBeenCalled()
    })
    expect(await other.stop(crypto.randomUUID())).toBe(false)
  })

  it('tells the leader whether readers elsewhere still read its answer', async () => {
    const s = store({}, 'readers')
    const id = crypto.randomUUID()
    const writer = s.publish(id, { model: 'm' }, NO_STOP)
    writer.opened('m')
    expect(await writer.remoteReaders()).toBe(false)
    const reader = (await s.read(id, { known: false })) as SharedStream
    await reader.opened
    await vi.waitFor(async () => expect(await writer.remoteReaders()).toBe(true))
    reader.abort()
    await vi.waitFor(async () => expect(await writer.remoteReaders()).toBe(false))
    writer.end('complete')
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
