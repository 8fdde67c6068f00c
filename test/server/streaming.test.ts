import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { CopilotEdgeConfig, Provider, UpstreamEvent } from '../../src/server'
import { createCopilotEdgeHandler, UpstreamError } from '../../src/server'
import { bodyReader, fakeClock } from './helpers/fake-clock'
import { Channel, fakeProvider, httpError, text, withUsage } from './helpers/fake-provider'
import { hello, normalise, post } from './helpers/post'

const M = '@cf/meta/llama-3.1-8b-instruct'
const head = (model = M) =>
  `{"id":"ID","object":"chat.completion.chunk","created":0,"model":"${model}","choices":[{"index":0,"delta":`
const role = (id: number, model = M) =>
  `id: ${id}\ndata: ${head(model)}{"role":"assistant","content":""},"finish_reason":null}]}\n\n`
const content = (id: number, t: string, model = M) =>
  `id: ${id}\ndata: ${head(model)}{"content":${JSON.stringify(t)}},"finish_reason":null}]}\n\n`
const finish = (id: number, reason = 'stop') =>
  `id: ${id}\ndata: ${head()}{},"finish_reason":"${reason}"}]}\n\n`
const DONE = 'data: [DONE]\n\n'
const streamHello = { ...hello, stream: true }

describe('the SSE stream', () => {
  it('sends a choices: [] usage chunk before [DONE] when include_usage is asked', async () => {
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }
    const provider = fakeProvider([{ events: withUsage(text('Hi'), usage) }])
    const handler = createCopilotEdgeHandler({ provider })
    const response = await handler(
      post({ ...streamHello, stream_options: { include_usage: true } }),
    )
    expect(normalise(await response.text())).toBe(
      role(1) +
        content(2, 'Hi') +
        finish(3) +
        `id: 4\ndata: {"id":"ID","object":"chat.completion.chunk","created":0,"model":"${M}","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n` +
        DONE,
    )
    // Without include_usage the usage chunk is not sent.
    const plain = await createCopilotEdgeHandler({ provider, cache: false })(post(streamHello))
    expect(normalise(await plain.text())).toBe(role(1) + content(2, 'Hi') + finish(3) + DONE)
  })

  it('forwards tool-call deltas and reasoning_content in the chunk format', async () => {
    const provider = fakeProvider([
      {
        events: [
          { type: 'reasoning', text: 'thinking' },
          {
            type: 'tool-call',
            delta: {
              index: 0,
              id: 'call_1',
              type: 'function',
              function: { name: 'w', arguments: '' },
            },
          },
          { type: 'tool-call', delta: { index: 0, function: { arguments: '{"c":"L"}' } } },
          { type: 'finish', reason: 'tool_calls' },
        ],
      },
    ])
    const response = await createCopilotEdgeHandler({ provider })(post(streamHello))
    expect(normalise(await response.text())).toBe(
      role(1) +
        `id: 2\ndata: ${head()}{"reasoning_content":"thinking"},"finish_reason":null}]}\n\n` +
        `id: 3\ndata: ${head()}{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"w","arguments":""}}]},"finish_reason":null}]}\n\n` +
        `id: 4\ndata: ${head()}{"tool_calls":[{"index":0,"function":{"arguments":"{\\"c\\":\\"L\\"}"}}]},"finish_reason":null}]}\n\n` +
        finish(5, 'tool_calls') +
        DONE,
    )
  })

  it('keeps one id and created for the whole stream and escapes content exactly', async () => {
    const tricky = 'line\n"quoted"\t\\ é 🌍 \u2028'
    const provider = fakeProvider([{ events: text(tricky, 'b') }])
    const response = await createCopilotEdgeHandler({ provider })(post(streamHello))
    const raw = await response.text()
    const events = raw.split('\n\n').filter((e) => e.startsWith('id:'))
    const chunks = events.map((e) => JSON.parse(e.split('\ndata: ')[1]!))
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1)
    expect(new Set(chunks.map((c) => c.created)).size).toBe(1)
    expect(chunks[1].choices[0].delta.content).toBe(tricky)
    expect(events.map((e) => e.split('\n')[0])).toEqual(['id: 1', 'id: 2', 'id: 3', 'id: 4'])
  })

  it('sends an in-stream error event and no [DONE] when the upstream fails mid-stream', async () => {
    const provider = fakeProvider([
      {
        events: [{ type: 'text', text: 'Hel' }],
        failWith: new UpstreamError('connection reset', { kind: 'network' }),
      },
    ])
    const edge = createCopilotEdgeHandler({ provider })
    const response = await edge(post(streamHello))
    expect(response.status).toBe(200)
    expect(normalise(await response.text())).toBe(
      role(1) +
        content(2, 'Hel') +
        'data: {"error":{"message":"Could not reach the upstream: connection reset","type":"upstream_error","code":null}}\n\n',
    )
  })

  it('treats a stream that ends without a finish_reason as truncated', async () => {
    const provider = fakeProvider([{ events: [{ type: 'text', text: 'Hel' }] }])
    const response = await createCopilotEdgeHandler({ provider })(post(streamHello))
    const raw = normalise(await response.text())
    expect(raw.startsWith(`${role(1)}${content(2, 'Hel')}data: {"error":`)).toBe(true)
    expect(raw).toContain('"type":"upstream_error"')
    expect(raw).not.toContain('[DONE]')
  })

  it('answers a failure before the first byte with its status and JSON, not a 200 stream', async () => {
    const provider = fakeProvider([{ error: httpError(401) }])
    const response = await createCopilotEdgeHandler({ provider })(post(streamHello))
    expect(response.status).toBe(502)
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
  })
})

