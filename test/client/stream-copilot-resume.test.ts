import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  CopilotHTTPError,
  CopilotReconnectError,
  CopilotStreamError,
  CopilotTruncatedError,
  type ReconnectTimers,
  streamCopilot,
} from '../../src/client'
import {
  answerEvents,
  type ResumableServer,
  startResumableServer,
} from './helpers/resumable-server'
import { answeringFetch, chunk, controlledBody, inMemoryFetch, sseResponse } from './sse-helpers'

const messages = [{ role: 'user' as const, content: 'Tell me everything' }]
const encoder = new TextEncoder()
const STREAM = { 'x-copilotedge-stream-id': 'abc' }
// Real timers with no wait: the cut tests exercise the protocol, the backoff has its own fake-timer tests.
const noDelay: ReconnectTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: () => 0,
}
const event = (n: number, content: string) =>
  `id: ${n}\ndata: ${JSON.stringify(chunk(content))}\n\n`

/** Bytes of the uninterrupted body up to the end of event `n` (id n). */
const offsetAfterEvent = (answer: string[], n: number) =>
  encoder.encode(
    answerEvents(answer)
      .slice(0, n + 1)
      .join(''),
  ).length

let server: ResumableServer | undefined
afterEach(async () => {
  vi.useRealTimers()
  vi.restoreAllMocks()
  await server?.close()
  server = undefined
})

