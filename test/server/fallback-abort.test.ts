import { describe, expect, it } from 'vitest'
import { CopilotEdge, createCopilotEdgeHandler, UpstreamError } from '../../src/server'
import { Channel, fakeProvider, httpError, text } from './helpers/fake-provider'
import { hello, post } from './helpers/post'

const streamHello = { ...hello, stream: true }

describe('the fallback model', () => {
  it('answers with the fallback when the primary stays unavailable after its retries', async () => {
    const provider = fakeProvider((request) =>
      request.model === 'primary' ? { error: httpError(503) } : { events: text('from fallback') },
    )
    const edge = new CopilotEdge({
      provider,
      model: 'primary',
      fallback: 'backup',
      retry: { maxAttempts: 2, baseDelayMs: 1 },
    })
    const response = await edge.createNextHandler()(post(hello))
    expect(response.status).toBe(200)
    expect(response.headers.get('x-copilotedge-model')).toBe('backup')
    const body = await response.json()
    expect(body.model).toBe('backup')
    expect(body.choices[0].message.content).toBe('from fallback')
    expect(provider.calls.map((c) => c.request.model)).toEqual(['primary', 'primary', 'backup'])
    expect(edge.getMetrics()).toMatchObject({ fallbacks: 1, retries: 1 })
  })

  it('uses the fallback for that request only, never as a permanent switch', async () => {
    let primaryDown = true
    const provider = fakeProvider((request) =>
      request.model === 'primary' && primaryDown
        ? { error: httpError(404) }
        : { events: text(request.model) },
    )
    const handler = createCopilotEdgeHandler({
      provider,
      model: 'primary',
      fallback: 'backup',
      cache: false,
    })
    expect((await (await handler(post(hello))).json()).model).toBe('backup')
    primaryDown = false
    expect((await (await handler(post(hello))).json()).model).toBe('primary')
  })

  it('falls back on model-not-found (404, 5007) and on streams, reporting the model in the chunks', async () => {
    const provider = fakeProvider((request) =>
      request.model === 'primary'
        ? { error: httpError(400, { code: '5007' }) }
        : { events: text('hi') },
    )
    const handler = createCopilotEdgeHandler({ provider, model: 'primary', fallback: 'backup' })
    const response = await handler(post(streamHello))
    expect(response.headers.get('x-copilotedge-model')).toBe('backup')
    expect(await response.text()).toContain('"model":"backup"')
  })

  it("does not fall back for the caller's own errors (400) or credentials (401)", async () => {
    for (const status of [400, 401]) {
      const provider = fakeProvider([{ error: httpError(status) }])
      const handler = createCopilotEdgeHandler({ provider, model: 'primary', fallback: 'backup' })
      await handler(post(hello))
      expect(provider.calls.map((c) => c.request.model)).toEqual(['primary'])
    }
  })

  it("reports the fallback's failure when both fail", async () => {
    const provider = fakeProvider((request) => ({
      error:
        request.model === 'primary' ? httpError(503) : httpError(429, { retryAfterMs: 60_000 }),
    }))
    const handler = createCopilotEdgeHandler({
      provider,
      model: 'primary',
      fallback: 'backup',
      retry: false,
    })
    const response = await handler(post(hello))
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('60')
  })
})

describe('client disconnects', () => {
  it('aborts the upstream at once when the request signal aborts mid-stream', async () => {
    const channel = new Channel()
    const provider = fakeProvider([{ channel }])
    const handler = createCopilotEdgeHandler({ provider })
    const controller = new AbortController()
    channel.push({ type: 'text', text: 'a' })
    const response = await handler(post(streamHello, {}, controller.signal))
    const reader = response.body!.getReader()
    await reader.read()
    expect(provider.calls[0]!.aborted).toBe(false)
    controller.abort()
    expect(provider.calls[0]!.aborted).toBe(true)
  })

  it('aborts the upstream when the response body is cancelled', async () => {
    const channel = new Channel()
    const provider = fakeProvider([{ channel }])
    const edge = new CopilotEdge({ provider })
    channel.push({ type: 'text', text: 'a' })
    const response = await edge.createNextHandler()(post(streamHello))
    const reader = response.body!.getReader()
    await reader.read()
    expect(edge.getMetrics().activeStreams).toBe(1)
    await reader.cancel()
    expect(provider.calls[0]!.aborted).toBe(true)
    expect(edge.getMetrics().activeStreams).toBe(0)
  })

  it('aborts the upstream when the client leaves before the first byte', async () => {
    const provider = fakeProvider([{ hang: true }])
    const handler = createCopilotEdgeHandler({ provider })
    const controller = new AbortController()
    const pending = handler(post(hello, {}, controller.signal))
    await new Promise((r) => setTimeout(r, 5))
    controller.abort()
    await pending
    expect(provider.calls[0]!.aborted).toBe(true)
  })

  it('aborts the upstream for handleRequest when its signal aborts mid-iteration', async () => {
    const channel = new Channel()
    const provider = fakeProvider([{ channel }])
    const edge = new CopilotEdge({ provider })
    const controller = new AbortController()
    channel.push({ type: 'text', text: 'a' })
    const response = await edge.handleRequest(
      { ...hello, stream: true },
      { signal: controller.signal },
    )
    const iterator = response.stream[Symbol.asyncIterator]()
    expect((await iterator.next()).value).toBe('a')
    const next = iterator.next()
    controller.abort()
    await expect(next).rejects.toThrow()
    expect(provider.calls[0]!.aborted).toBe(true)
  })
})