describe('timers: heartbeats, timeouts and retries (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  function setup(replies: Parameters<typeof fakeProvider>[0], config: CopilotEdgeConfig = {}) {
    const provider = fakeProvider(replies)
    const handler = createCopilotEdgeHandler({ provider, clock: fakeClock(), ...config })
    return { provider, handler }
  }

  it('starts the 200 stream with pings when the first byte takes longer than heartbeatMs', async () => {
    const channel = new Channel()
    const { handler } = setup([{ channel }], { heartbeatMs: 1000, timeoutMs: 0 })
    const pending = handler(post(streamHello))
    await vi.advanceTimersByTimeAsync(999)
    let settled = false
    pending.then(() => (settled = true))
    await vi.advanceTimersByTimeAsync(0)
    expect(settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    const response = await pending
    expect(response.status).toBe(200)
    expect(response.headers.get('x-copilotedge-model')).toBeNull()
    const body = bodyReader(response)
    expect(await body.read()).toBe(': ping\n\n')
    const next = body.read()
    await vi.advanceTimersByTimeAsync(1000)
    expect(await next).toBe(': ping\n\n')
    channel.push(...text('Hi'))
    channel.end()
    expect(normalise(await body.rest())).toBe(role(1) + content(2, 'Hi') + finish(3) + DONE)
  })

  it('sends : ping every heartbeatMs while the upstream is silent mid-stream, and only then', async () => {
    const channel = new Channel()
    const { handler } = setup([{ channel }], { heartbeatMs: 1000, idleTimeoutMs: 0 })
    channel.push({ type: 'text', text: 'a' })
    const response = await handler(post(streamHello))
    const body = bodyReader(response)
    expect(normalise((await body.read())!)).toBe(role(1) + content(2, 'a'))
    const next = body.read()
    await vi.advanceTimersByTimeAsync(600)
    channel.push({ type: 'text', text: 'b' })
    expect(normalise((await next)!)).toBe(content(3, 'b'))
    // 600 ms after 'b' no ping yet (1000 ms since the last bytes at 600 ms... not reached).
    const quiet = body.read()
    await vi.advanceTimersByTimeAsync(999)
    let got: string | null | undefined
    quiet.then((t) => (got = t))
    await vi.advanceTimersByTimeAsync(0)
    expect(got).toBeUndefined()
    await vi.advanceTimersByTimeAsync(1)
    expect(await quiet).toBe(': ping\n\n')
    const again = body.read()
    await vi.advanceTimersByTimeAsync(1000)
    expect(await again).toBe(': ping\n\n')
    channel.push({ type: 'finish', reason: 'stop' })
    channel.end()
    expect(normalise(await body.rest())).toBe(finish(4) + DONE)
  })

  it('aborts the upstream when the client cancels while only pings were sent', async () => {
    const { handler, provider } = setup([{ hang: true }], { heartbeatMs: 1000, timeoutMs: 0 })
    const pending = handler(post(streamHello))
    await vi.advanceTimersByTimeAsync(1000)
    const body = bodyReader(await pending)
    expect(await body.read()).toBe(': ping\n\n')
    await body.cancel()
    expect(provider.calls[0]!.aborted).toBe(true)
  })

  it.each([
    ['cancels the body before reading a byte', false, (r: Response) => r.body!.cancel()],
    ['disconnects before its body is read', false, (_: Response, c: AbortController) => c.abort()],
    [
      'disconnects before its gzip body is read',
      true,
      (_: Response, c: AbortController) => c.abort(),
    ],
  ])(
    'ends the answer when the client %s: upstream aborted, iterator released, no timer left',
    async (_, gzip, leave) => {
      const channel = new Channel()
      const { handler, provider } = setup([{ channel }], {
        cache: false,
        compression: gzip ? 'auto' : false,
      })
      channel.push({ type: 'text', text: 'a' })
      const client = new AbortController()
      const headers: Record<string, string> = gzip ? { 'Accept-Encoding': 'gzip' } : {}
      const response = await handler(post(streamHello, headers, client.signal))
      expect([response.status, response.headers.get('content-encoding')]).toEqual([
        200,
        gzip ? 'gzip' : null,
      ])
      await leave(response, client)
      await vi.advanceTimersByTimeAsync(0)
      expect(provider.calls[0]!.aborted).toBe(true)
      expect(provider.calls[0]!.finished).toBe(true)
      expect(vi.getTimerCount()).toBe(0)
    },
  )

  it('releases the upstream of an answer whose reader stopped for good by the next idle check, once the client is gone', async () => {
    const channel = new Channel()
    const { handler, provider } = setup([{ channel }], {
      cache: false,
      idleTimeoutMs: 3000,
      heartbeatMs: 0,
    })
    channel.push({ type: 'text', text: 'a' })
    const client = new AbortController()
    const response = await handler(post(streamHello, {}, client.signal))
    // An adapter that took the body's reader, then neither reads nor cancels it.
    response.body!.getReader()
    client.abort()
    await vi.advanceTimersByTimeAsync(0)
    expect(provider.calls[0]!.aborted).toBe(true)
    await vi.advanceTimersByTimeAsync(3000)
    expect(provider.calls[0]!.finished).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('answers a failure before the first byte with its status, and leaves no heartbeat running', async () => {
    const channel = new Channel()
    const { handler } = setup([{ channel }], { heartbeatMs: 1000, timeoutMs: 0, retry: false })
    const pending = handler(post(streamHello))
    await vi.advanceTimersByTimeAsync(500)
    channel.fail(httpError(503))
    const response = await pending
    expect(response.status).toBe(502)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('turns a failure after the heartbeat started into an in-stream error event', async () => {
    const channel = new Channel()
    const { handler } = setup([{ channel }], { heartbeatMs: 1000, timeoutMs: 0, retry: false })
    const pending = handler(post(streamHello))
    await vi.advanceTimersByTimeAsync(1000)
    const response = await pending
    const body = bodyReader(response)
    expect(await body.read()).toBe(': ping\n\n')
    channel.fail(httpError(503))
    expect(await body.rest()).toBe(
      'data: {"error":{"message":"The upstream failed (HTTP 503): upstream said 503","type":"upstream_error","code":null}}\n\n',
    )
  })

  it('answers 504 timeout_error when no first byte arrives within timeoutMs, and aborts the upstream', async () => {
    const { handler, provider } = setup([{ hang: true }], { timeoutMs: 5000, heartbeatMs: 0 })
    const pending = handler(post(hello))
    await vi.advanceTimersByTimeAsync(5000)
    const response = await pending
    expect(response.status).toBe(504)
    expect((await response.json()).error).toMatchObject({ type: 'timeout_error', code: 'timeout' })
    expect(provider.calls).toHaveLength(1)
    expect(provider.calls[0]!.aborted).toBe(true)
  })

  it('releases a stream that comes after timeoutMs unread: its events are never asked for', async () => {
    let asked = 0
    let released = 0
    const late: AsyncIterable<UpstreamEvent> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          asked++
          return { done: true, value: undefined }
        },
        return: async () => {
          released++
          return { done: true, value: undefined }
        },
      }),
    }
    let open!: (events: AsyncIterable<UpstreamEvent>) => void
    const provider: Provider = {
      name: 'late',
      stream: () => new Promise((resolve) => (open = resolve)),
    }
    const handler = createCopilotEdgeHandler({
      provider,
      clock: fakeClock(),
      timeoutMs: 5000,
      heartbeatMs: 0,
      retry: false,
    })
    const pending = handler(post(hello))
    await vi.advanceTimersByTimeAsync(5000)
    expect((await pending).status).toBe(504)
    open(late)
    await vi.advanceTimersByTimeAsync(0)
    expect({ asked, released }).toEqual({ asked: 0, released: 1 })
  })

  // The idle check counts from the wait alone, whether the first-byte timeout is longer, the
  // same or shorter.
  it.each([
    ['longer', 30_000],
    ['the same', 3000],
    ['shorter', 1000],
  ])(
    'sends a timeout_error event when the upstream goes quiet for idleTimeoutMs mid-stream (timeoutMs %s)',
    async (_, timeoutMs) => {
      const channel = new Channel()
      const { handler, provider } = setup([{ channel }], {
        idleTimeoutMs: 3000,
        timeoutMs,
        heartbeatMs: 0,
      })
      channel.push({ type: 'text', text: 'a' })
      const response = await handler(post(streamHello))
      const body = bodyReader(response)
      await body.read()
      const rest = body.rest()
      await vi.advanceTimersByTimeAsync(2000)
      channel.push({ type: 'text', text: 'b' })
      await vi.advanceTimersByTimeAsync(2999)
      expect(provider.calls[0]!.aborted).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(normalise(await rest)).toBe(
        content(3, 'b') +
          'data: {"error":{"message":"The upstream sent nothing for 3000 ms (idleTimeoutMs).","type":"timeout_error","code":"idle_timeout"}}\n\n',
      )
      expect(provider.calls[0]!.aborted).toBe(true)
    },
  )

  it('does not count a slow client against idleTimeoutMs (backpressure is not upstream silence)', async () => {
    const events = Array.from({ length: 3000 }, (_, i) => ({
      type: 'text' as const,
      text: `t${i} `,
    }))
    const { handler, provider } = setup(
      [{ events: [...events, { type: 'finish', reason: 'stop' }] }],
      {
        idleTimeoutMs: 3000,
        heartbeatMs: 0,
      },
    )
    const response = await handler(post(streamHello))
    const body = bodyReader(response)
    await body.read()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(provider.calls[0]!.aborted).toBe(false)
    const rest = await body.rest()
    expect(rest).toMatch(/t2999 .*\n\ndata: \[DONE\]\n\n$/s)
  })

  it('places no cap on the total length of a stream that keeps sending', async () => {
    const channel = new Channel()
    const { handler } = setup([{ channel }], {
      idleTimeoutMs: 1000,
      timeoutMs: 1000,
      heartbeatMs: 0,
    })
    channel.push({ type: 'text', text: '0' })
    const response = await handler(post(streamHello))
    const text = bodyReader(response).rest()
    for (let i = 1; i <= 100; i++) {
      await vi.advanceTimersByTimeAsync(900)
      channel.push({ type: 'text', text: String(i % 10) })
    }
    channel.push({ type: 'finish', reason: 'stop' })
    channel.end()
    expect(await text).toMatch(/\[DONE\]\n\n$/)
  })

  it('retries 503 with full-jitter exponential backoff, then answers', async () => {
    const { handler, provider } = setup(
      [{ error: httpError(503) }, { error: httpError(503) }, { events: text('ok') }],
      { retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000 }, clock: fakeClock(0.5) },
    )
    const pending = handler(post(hello))
    await vi.advanceTimersByTimeAsync(0)
    expect(provider.calls).toHaveLength(1)
    // random 0.5 × min(10_000, 1000·2⁰) = 500 ms
    await vi.advanceTimersByTimeAsync(499)
    expect(provider.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(provider.calls).toHaveLength(2)
    // random 0.5 × 1000·2¹ = 1000 ms
    await vi.advanceTimersByTimeAsync(999)
    expect(provider.calls).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(provider.calls).toHaveLength(3)
    const response = await pending
    expect(response.status).toBe(200)
  })

  it('caps the backoff at maxDelayMs', async () => {
    const { handler, provider } = setup([{ error: httpError(500) }, { events: text('ok') }], {
      retry: { maxAttempts: 2, baseDelayMs: 1000, maxDelayMs: 200 },
      clock: fakeClock(0.5),
    })
    const pending = handler(post(hello))
    // 0.5 × min(200, 1000) = 100 ms (uncapped it would be 500)
    await vi.advanceTimersByTimeAsync(99)
    expect(provider.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(provider.calls).toHaveLength(2)
    expect((await pending).status).toBe(200)
  })

  it('makes maxAttempts attempts in all, then answers 502', async () => {
    const { handler, provider } = setup([{ error: httpError(502) }], { retry: { maxAttempts: 4 } })
    const pending = handler(post(hello))
    await vi.runAllTimersAsync()
    expect((await pending).status).toBe(502)
    expect(provider.calls).toHaveLength(4)
  })

  it('retries 408, 409, 429, 5xx and network errors but not 400, 401, 403, 404, 413', async () => {
    for (const [error, retried] of [
      [httpError(408), true],
      [httpError(409), true],
      [httpError(429), true],
      [httpError(500), true],
      [httpError(599), true],
      [new UpstreamError('reset', { kind: 'network' }), true],
      [httpError(400), false],
      [httpError(401), false],
      [httpError(403), false],
      [httpError(404), false],
      [httpError(413), false],
      [new UpstreamError('bad', { kind: 'malformed' }), false],
    ] as const) {
      const { handler, provider } = setup([{ error }], { retry: { maxAttempts: 2 } })
      const pending = handler(post(hello))
      await vi.runAllTimersAsync()
      await pending
      expect(provider.calls.length, `${error.message}`).toBe(retried ? 2 : 1)
    }
  })

  it('does not retry when retry is false or maxAttempts is 0', async () => {
    for (const retry of [false, { maxAttempts: 0 }] as const) {
      const { handler, provider } = setup([{ error: httpError(503) }], { retry })
      const pending = handler(post(hello))
      await vi.runAllTimersAsync()
      expect((await pending).status).toBe(502)
      expect(provider.calls).toHaveLength(1)
    }
  })

  it('waits exactly the upstream Retry-After, even beyond maxDelayMs', async () => {
    const { handler, provider } = setup(
      [{ error: httpError(429, { retryAfterMs: 7000 }) }, { events: text('ok') }],
      {
        retry: { maxDelayMs: 100 },
      },
    )
    const pending = handler(post(hello))
    await vi.advanceTimersByTimeAsync(6999)
    expect(provider.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(provider.calls).toHaveLength(2)
    expect((await pending).status).toBe(200)
  })

  it('answers 429 with the Retry-After at once when it exceeds maxRetryAfterMs', async () => {
    const { handler, provider } = setup([{ error: httpError(429, { retryAfterMs: 60_000 }) }])
    const response = await handler(post(hello))
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('60')
    expect(provider.calls).toHaveLength(1)
  })

  it('does not retry after the first byte', async () => {
    const { handler, provider } = setup([
      { events: [{ type: 'text', text: 'a' }], failWith: httpError(503) },
      { events: text('never') },
    ])
    const response = await handler(post(streamHello))
    const raw = await response.text()
    expect(raw).toContain('"type":"upstream_error"')
    expect(provider.calls).toHaveLength(1)
  })

  it('stops retrying when the client goes away during the backoff', async () => {
    const { handler, provider } = setup([{ error: httpError(503) }], {
      retry: { maxAttempts: 5, baseDelayMs: 1000 },
    })
    const controller = new AbortController()
    const pending = handler(post(hello, {}, controller.signal))
    await vi.advanceTimersByTimeAsync(0)
    controller.abort()
    await vi.runAllTimersAsync()
    await pending
    expect(provider.calls).toHaveLength(1)
  })
})

describe('identical concurrent streams', () => {
  it('share one upstream call, each client gets the whole answer, and a leaver aborts nothing', async () => {
    const channel = new Channel()
    const provider = fakeProvider([{ channel }])
    const handler = createCopilotEdgeHandler({ provider })
    channel.push({ type: 'text', text: 'Hel' })
    const first = await handler(post(streamHello))
    const firstReader = first.body!.getReader()
    await firstReader.read()
    const second = await handler(post(streamHello))
    const third = await handler(post(streamHello))
    // The first client leaves: the others still read, so the upstream goes on.
    await firstReader.cancel()
    channel.push({ type: 'text', text: 'lo' }, { type: 'finish', reason: 'stop' })
    const texts = await Promise.all([second.text(), third.text()])
    for (const body of texts) {
      const content = [...body.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('')
      expect(content).toBe('Hello')
      expect(body.endsWith('data: [DONE]\n\n')).toBe(true)
    }
    expect(provider.calls).toHaveLength(1)
    expect(provider.calls[0]?.aborted).toBe(false)
  })

  it('abort the upstream when the last of them leaves', async () => {
    const channel = new Channel()
    const provider = fakeProvider([{ channel }])
    const handler = createCopilotEdgeHandler({ provider })
    channel.push({ type: 'text', text: 'Hel' })
    const first = await handler(post(streamHello))
    const second = await handler(post(streamHello))
    const a = first.body!.getReader()
    const b = second.body!.getReader()
    await a.read()
    await b.read()
    await a.cancel()
    expect(provider.calls[0]?.aborted).toBe(false)
    await b.cancel()
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(provider.calls[0]?.aborted).toBe(true)
    expect(provider.calls).toHaveLength(1)
  })
})
