import { createClient } from 'redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { type CopilotEdgeConfig, createCopilotEdgeHandler } from '../../../src/server'
import {
  createRedisStreamStore,
  type RedisStreamStore,
} from '../../../src/server/stores/redis/redis-stream-store'
import { type RedisServer, startRedisServer } from '../../helpers/redis-server'
import { bodyReader } from '../helpers/fake-clock'
import { Channel, fakeProvider } from '../helpers/fake-provider'
import { hello, normalise, post, URL_ } from '../helpers/post'

// Two handlers in one process, each with its own Redis connection and upstream, as two instances
// behind a balancer would be: what one streams, the other serves from Redis.

type Client = Awaited<ReturnType<typeof connect>>

let server: RedisServer
let prefixes = 0
const cleanup: Array<() => void> = []

async function connect() {
  const c = createClient({ url: server.url, socket: { reconnectStrategy: () => 20 } })
  c.on('error', () => {})
  await c.connect()
  return c
}

/**
 * One instance: its own client, store and upstream (fed by the test), sharing `prefix`. `writeDelayMs`:
 * its store's scripted writes (every log entry) reach Redis that much later, as over a slow link.
 */
async function instance(prefix: string, config: CopilotEdgeConfig = {}, writeDelayMs = 0) {
  const client: Client = await connect()
  const warnings: string[] = []
  const logger = { warn: (line: string) => void warnings.push(line) }
  const sendCommand = async (args: string[]) => {
    if (writeDelayMs > 0 && args[0]?.startsWith('EVAL')) {
      await new Promise((resolve) => setTimeout(resolve, writeDelayMs))
    }
    return client.sendCommand(args)
  }
  const slow = {
    sendCommand,
    get isReady() {
      return client.isReady
    },
    duplicate: () => client.duplicate(),
  }
  const streams: RedisStreamStore = createRedisStreamStore({
    client: writeDelayMs > 0 ? slow : client,
    prefix,
    leaseMs: 600,
    logger,
  })
  cleanup.push(() => {
    streams.close()
    if (client.isOpen) client.destroy()
  })
  const channel = new Channel()
  const provider = fakeProvider([{ channel }])
  const handler = createCopilotEdgeHandler({ provider, streams, heartbeatMs: 0, ...config })
  return { client, streams, channel, provider, handler, warnings }
}

async function pair(config: CopilotEdgeConfig = {}) {
  const prefix = `h${++prefixes}`
  return [await instance(prefix, config), await instance(prefix, config), prefix] as const
}

const STREAM = { ...hello, stream: true }

function resume(streamId: string, lastEventId?: number, method = 'GET'): Request {
  return new Request(`${URL_}?stream=${streamId}`, {
    method,
    headers: lastEventId === undefined ? {} : { 'Last-Event-ID': String(lastEventId) },
  })
}

/** Waits until the leader's first events are in Redis (it writes them in the background). */
async function shared(client: Client, prefix: string, streamId: string): Promise<void> {
  await vi.waitFor(async () => {
    expect(await client.xLen(`${prefix}:v1:stream:${streamId}`)).toBeGreaterThanOrEqual(3)
  })
}