describe('backpressure', () => {
  it('does not read the upstream ahead of a slow client by more than a small bound', async () => {
    const total = 10_000
    const events = Array.from({ length: total }, (_, i) => ({
      type: 'text' as const,
      text: `t${i} `,
    }))
    const provider = fakeProvider([{ events: [...events, { type: 'finish', reason: 'stop' }] }])
    const handler = createCopilotEdgeHandler({ provider })
    const response = await handler(post(streamHello))
    const reader = response.body!.getReader()
    const first = await reader.read()
    await new Promise((r) => setTimeout(r, 50))
    // A provider without batches hands over one event per read, and a read's events make one
    // chunk (of at most 16 KiB); the engine holds one chunk in the queue and reads one more, then
    // waits.
    const perChunk = Math.ceil(first.value!.byteLength / 180) + 1
    expect(provider.calls[0]!.pulled).toBeLessThanOrEqual(3 * perChunk)
    const before = provider.calls[0]!.pulled
    for (let i = 0; i < 5; i++) await reader.read()
    await new Promise((r) => setTimeout(r, 50))
    expect(provider.calls[0]!.pulled - before).toBeLessThanOrEqual(6 * perChunk)
    expect(provider.calls[0]!.pulled).toBeLessThan(total / 10)
    await reader.cancel()
    expect(provider.calls[0]!.aborted).toBe(true)
  })

  it('holds the upstream read while an async onChunk is pending', async () => {
    let release: () => void = () => {}
    const provider = fakeProvider([{ events: text('a', 'b', 'c') }])
    const seen: string[] = []
    const handler = createCopilotEdgeHandler({
      provider,
      onChunk: (chunk) => {
        seen.push(chunk)
        return new Promise<void>((r) => (release = r))
      },
    })
    const response = await handler(post(streamHello))
    const body = response.text()
    await new Promise((r) => setTimeout(r, 20))
    expect(seen).toEqual(['a'])
    expect(provider.calls[0]!.pulled).toBe(1)
    release()
    await new Promise((r) => setTimeout(r, 20))
    expect(seen).toEqual(['a', 'b'])
    release()
    await new Promise((r) => setTimeout(r, 5))
    release()
    expect(await body).toContain('[DONE]')
    expect(seen).toEqual(['a', 'b', 'c'])
  })
})

describe('onChunk', () => {
  it('fires for every content delta on the HTTP path, streaming or not, and a throw is ignored', async () => {
    const seen: string[] = []
    const provider = fakeProvider([{ events: text('a', 'b') }])
    const handler = createCopilotEdgeHandler({
      provider,
      cache: false,
      logger: { debug() {}, warn() {}, error() {} },
      onChunk: (chunk) => {
        seen.push(chunk)
        throw new Error('observer bug')
      },
    })
    expect(await (await handler(post(streamHello))).text()).toContain('[DONE]')
    expect((await (await handler(post(hello))).json()).choices[0].message.content).toBe('ab')
    expect(seen).toEqual(['a', 'b', 'a', 'b'])
  })
})

describe('metrics and logging', () => {
  it('counts requests, cache hits, errors, retries and latency', async () => {
    const provider = fakeProvider([{ error: httpError(503) }, { events: text('ok') }])
    const edge = new CopilotEdge({ provider, retry: { baseDelayMs: 1 } })
    const handler = edge.createNextHandler()
    await handler(post(hello))
    await handler(post(hello))
    await handler(post('{bad'))
    await edge.handleRequest(hello)
    const metrics = edge.getMetrics()
    expect(metrics).toMatchObject({
      requests: 4,
      cacheHits: 2,
      cacheMisses: 1,
      errors: 1,
      retries: 1,
      activeStreams: 0,
    })
    expect(metrics.cacheHitRate).toBeCloseTo(2 / 3)
    expect(metrics.latency.count).toBe(3)
    expect(metrics.latency.p50Ms).toBeGreaterThanOrEqual(0)
  })

  it('never logs the API key, even inside upstream messages', async () => {
    const lines: string[] = []
    const sink = (...args: unknown[]) => lines.push(args.map(String).join(' '))
    const provider = fakeProvider([
      {
        error: new UpstreamError('bad token sk-SECRET-123 rejected', { kind: 'http', status: 401 }),
      },
    ])
    const handler = createCopilotEdgeHandler({
      provider,
      apiKey: 'sk-SECRET-123',
      accountId: 'acc',
      debug: true,
      logger: { debug: sink, warn: sink, error: sink },
    })
    const response = await handler(post(hello))
    await response.text()
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.join('\n')).not.toContain('sk-SECRET-123')
    expect(lines.join('\n')).toContain('[redacted]')
  })

  it('logs debug lines only when debug is on', async () => {
    const lines: unknown[] = []
    const sink = (...args: unknown[]) => lines.push(args)
    const provider = fakeProvider([{ error: httpError(400) }])
    const handler = createCopilotEdgeHandler({
      provider,
      logger: { debug: sink, warn: sink, error: sink },
    })
    await handler(post(hello))
    expect(lines).toEqual([])
  })
})