describe('streamCopilot reconnecting a resumable stream over real connections', () => {
  it('assembles the uninterrupted answer byte for byte after 100 seeded random cuts, with one POST', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }), {
          minLength: 1,
          maxLength: 25,
        }),
        fc.array(
          fc.record({
            at: fc.nat(),
            mode: fc.constantFrom('destroy', 'end') as fc.Arbitrary<'destroy' | 'end'>,
          }),
          {
            minLength: 1,
            maxLength: 3,
          },
        ),
        async (answer, cuts) => {
          const run = await startResumableServer({
            answer,
            plan: cuts.map(({ at, mode }) => ({ cutAt: at, mode })),
          })
          try {
            const received: string[] = []
            const attempts: number[] = []
            const stream = streamCopilot({
              api: run.url,
              messages,
              reconnect: { timers: noDelay },
              onChunk: (delta) => received.push(delta),
              onReconnect: (attempt) => attempts.push(attempt),
            })
            const text = await stream.getFullResponse()
            expect(text).toBe(answer.join(''))
            expect(received).toEqual(answer) // no token twice, none missing, in order
            expect(run.count('POST')).toBe(1)
            expect(run.count('GET')).toBe(cuts.length)
            expect(run.count('DELETE')).toBe(0)
            expect(attempts).toHaveLength(cuts.length)
          } finally {
            await run.close()
          }
        },
      ),
      { seed: 1111, numRuns: 100 },
    )
  })

  it('sends Last-Event-ID and the caller headers on the GET, never the prompt or a content type', async () => {
    const answer = ['one ', 'two ', 'three']
    server = await startResumableServer({
      answer,
      plan: [{ cutAt: offsetAfterEvent(answer, 2) + 5 }],
    })
    const stream = streamCopilot({
      api: server.url,
      messages,
      headers: { authorization: 'Bearer t' },
      reconnect: { timers: noDelay },
    })
    expect(await stream.getFullResponse()).toBe('one two three')
    const [post, get] = server.requests
    expect(post?.method).toBe('POST')
    expect(get?.method).toBe('GET')
    expect(get?.url).toBe('/api/copilot?stream=s1')
    expect(get?.lastEventId).toBe('2')
    expect(get?.body).toBe('')
    expect(get?.headers.authorization).toBe('Bearer t')
    expect(get?.headers['content-type']).toBeUndefined()
    expect(get?.headers.accept).toBe('text/event-stream')
    expect(stream.streamId).toBe('s1')
    expect(stream.lastEventId).toBe(String(answer.length + 1))
  })

  it('keeps going through more cuts than maxAttempts when each reconnect brings new events', async () => {
    const answer = ['a', 'b', 'c', 'd', 'e', 'f']
    server = await startResumableServer({
      answer,
      // Each GET body starts after the last id received: cut every one after its first event.
      plan: [
        { cutAt: offsetAfterEvent(answer, 1) },
        ...[2, 3, 4, 5].map((n) => ({
          cutAt: encoder.encode(answerEvents(answer)[n] as string).length,
        })),
      ],
    })
    const stream = streamCopilot({
      api: server.url,
      messages,
      reconnect: { maxAttempts: 1, timers: noDelay },
    })
    expect(await stream.getFullResponse()).toBe('abcdef')
    expect(server.count('GET')).toBe(5)
    expect(server.requests.map((request) => request.lastEventId)).toEqual([
      undefined,
      '1',
      '2',
      '3',
      '4',
      '5',
    ])
  })

  it('retries a reconnect answered 503, then reads the rest', async () => {
    const answer = ['x', 'y']
    server = await startResumableServer({
      answer,
      plan: [{ cutAt: offsetAfterEvent(answer, 1) }, { status: 503 }],
    })
    const attempts: number[] = []
    const stream = streamCopilot({
      api: server.url,
      messages,
      reconnect: { timers: noDelay },
      onReconnect: (attempt) => attempts.push(attempt),
    })
    expect(await stream.getFullResponse()).toBe('xy')
    expect(attempts).toEqual([1, 2])
    expect(server.count('GET')).toBe(2)
  })

  it('gives up at once with CopilotReconnectError when the server no longer knows the stream (410)', async () => {
    const answer = ['x', 'y']
    server = await startResumableServer({
      answer,
      plan: [{ cutAt: offsetAfterEvent(answer, 1) }],
      expired: ['s1'],
    })
    const received: string[] = []
    const stream = streamCopilot({
      api: server.url,
      messages,
      reconnect: { timers: noDelay },
      onChunk: (delta) => received.push(delta),
    })
    const error = await stream.getFullResponse().catch((reason: unknown) => reason)
    expect(error).toBeInstanceOf(CopilotReconnectError)
    const reconnectError = error as CopilotReconnectError
    expect(reconnectError.name).toBe('CopilotReconnectError')
    expect(reconnectError.attempts).toBe(1)
    expect(reconnectError.streamId).toBe('s1')
    expect(reconnectError.lastEventId).toBe('1')
    expect(reconnectError.cause).toBeInstanceOf(CopilotHTTPError)
    expect((reconnectError.cause as CopilotHTTPError).status).toBe(410)
    expect((reconnectError.cause as CopilotHTTPError).code).toBe('stream_expired')
    expect(received).toEqual(['x'])
    expect(server.count('GET')).toBe(1)
  })

  it('abort() stops the stream on the server with a DELETE carrying the caller headers', async () => {
    const answer = ['first ', 'second']
    server = await startResumableServer({
      answer,
      plan: [{ cutAt: offsetAfterEvent(answer, 1), hang: true }],
    })
    let firstChunk!: () => void
    const first = new Promise<void>((resolve) => {
      firstChunk = resolve
    })
    const stream = streamCopilot({
      api: server.url,
      messages,
      headers: { authorization: 'Bearer t' },
      onChunk: () => firstChunk(),
    })
    await first
    stream.abort()
    expect(await stream.getFullResponse()).toBe('first ')
    const running = server
    await vi.waitFor(() => expect(running.count('DELETE')).toBe(1))
    const stop = server.requests.find((request) => request.method === 'DELETE')
    expect(stop?.url).toBe('/api/copilot?stream=s1')
    expect(stop?.headers.authorization).toBe('Bearer t')
    expect(server.count('GET')).toBe(0)
  })

  it('resume: { streamId, lastEventId } reads the rest with a GET and never POSTs', async () => {
    const answer = ['Hello', ', ', 'world']
    server = await startResumableServer({ answer })
    // A stream the server knows: the POST of an earlier page (read in full here, then picked up again).
    await streamCopilot({ api: server.url, messages }).getFullResponse()
    const received: string[] = []
    const stream = streamCopilot({
      api: server.url,
      resume: { streamId: 's1', lastEventId: '1' },
      onChunk: (delta) => received.push(delta),
    })
    expect(await stream.getFullResponse()).toBe(', world')
    expect(received).toEqual([', ', 'world'])
    expect(server.count('POST')).toBe(1)
    expect(server.requests[1]).toMatchObject({ method: 'GET', streamId: 's1', lastEventId: '1' })
  })

  it('resume of a stream the server does not know rejects with its 404 stream_not_found', async () => {
    server = await startResumableServer({ answer: ['x'] })
    const stream = streamCopilot({
      api: server.url,
      resume: { streamId: 'gone', lastEventId: '3' },
    })
    const error = await stream.getFullResponse().catch((reason: unknown) => reason)
    expect(error).toBeInstanceOf(CopilotHTTPError)
    expect((error as CopilotHTTPError).status).toBe(404)
    expect((error as CopilotHTTPError).code).toBe('stream_not_found')
    expect(server.count('POST')).toBe(0)
    expect(server.count('GET')).toBe(1)
  })
})