/** The content deltas of a Chat Completions SSE body, joined. */
function contentOf(body: string): string {
  return [...body.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('')
}

beforeAll(async () => {
  server = await startRedisServer()
})
afterEach(() => {
  for (const close of cleanup.splice(0)) close()
})
afterAll(async () => {
  await server?.stop()
})

describe('streams shared through Redis (config streams)', () => {
  it('make identical streams on two instances one upstream call, each encoded by its own instance', async () => {
    const [a, b] = await pair()
    a.channel.push({ type: 'text', text: 'Hel' })
    const first = await a.handler(post(STREAM))
    const second = await b.handler(post(STREAM))
    a.channel.push({ type: 'text', text: 'lo' }, { type: 'finish', reason: 'stop' })
    const [one, two] = await Promise.all([first.text(), second.text()])
    expect(a.provider.calls).toHaveLength(1)
    expect(b.provider.calls).toHaveLength(0)
    expect(contentOf(two)).toBe('Hello')
    expect(two.endsWith('data: [DONE]\n\n')).toBe(true)
    // The follower writes its own ids; apart from them, the very same bytes.
    expect(normalise(two)).toBe(normalise(one))
  })

  it("keep the leader's upstream running for a follower elsewhere when the leader's client leaves", async () => {
    const [a, b] = await pair()
    a.channel.push({ type: 'text', text: 'one ' })
    const first = bodyReader(await a.handler(post(STREAM)))
    await first.read()
    const second = await b.handler(post(STREAM))
    await first.cancel()
    a.channel.push({ type: 'text', text: 'two' }, { type: 'finish', reason: 'stop' })
    expect(contentOf(await second.text())).toBe('one two')
    expect(a.provider.calls[0]?.aborted).toBe(false)
  })

  it('abort the upstream once nobody reads it on any instance', async () => {
    const [a, b] = await pair()
    a.channel.push({ type: 'text', text: 'one ' })
    const first = bodyReader(await a.handler(post(STREAM)))
    await first.read()
    const second = bodyReader(await b.handler(post(STREAM)))
    await second.read()
    await first.cancel()
    expect(a.provider.calls[0]?.aborted).toBe(false)
    await second.cancel()
    await vi.waitFor(() => expect(a.provider.calls[0]?.aborted).toBe(true), { timeout: 5_000 })
  })

  it('answer locally when Redis is down: each instance calls its own upstream', async () => {
    const [a, b] = await pair()
    a.client.destroy()
    b.client.destroy()
    a.channel.push({ type: 'text', text: 'a' }, { type: 'finish', reason: 'stop' })
    b.channel.push({ type: 'text', text: 'b' }, { type: 'finish', reason: 'stop' })
    const one = await (await a.handler(post(STREAM))).text()
    const two = await (await b.handler(post(STREAM))).text()
    expect([contentOf(one), contentOf(two)]).toEqual(['a', 'b'])
    const again = await (await a.handler(post(STREAM))).text()
    expect(again).toContain('data: [DONE]')
    expect(a.warnings.filter((w) => w.includes('Redis stream store failed'))).toHaveLength(1)
  })
})

describe('resumable streams shared through Redis (config resume + streams)', () => {
  it('resume on the other instance with exactly the bytes the original would send', async () => {
    const [a, b, prefix] = await pair({ resume: true, cache: false })
    a.channel.push({ type: 'text', text: 'one ' })
    const first = await a.handler(post(STREAM))
    const streamId = first.headers.get('X-CopilotEdge-Stream-Id') as string
    const reader = bodyReader(first)
    const head = (await reader.read()) ?? ''
    await reader.cancel()
    const lastId = Number(/id: (\d+)\n[^\n]*"content":"one "/.exec(head)?.[1])
    expect(lastId).toBeGreaterThan(0)
    const elsewhere = await b.handler(resume(streamId, lastId))
    expect(elsewhere.status).toBe(200)
    expect(elsewhere.headers.get('X-CopilotEdge-Stream-Id')).toBe(streamId)
    a.channel.push({ type: 'text', text: 'two' }, { type: 'finish', reason: 'stop' })
    const there = await elsewhere.text()
    const here = await (await a.handler(resume(streamId, lastId))).text()
    expect(there).toBe(here)
    expect(contentOf(there)).toBe('two')
    expect(there.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(a.provider.calls).toHaveLength(1)
    expect(b.provider.calls).toHaveLength(0)
    // The shared log holds the answer and the request's options, never the prompt.
    const kept = JSON.stringify(await a.client.xRange(`${prefix}:v1:stream:${streamId}`, '-', '+'))
    expect(kept).toContain('one ')
    expect(kept).not.toContain('Hello')
  })

  it('stop from the other instance: the upstream is aborted and every reader gets stream_stopped', async () => {
    const [a, b] = await pair({ resume: true, cache: false })
    a.channel.push({ type: 'text', text: 'one ' })
    const first = await a.handler(post(STREAM))
    const streamId = first.headers.get('X-CopilotEdge-Stream-Id') as string
    const reader = bodyReader(first)
    await reader.read()
    const elsewhere = await b.handler(resume(streamId, 1))
    const stop = await b.handler(resume(streamId, undefined, 'DELETE'))
    expect(stop.status).toBe(204)
    await vi.waitFor(() => expect(a.provider.calls[0]?.aborted).toBe(true))
    const [rest, there] = await Promise.all([reader.rest(), elsewhere.text()])
    for (const body of [rest, there]) {
      expect(body).toContain('"code":"stream_stopped"')
      expect(body).not.toContain('[DONE]')
    }
  })

  it('end a resumed reader with stream_truncated when the instance running the answer died', async () => {
    const [a, b, prefix] = await pair({ resume: true, cache: false })
    a.channel.push({ type: 'text', text: 'one ' })
    const first = await a.handler(post(STREAM))
    const streamId = first.headers.get('X-CopilotEdge-Stream-Id') as string
    await shared(a.client, prefix, streamId)
    const reader = bodyReader(first)
    await reader.read()
    // Instance a is gone: its Redis connection with it (nothing refreshes its lease).
    a.client.destroy()
    const there = await (await b.handler(resume(streamId, 1))).text()
    expect(there).toContain('"code":"stream_truncated"')
    expect(there).not.toContain('[DONE]')
  })

  it('resume on the other instance the moment the response arrives, even when Redis writes lag behind', async () => {
    const prefix = `h${++prefixes}`
    const a = await instance(prefix, { resume: true, cache: false }, 50)
    const b = await instance(prefix, { resume: true, cache: false })
    a.channel.push({ type: 'text', text: 'one ' })
    const first = await a.handler(post(STREAM))
    const streamId = first.headers.get('X-CopilotEdge-Stream-Id') as string
    await first.body?.cancel()
    const elsewhere = await b.handler(resume(streamId, 0))
    expect(elsewhere.status).toBe(200)
    a.channel.push({ type: 'text', text: 'two' }, { type: 'finish', reason: 'stop' })
    const there = await elsewhere.text()
    expect(contentOf(there)).toBe('one two')
    expect(there.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(a.provider.calls).toHaveLength(1)
  })

  it("answer useChat's reconnect GET on the other instance while the chat's answer runs, 204 once it ended", async () => {
    const [a, b] = await pair({ resume: true, cache: false })
    const chatId = `chat-${crypto.randomUUID()}`
    const reconnect = () => new Request(`http://localhost/api/chat/${chatId}/stream`)
    expect((await b.handler(reconnect())).status).toBe(204)
    a.channel.push({ type: 'text', text: 'Hello ' })
    const first = await a.handler(
      new Request('http://localhost/api/chat', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          id: chatId,
          trigger: 'submit-message',
          messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Hi' }] }],
        }),
      }),
    )
    const reader = bodyReader(first)
    await reader.read()
    await reader.cancel()
    const elsewhere = await b.handler(reconnect())
    expect(elsewhere.status).toBe(200)
    expect(elsewhere.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1')
    a.channel.push({ type: 'text', text: 'world' }, { type: 'finish', reason: 'stop' })
    const replayed = await elsewhere.text()
    const deltas = [...replayed.matchAll(/"type":"text-delta","id":"[^"]+","delta":"([^"]*)"/g)]
    expect(deltas.map((m) => m[1]).join('')).toBe('Hello world')
    expect(replayed.startsWith('data: {"type":"start"')).toBe(true)
    expect(replayed.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(a.provider.calls).toHaveLength(1)
    expect(b.provider.calls).toHaveLength(0)
    // Ended: the pointer is gone on every instance.
    await vi.waitFor(async () => expect((await b.handler(reconnect())).status).toBe(204))
    expect((await a.handler(reconnect())).status).toBe(204)
  })

  it('answer 404 on any instance for a stream no instance has', async () => {
    const [, b] = await pair({ resume: true, cache: false })
    const unknown = await b.handler(resume(crypto.randomUUID(), 1))
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ error: { code: 'stream_not_found' } })
    const stop = await b.handler(resume(crypto.randomUUID(), undefined, 'DELETE'))
    expect(stop.status).toBe(404)
  })
})
