import { describe, expect, it } from 'vitest'
import type { CachedAnswer, CacheStore } from '../../../src/server'
import { CopilotEdge, createCopilotEdgeHandler } from '../../../src/server'
import { cacheKey } from '../../../src/server/cache/cache-key'
import { Channel, fakeProvider, httpError, text, withUsage } from '../helpers/fake-provider'
import { hello, normalise, post } from '../helpers/post'

const M = '@cf/meta/llama-3.1-8b-instruct'
const streamHello = { ...hello, stream: true }

describe('the response cache', () => {
  it('serves a repeated non-stream question from the cache with X-Cache: HIT', async () => {
    const provider = fakeProvider([{ events: text('Hello', ' world') }])
    const handler = createCopilotEdgeHandler({ provider })
    const first = await handler(post(hello))
    expect(first.headers.get('x-cache')).toBe('MISS')
    const second = await handler(post(hello))
    expect(second.headers.get('x-cache')).toBe('HIT')
    expect(second.headers.get('x-copilotedge-model')).toBe(M)
    expect((await second.json()).choices[0].message.content).toBe('Hello world')
    expect(provider.calls).toHaveLength(1)
  })

  it('replays a cached answer as SSE', async () => {
    const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }
    const provider = fakeProvider([{ events: withUsage(text('Hello', ' world'), usage) }])
    const handler = createCopilotEdgeHandler({ provider })
    await (await handler(post(hello))).text()
    const replay = await handler(post({ ...streamHello, stream_options: { include_usage: true } }))
    expect(replay.headers.get('x-cache')).toBe('HIT')
    expect(replay.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const head = `{"id":"ID","object":"chat.completion.chunk","created":0,"model":"${M}"`
    expect(normalise(await replay.text())).toBe(
      `id: 1\ndata: ${head},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n` +
        `id: 2\ndata: ${head},"choices":[{"index":0,"delta":{"content":"Hello world"},"finish_reason":null}]}\n\n` +
        `id: 3\ndata: ${head},"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n` +
        `id: 4\ndata: ${head},"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\n\n` +
        'data: [DONE]\n\n',
    )
    expect(provider.calls).toHaveLength(1)
  })

  it('populates the cache from a completed stream', async () => {
    const provider = fakeProvider([{ events: text('Hel', 'lo') }])
    const handler = createCopilotEdgeHandler({ provider })
    await (await handler(post(streamHello))).text()
    const json = await handler(post(hello))
    expect(json.headers.get('x-cache')).toBe('HIT')
    expect((await json.json()).choices[0].message.content).toBe('Hello')
    expect(provider.calls).toHaveLength(1)
  })

  it('keys on model, messages and parameters, not on stream, ids or unknown fields', async () => {
    const provider = fakeProvider([{ events: text('x') }])
    const handler = createCopilotEdgeHandler({ provider, models: [M, 'other'] })
    await handler(post({ ...hello, user: 'a', stream: false }))
    await (
      await handler(
        post({
          messages: [{ content: 'Hello', role: 'user', id: 'm1', createdAt: 1 }],
          stream: true,
          user: 'b',
        }),
      )
    ).text()
    expect(provider.calls).toHaveLength(1)
    await handler(post({ ...hello, temperature: 0.2 }))
    await handler(post({ ...hello, model: 'other' }))
    await handler(post({ messages: [{ role: 'system', content: 'Hello' }] }))
    expect(provider.calls).toHaveLength(4)
  })

  it('forces a fresh answer for Cache-Control: no-cache or body cache: false, and refreshes the cache', async () => {
    let n = 0
    const provider = fakeProvider(() => ({ events: text(`answer ${++n}`) }))
    const handler = createCopilotEdgeHandler({ provider })
    await handler(post(hello))
    const fresh = await handler(post(hello, { 'Cache-Control': 'no-cache' }))
    expect(fresh.headers.get('x-cache')).toBe('MISS')
    expect((await fresh.json()).choices[0].message.content).toBe('answer 2')
    const fresher = await handler(post({ ...hello, cache: false }))
    expect((await fresher.json()).choices[0].message.content).toBe('answer 3')
    const cached = await handler(post(hello))
    expect(cached.headers.get('x-cache')).toBe('HIT')
    expect((await cached.json()).choices[0].message.content).toBe('answer 3')
  })

  it('is off with cache: false or a zero ttl', async () => {
    for (const cache of [false, { ttl: 0 }] as const) {
      const provider = fakeProvider([{ events: text('x') }])
      const handler = createCopilotEdgeHandler({ provider, cache })
      await handler(post(hello))
      expect((await handler(post(hello))).headers.get('x-cache')).toBe('MISS')
      expect(provider.calls).toHaveLength(2)
    }
  })

  it('never caches an error', async () => {
    const provider = fakeProvider([{ error: httpError(400) }, { events: text('ok') }])
    const handler = createCopilotEdgeHandler({ provider })
    expect((await handler(post(hello))).status).toBe(400)
    expect((await handler(post(hello))).status).toBe(200)
    expect(provider.calls).toHaveLength(2)
  })

  it('never caches a truncated or failed stream', async () => {
    const provider = fakeProvider([
      { events: [{ type: 'text', text: 'Hel' }] },
      { events: [{ type: 'text', text: 'Hel' }], failWith: httpError(500) },
      { events: text('Hello') },
    ])
    const handler = createCopilotEdgeHandler({ provider })
    expect(await (await handler(post(streamHello))).text()).not.toContain('[DONE]')
    expect(await (await handler(post(streamHello))).text()).not.toContain('[DONE]')
    const third = await handler(post(streamHello))
    expect(third.headers.get('x-cache')).toBe('MISS')
    expect(await third.text()).toContain('"content":"Hello"')
    expect(provider.calls).toHaveLength(3)
  })

  it('never caches a stream the client aborted', async () => {
    const channel = new Channel()
    const provider = fakeProvider([{ channel }, { events: text('fresh') }])
    const handler = createCopilotEdgeHandler({ provider })
    channel.push({ type: 'text', text: 'part' })
    const response = await handler(post(streamHello))
    const reader = response.body!.getReader()
    await reader.read()
    await reader.cancel()
    const again = await handler(post(hello))
    expect(again.headers.get('x-cache')).toBe('MISS')
    expect((await again.json()).choices[0].message.content).toBe('fresh')
  })

  it('caches only finish_reason stop or length, not tool_calls', async () => {
    const provider = fakeProvider([
      {
        events: [
          {
            type: 'tool-call',
            delta: {
              index: 0,
              id: 'c',
              type: 'function',
              function: { name: 'f', arguments: '{}' },
            },
          },
          { type: 'finish', reason: 'tool_calls' },
        ],
      },
      {
        events: [
          { type: 'text', text: 'long' },
          { type: 'finish', reason: 'length' },
        ],
      },
    ])
    const handler = createCopilotEdgeHandler({ provider })
    const tool = await (await handler(post(hello))).json()
    expect(tool.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        content: null,
        tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
    })
    await handler(post(hello))
    const cached = await handler(post(hello))
    expect(cached.headers.get('x-cache')).toBe('HIT')
    expect((await cached.json()).choices[0].finish_reason).toBe('length')
    expect(provider.calls).toHaveLength(2)
  })

  it('makes one upstream call for N concurrent identical non-stream requests', async () => {
    const channel = new Channel()
    const provider = fakeProvider([{ channel }])
    const handler = createCopilotEdgeHandler({ provider })
    const pending = Array.from({ length: 10 }, () => handler(post(hello)))
    await new Promise((r) => setTimeout(r, 10))
    channel.push(...text('shared'))
    channel.end()
    const bodies = await Promise.all(pending.map(async (p) => (await p).json()))
    expect(bodies.map((b) => b.choices[0].message.content)).toEqual(Array(10).fill('shared'))
    expect(provider.calls).toHaveLength(1)
  })

  it('keeps the shared upstream call alive while one caller remains, and aborts it when all left', async () => {
    const channel = new Channel()
    const provider = fakeProvider([{ channel }])
    const edge = new CopilotEdge({ provider })
    const a = new AbortController()
    const b = new AbortController()
    const first = edge.handleRequest(hello, { signal: a.signal })
    const second = edge.handleRequest(hello, { signal: b.signal })
    await new Promise((r) => setTimeout(r, 5))
    a.abort()
    await expect(first).rejects.toThrow()
    expect(provider.calls[0]!.aborted).toBe(false)
    b.abort()
    await expect(second).rejects.toThrow()
    expect(provider.calls[0]!.aborted).toBe(true)
  })

  it('shares a failure between the de-duplicated callers and caches nothing', async () => {
    const provider = fakeProvider([{ error: httpError(400) }, { events: text('ok') }])
    const handler = createCopilotEdgeHandler({ provider })
    const statuses = await Promise.all(
      [handler(post(hello)), handler(post(hello))].map(async (p) => (await p).status),
    )
    expect(statuses).toEqual([400, 400])
    expect(provider.calls).toHaveLength(1)
    expect((await handler(post(hello))).status).toBe(200)
  })

  it('bounds the memory cache by entries (LRU)', async () => {
    let n = 0
    const provider = fakeProvider(() => ({ events: text(`a${++n}`) }))
    const handler = createCopilotEdgeHandler({ provider, cache: { maxEntries: 2 } })
    const ask = (q: string) => handler(post({ messages: [{ role: 'user', content: q }] }))
    await ask('1')
    await ask('2')
    await ask('1') // touch 1: 2 is now least recently used
    await ask('3') // evicts 2
    expect((await ask('1')).headers.get('x-cache')).toBe('HIT')
    expect((await ask('2')).headers.get('x-cache')).toBe('MISS')
  })

  it('bounds the memory cache by bytes', async () => {
    const provider = fakeProvider(() => ({ events: text('x'.repeat(1000)) }))
    const handler = createCopilotEdgeHandler({ provider, cache: { maxBytes: 2500 } })
    const ask = (q: string) => handler(post({ messages: [{ role: 'user', content: q }] }))
    await ask('1')
    await ask('2') // ~2 KB each: the first is evicted
    expect((await ask('2')).headers.get('x-cache')).toBe('HIT')
    expect((await ask('1')).headers.get('x-cache')).toBe('MISS')
  })

  it('expires entries after the ttl', async () => {
    const provider = fakeProvider([{ events: text('x') }])
    const handler = createCopilotEdgeHandler({ provider, cache: { ttl: 30 } })
    await handler(post(hello))
    expect((await handler(post(hello))).headers.get('x-cache')).toBe('HIT')
    await new Promise((r) => setTimeout(r, 60))
    expect((await handler(post(hello))).headers.get('x-cache')).toBe('MISS')
  })

  it('uses a pluggable async store (Redis, KV) and treats its failures as misses', async () => {
    const map = new Map<string, CachedAnswer>()
    const writes: Array<[string, number]> = []
    const store: CacheStore = {
      get: async (key) => map.get(key),
      set: async (key, value, ttl) => {
        writes.push([key, ttl])
        map.set(key, structuredClone(value))
      },
      clear: async () => map.clear(),
    }
    const provider = fakeProvider([{ events: text('stored') }])
    const edge = new CopilotEdge({ provider, cache: { store, ttl: 5000 } })
    const handler = edge.createNextHandler()
    await handler(post(hello))
    expect(writes).toEqual([[cacheKey(M, [{ role: 'user', content: 'Hello' }], {}), 5000]])
    expect((await handler(post(hello))).headers.get('x-cache')).toBe('HIT')
    await edge.clearCache()
    expect(map.size).toBe(0)

    const broken: CacheStore = {
      get: async () => {
        throw new Error('redis down')
      },
      set: () => {
        throw new Error('redis down')
      },
      clear: () => {},
    }
    const warnings: unknown[] = []
    const logger = { debug() {}, warn: (...a: unknown[]) => warnings.push(a), error() {} }
    const resilient = createCopilotEdgeHandler({ provider, cache: { store: broken }, logger })
    expect((await resilient(post(hello))).status).toBe(200)
    expect(warnings.length).toBeGreaterThan(0)
  })

  it("ends an answer only once an async store's write is done, so the next request anywhere is a HIT", async () => {
    const map = new Map<string, CachedAnswer>()
    let finishWrite = () => {}
    const store: CacheStore = {
      get: async (key) => map.get(key),
      set: (key, value) =>
        new Promise<void>((resolve) => {
          finishWrite = () => {
            map.set(key, value)
            resolve()
          }
        }),
      clear: async () => map.clear(),
    }
    const provider = fakeProvider([{ events: text('one') }, { events: text('two') }])
    const handler = createCopilotEdgeHandler({ provider, cache: { store } })
    // A stream: everything but the finish arrives; [DONE] waits for the write.
    const streamed = (await handler(post(streamHello))).body!.getReader()
    const decoder = new TextDecoder()
    let seen = ''
    while (!seen.includes('"content":"one"')) seen += decoder.decode((await streamed.read()).value)
    const rest = (async () => {
      for (;;) {
        const { done, value } = await streamed.read()
        if (done) return seen
        seen += decoder.decode(value)
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(seen).not.toContain('[DONE]')
    finishWrite()
    expect(await rest).toContain('data: [DONE]')
    expect(map.size).toBe(1)
    // A JSON answer (another question): the response waits for its write too.
    let answered = false
    const json = handler(post({ messages: [{ role: 'user', content: 'Other' }] })).then((r) => {
      answered = true
      return r
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(answered).toBe(false)
    finishWrite()
    expect((await json).status).toBe(200)
    expect(map.size).toBe(2)
  })

  it('clearCache() empties the in-memory cache', async () => {
    const provider = fakeProvider([{ events: text('x') }])
    const edge = new CopilotEdge({ provider })
    await edge.handleRequest(hello)
    await edge.clearCache()
    await edge.handleRequest(hello)
    expect(provider.calls).toHaveLength(2)
  })
})