describe('streamCopilot reconnect policy (in-memory fetch, fake timers)', () => {
  /** A fetch whose POST starts a resumable stream with one delta and whose GETs all end at once. */
  function droppingFetch() {
    const times: number[] = []
    const { fetch, requests } = answeringFetch(() => {
      times.push(Date.now())
      return times.length === 1
        ? sseResponse(event(0, 'partial'), { headers: STREAM })
        : sseResponse('', { headers: STREAM })
    })
    return { fetch, requests, times }
  }

  it('waits a full-jitter capped exponential backoff before each GET, then gives up after maxAttempts', async () => {
    vi.useFakeTimers({ now: 0 })
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const { fetch, requests, times } = droppingFetch()
    const attempts: number[] = []
    const stream = streamCopilot({
      api: '/api/copilot',
      messages,
      fetch,
      reconnect: { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 1_000 },
      onReconnect: (attempt) => attempts.push(attempt),
    })
    const outcome = stream.getFullResponse().catch((reason: unknown) => reason)
    await vi.advanceTimersByTimeAsync(99)
    expect(requests).toHaveLength(1) // the POST only: the first reconnect waits 0.5 × 200 ms
    await vi.advanceTimersByTimeAsync(1)
    expect(requests).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(10_000)
    // Ceilings 200, 400, 800, 1000 (capped), 1000: half of each with random() = 0.5.
    expect(times.slice(1).map((time, i) => time - (times[i] as number))).toEqual([
      100, 200, 400, 500, 500,
    ])
    expect(attempts).toEqual([1, 2, 3, 4, 5])
    const error = (await outcome) as CopilotReconnectError
    expect(error).toBeInstanceOf(CopilotReconnectError)
    expect(error.attempts).toBe(5)
    expect(error.cause).toBeInstanceOf(CopilotTruncatedError)
    expect(error.message).toMatch(/after 5 attempts/)
    expect(requests.map((request) => request.init.method)).toEqual([
      'POST',
      'GET',
      'GET',
      'GET',
      'GET',
      'GET',
    ])
  })

  it('uses the injected timers and random source instead of the globals', async () => {
    const delays: number[] = []
    const timers: ReconnectTimers = {
      setTimeout: (callback, ms) => {
        delays.push(ms)
        queueMicrotask(callback)
        return 0
      },
      clearTimeout: () => {},
      random: () => 0.75,
    }
    const { fetch } = droppingFetch()
    const stream = streamCopilot({
      api: '/api',
      messages,
      fetch,
      reconnect: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 10_000, timers },
    })
    await expect(stream.getFullResponse()).rejects.toBeInstanceOf(CopilotReconnectError)
    expect(delays).toEqual([75, 150, 300])
  })

  it('abort() during the backoff wait ends quietly, sends no GET and stops the stream with a DELETE', async () => {
    vi.useFakeTimers({ now: 0 })
    const { fetch, requests } = droppingFetch()
    // A fixed jitter draw (5 s wait): vi.waitFor advances fake time while it polls, and a random
    // draw near 0 let the GET go out before abort() (seen once on Node 22).
    const timers = {
      setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms),
      clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      random: () => 0.5,
    }
    const stream = streamCopilot({
      api: '/api/copilot?tenant=7',
      messages,
      fetch,
      reconnect: { baseDelayMs: 10_000, maxDelayMs: 10_000, timers },
    })
    await vi.waitFor(() => expect(stream.streamId).toBe('abc'))
    await vi.advanceTimersByTimeAsync(0)
    stream.abort()
    expect(await stream.getFullResponse()).toBe('partial')
    await vi.advanceTimersByTimeAsync(60_000)
    expect(requests.map((request) => `${request.init.method} ${request.url}`)).toEqual([
      'POST /api/copilot?tenant=7',
      'DELETE /api/copilot?tenant=7&stream=abc',
    ])
    expect(requests[1]?.init.keepalive).toBe(true)
  })

  it('disconnect() drops the connection but sends no DELETE (the stream can be resumed)', async () => {
    const mock = inMemoryFetch()
    const body = controlledBody()
    const stream = streamCopilot({ api: '/api', messages, fetch: mock.fetch })
    mock.respond(sseResponse(body.stream, { headers: STREAM }))
    await stream.response
    body.push(event(0, 'so far'))
    await vi.waitFor(() => expect(stream.lastEventId).toBe('0'))
    stream.disconnect()
    expect(await stream.getFullResponse()).toBe('so far')
    expect(body.cancelled).toBe(true)
    expect(mock.requests).toHaveLength(1)
  })

  it('breaking out of for await on a resumable stream sends the DELETE too', async () => {
    const { fetch, requests } = answeringFetch(() =>
      sseResponse(event(0, 'a') + event(1, 'b'), { headers: STREAM }),
    )
    for await (const delta of streamCopilot({ api: '/api', messages, fetch })) {
      expect(delta).toBe('a')
      break
    }
    expect(requests.map((request) => request.init.method)).toEqual(['POST', 'DELETE'])
  })

  it('does not reconnect after an in-stream error event: that error is the answer', async () => {
    const { fetch, requests } = answeringFetch(() =>
      sseResponse(
        `${event(0, 'a')}data: {"error":{"message":"Upstream dropped","code":"upstream_error"}}\n\n`,
        { headers: STREAM },
      ),
    )
    const stream = streamCopilot({ api: '/api', messages, fetch })
    await expect(stream.getFullResponse()).rejects.toBeInstanceOf(CopilotStreamError)
    expect(requests).toHaveLength(1)
  })

  it('does not reconnect a stream without X-CopilotEdge-Stream-Id, nor with reconnect: false', async () => {
    for (const [headers, reconnect] of [
      [{}, undefined],
      [STREAM, false],
    ] as const) {
      const { fetch, requests } = answeringFetch(() => sseResponse(event(0, 'a'), { headers }))
      const stream = streamCopilot({ api: '/api', messages, fetch, reconnect })
      await expect(stream.getFullResponse()).rejects.toBeInstanceOf(CopilotTruncatedError)
      expect(requests).toHaveLength(1)
    }
  })

  it('skips events a reconnect sends again (ids at or below the last one received)', async () => {
    let calls = 0
    const { fetch } = answeringFetch(() =>
      ++calls === 1
        ? sseResponse(event(0, 'a') + event(1, 'b'), { headers: STREAM })
        : sseResponse(`${event(1, 'b')}${event(2, 'c')}data: [DONE]\n\n`, { headers: STREAM }),
    )
    const received: string[] = []
    const stream = streamCopilot({
      api: '/api',
      messages,
      fetch,
      reconnect: { timers: noDelay },
      onChunk: (delta) => received.push(delta),
    })
    expect(await stream.getFullResponse()).toBe('abc')
    expect(received).toEqual(['a', 'b', 'c'])
  })
})
