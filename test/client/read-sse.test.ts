import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CopilotBufferOverflowError,
  CopilotContentTypeError,
  CopilotHTTPError,
  CopilotParseError,
  CopilotStreamError,
  CopilotTruncatedError,
  readSSE,
  type SSEEvent,
} from '../../src/client'
import { controlledBody, observedBody, sseResponse } from './sse-helpers'

const encoder = new TextEncoder()

async function collect<T>(response: Response, options: Parameters<typeof readSSE<T>>[1] = {}) {
  const events: Array<SSEEvent<T>> = []
  for await (const event of readSSE<T>(response, options)) events.push({ ...event })
  return events
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const sorted = [...new Set(cuts)].sort((a, b) => a - b)
  const parts: Uint8Array[] = []
  let start = 0
  for (const cut of sorted) {
    parts.push(bytes.slice(start, cut))
    start = cut
  }
  parts.push(bytes.slice(start))
  return parts
}

function responseOf(parts: Array<string | Uint8Array>) {
  return sseResponse(observedBody(parts).stream)
}

interface Fixture {
  name: string
  body: string
  events: Array<SSEEvent<unknown>>
}

// Each fixture is a valid stream ending in [DONE]; `events` is what it must yield, written by hand.
const fixtures: Fixture[] = [
  {
    name: 'LF endings with ids, comments, emoji, CJK and a multi-line data field',
    body:
      ': ping\n\n' +
      'id: 0\ndata: {"t":"Hello 👋🏽"}\n\n' +
      ': keep-alive\n' +
      'id: 1\ndata: {"t":"你好，世界"}\n\n' +
      'id: 2\ndata: {"t":\ndata: "two lines"}\n\n' +
      'data: [DONE]\n\n',
    events: [
      { id: '0', event: undefined, data: { t: 'Hello 👋🏽' } },
      { id: '1', event: undefined, data: { t: '你好，世界' } },
      { id: '2', event: undefined, data: { t: 'two lines' } },
    ],
  },
  {
    name: 'CRLF endings after a BOM, with a named event and a retry field',
    body:
      '\uFEFFretry: 3000\r\n' +
      'id: 7\r\nevent: delta\r\ndata: {"t":"é€𝄞"}\r\n\r\n' +
      ':comment\r\n' +
      'data:{"t":"no space"}\r\n\r\n' +
      'data: [DONE]\r\n\r\n',
    events: [
      { id: '7', event: 'delta', data: { t: 'é€𝄞' } },
      { id: undefined, event: undefined, data: { t: 'no space' } },
    ],
  },
  {
    name: 'CR endings, ending in a lone CR',
    body: 'data: {"t":"日本語"}\r\r: ping\rid: 3\rdata: {"t":"🚀"}\r\rdata: [DONE]\r\r',
    events: [
      { id: undefined, event: undefined, data: { t: '日本語' } },
      { id: '3', event: undefined, data: { t: '🚀' } },
    ],
  },
  {
    name: 'events after [DONE] are ignored',
    body: 'data: {"t":"a"}\n\ndata: [DONE]\n\ndata: {"t":"after"}\n\n',
    events: [{ id: undefined, event: undefined, data: { t: 'a' } }],
  },
]

describe('readSSE', () => {
  for (const fixture of fixtures) {
    it(`yields the expected events in one read: ${fixture.name}`, async () => {
      expect(await collect(responseOf([fixture.body]))).toEqual(fixture.events)
    })

    it(`yields the same events with 1-byte reads: ${fixture.name}`, async () => {
      const bytes = encoder.encode(fixture.body)
      const parts = Array.from(bytes, (byte) => Uint8Array.of(byte))
      expect(await collect(responseOf(parts))).toEqual(fixture.events)
    })

    it(`yields the same events for a cut at every byte (inside CRLF, UTF-8 and data:): ${fixture.name}`, async () => {
      const bytes = encoder.encode(fixture.body)
      for (let cut = 1; cut < bytes.length; cut++) {
        expect(await collect(responseOf(splitAt(bytes, [cut])))).toEqual(fixture.events)
      }
    })
  }

  it('yields exactly the events of the unsplit body for any split into reads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...fixtures),
        fc.array(fc.nat(), { maxLength: 40 }),
        async (fixture, rawCuts) => {
          const bytes = encoder.encode(fixture.body)
          const cuts = rawCuts.map((cut) => (cut % (bytes.length - 1)) + 1)
          expect(await collect(responseOf(splitAt(bytes, cuts)))).toEqual(fixture.events)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('yields exactly the events of any generated stream, however it is split', async () => {
    const text = fc.string({ unit: fc.constantFrom('a', ' ', 'é', '你', '👋', '"', '\\', ':') })
    const endings = fc.constantFrom('\n', '\r\n', '\r')
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ text, id: fc.option(fc.nat(), { nil: undefined }) }), {
          maxLength: 8,
        }),
        endings,
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 30 }),
        async (events, eol, comments, rawCuts) => {
          let body = ''
          for (const { text, id } of events) {
            if (comments) body += `: ping${eol}`
            if (id !== undefined) body += `id: ${id}${eol}`
            body += `data: ${JSON.stringify({ text })}${eol}${eol}`
          }
          body += `data: [DONE]${eol}${eol}`
          const bytes = encoder.encode(body)
          const cuts = rawCuts.map((cut) => (cut % (bytes.length - 1)) + 1)
          const got = await collect(responseOf(splitAt(bytes, cuts)))
          expect(got).toEqual(
            events.map(({ text, id }) => ({
              id: id === undefined ? undefined : String(id),
              event: undefined,
              data: { text },
            })),
          )
        },
      ),
      { numRuns: 300 },
    )
  })

  it('decodes a character split across reads without replacement characters', async () => {
    const bytes = encoder.encode('data: {"t":"你"}\n\ndata: [DONE]\n\n')
    const start = bytes.indexOf(0xe4)
    const events = await collect(responseOf(splitAt(bytes, [start + 1, start + 2])))
    expect(events).toEqual([{ id: undefined, event: undefined, data: { t: '你' } }])
  })

  it('uses a custom parse instead of JSON.parse, and never passes it [DONE]', async () => {
    const seen: string[] = []
    const parse = (data: string) => {
      seen.push(data)
      return data.toUpperCase()
    }
    const events = await collect(responseOf(['data: plain text\n\ndata: [DONE]\n\n']), { parse })
    expect(events.map((event) => event.data)).toEqual(['PLAIN TEXT'])
    expect(seen).toEqual(['plain text'])
  })

  it('throws CopilotHTTPError carrying the parsed OpenAI error body for a non-OK JSON answer', async () => {
    const body = {
      error: {
        message: 'Too many requests',
        type: 'rate_limit_error',
        code: 'rate_limited',
        param: null,
      },
    }
    const response = new Response(JSON.stringify(body), {
      status: 429,
      headers: { 'content-type': 'application/json', 'retry-after': '3' },
    })
    const error = await collect(response).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CopilotHTTPError)
    expect(error).toMatchObject({
      name: 'CopilotHTTPError',
      status: 429,
      message: 'Too many requests',
      type: 'rate_limit_error',
      code: 'rate_limited',
      param: null,
      body,
    })
    expect((error as CopilotHTTPError).headers.get('retry-after')).toBe('3')
  })

  it('throws CopilotHTTPError with the body text when the error body is not JSON', async () => {
    const response = new Response('<html>Bad Gateway</html>', {
      status: 502,
      statusText: 'Bad Gateway',
      headers: { 'content-type': 'text/html' },
    })
    const error = await collect(response).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CopilotHTTPError)
    expect(error).toMatchObject({
      status: 502,
      body: '<html>Bad Gateway</html>',
      message: 'HTTP 502 Bad Gateway: <html>Bad Gateway</html>',
      type: undefined,
    })
  })

  it('throws CopilotContentTypeError for a 200 answer that is not an event stream, and cancels the body', async () => {
    const body = observedBody(['{"choices":[]}'])
    const response = new Response(body.stream, { headers: { 'content-type': 'application/json' } })
    const error = await collect(response).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CopilotContentTypeError)
    expect(error).toMatchObject({
      name: 'CopilotContentTypeError',
      contentType: 'application/json',
      status: 200,
    })
    expect(body.pulls).toBe(0)
    expect(body.cancelled).toBe(true)
  })

  it('yields the events before an in-stream error payload, then throws CopilotStreamError with its message, type and code', async () => {
    const body = observedBody([
      'id: 0\ndata: {"t":"partial"}\n\n',
      'data: {"error":{"message":"Upstream dropped","type":"upstream_error","code":"upstream_disconnected"}}\n\n',
    ])
    const seen: unknown[] = []
    const error = await (async () => {
      for await (const event of readSSE(sseResponse(body.stream))) seen.push(event.data)
    })().catch((e: unknown) => e)
    expect(seen).toEqual([{ t: 'partial' }])
    expect(error).toBeInstanceOf(CopilotStreamError)
    expect(error).toMatchObject({
      name: 'CopilotStreamError',
      message: 'Upstream dropped',
      type: 'upstream_error',
      code: 'upstream_disconnected',
    })
    expect(body.cancelled).toBe(true)
  })

  it('treats an `event: error` as an in-stream error', async () => {
    const response = responseOf(['event: error\ndata: {"message":"nope"}\n\n'])
    const error = await collect(response).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CopilotStreamError)
    expect((error as CopilotStreamError).body).toEqual({ message: 'nope' })
  })

  it('throws CopilotTruncatedError after the last event when the body ends without [DONE]', async () => {
    const seen: unknown[] = []
    const error = await (async () => {
      // The second event lacks its blank line: per the SSE spec it is never dispatched.
      for await (const event of readSSE(responseOf(['data: {"t":"a"}\n\n', 'data: {"t":"b"}\n']))) {
        seen.push(event.data)
      }
    })().catch((e: unknown) => e)
    expect(seen).toEqual([{ t: 'a' }])
    expect(error).toBeInstanceOf(CopilotTruncatedError)
    expect((error as Error).name).toBe('CopilotTruncatedError')
  })

  it('throws CopilotTruncatedError carrying the cause when the connection fails mid-body', async () => {
    const body = controlledBody()
    const events = readSSE(sseResponse(body.stream))
    body.push('data: {"t":"a"}\n\n')
    expect((await events.next()).value?.data).toEqual({ t: 'a' })
    const cause = new TypeError('terminated')
    body.fail(cause)
    const error = await events.next().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CopilotTruncatedError)
    expect((error as Error).cause).toBe(cause)
  })

  it('throws CopilotTruncatedError for an empty event-stream body', async () => {
    await expect(collect(sseResponse(null))).rejects.toBeInstanceOf(CopilotTruncatedError)
    await expect(collect(responseOf([]))).rejects.toBeInstanceOf(CopilotTruncatedError)
  })

  it('throws CopilotParseError when data is not JSON', async () => {
    const error = await collect(responseOf(['data: {oops\n\n'])).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CopilotParseError)
    expect(error).toMatchObject({ name: 'CopilotParseError', data: '{oops' })
  })

  it('yields the events that fit, then throws CopilotBufferOverflowError when a line exceeds maxBufferSize', async () => {
    const body = observedBody(['data: {"t":"ok"}\n\n', `data: "${'x'.repeat(200)}`, '"\n\n'])
    const seen: unknown[] = []
    const error = await (async () => {
      for await (const event of readSSE(sseResponse(body.stream), { maxBufferSize: 100 })) {
        seen.push(event.data)
      }
    })().catch((e: unknown) => e)
    expect(seen).toEqual([{ t: 'ok' }])
    expect(error).toBeInstanceOf(CopilotBufferOverflowError)
    expect(error).toMatchObject({ name: 'CopilotBufferOverflowError', maxBufferSize: 100 })
    expect(body.cancelled).toBe(true)
  })

  it('limits only what is buffered across reads, and a limit of 0 turns the check off', async () => {
    const big = `data: "${'x'.repeat(5000)}"\n\ndata: [DONE]\n\n`
    const halves = () => [big.slice(0, 2500), big.slice(2500)]
    // A whole event inside one read never waits in the buffer.
    await expect(collect(responseOf([big]), { maxBufferSize: 100 })).resolves.toHaveLength(1)
    await expect(collect(responseOf(halves()), { maxBufferSize: 0 })).resolves.toHaveLength(1)
    await expect(collect(responseOf(halves()), { maxBufferSize: 100 })).rejects.toBeInstanceOf(
      CopilotBufferOverflowError,
    )
  })

  it('throws an AbortError for an already-aborted signal without reading the body', async () => {
    const body = observedBody(['data: {"t":"a"}\n\ndata: [DONE]\n\n'])
    const controller = new AbortController()
    controller.abort()
    const error = await collect(sseResponse(body.stream), { signal: controller.signal }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(DOMException)
    expect((error as DOMException).name).toBe('AbortError')
    expect(body.pulls).toBe(0)
    expect(body.cancelled).toBe(true)
  })

  it('throws an AbortError and cancels the body reader when aborted mid-stream', async () => {
    const body = controlledBody()
    const controller = new AbortController()
    const events = readSSE(sseResponse(body.stream), { signal: controller.signal })
    body.push('data: {"t":"a"}\n\n')
    expect((await events.next()).value?.data).toEqual({ t: 'a' })
    const pending = events.next() // waiting on a read that will never be answered
    controller.abort()
    const error = await pending.catch((e: unknown) => e)
    expect((error as DOMException).name).toBe('AbortError')
    expect(body.cancelled).toBe(true)
  })

  it('cancels the body reader when the consumer breaks out of the loop', async () => {
    const body = controlledBody()
    body.push('data: {"t":"a"}\n\ndata: {"t":"b"}\n\n')
    for await (const event of readSSE(sseResponse(body.stream))) {
      expect(event.data).toEqual({ t: 'a' })
      break
    }
    expect(body.cancelled).toBe(true)
  })

  it('hands out events in order when next() is called several times without awaiting', async () => {
    const events = readSSE(
      responseOf(['data: 1\n\nda', 'ta: 2\n\ndata: 3\n', '\ndata: [DONE]\n\n']),
    )
    const results = await Promise.all([events.next(), events.next(), events.next(), events.next()])
    expect(results.map((r) => (r.done ? 'done' : r.value.data))).toEqual([1, 2, 3, 'done'])
  })

  it('reports done to a queued next() when the read it waited behind failed', async () => {
    const events = readSSE(responseOf(['data: {"t":"a"}\n']))
    const [first, second] = await Promise.allSettled([events.next(), events.next()])
    expect(first.status === 'rejected' && first.reason).toBeInstanceOf(CopilotTruncatedError)
    expect(second).toEqual({ status: 'fulfilled', value: { done: true, value: undefined } })
  })

  it('is async-disposable where the runtime supports `await using`: disposing cancels the body', async () => {
    const asyncDispose = (Symbol as { asyncDispose?: symbol }).asyncDispose
    if (!asyncDispose) return expect(asyncDispose).toBeUndefined()
    const body = controlledBody()
    const events = readSSE(sseResponse(body.stream)) as unknown as Record<
      symbol,
      () => Promise<void>
    >
    await events[asyncDispose]?.()
    expect(body.cancelled).toBe(true)
  })

  it('cancels the body without reading it when return() comes before the first next()', async () => {
    const body = observedBody(['data: 1\n\n'])
    const events = readSSE(sseResponse(body.stream))
    expect(await events.return()).toEqual({ done: true, value: undefined })
    expect(await events.next()).toEqual({ done: true, value: undefined })
    expect(body.pulls).toBe(0)
    expect(body.cancelled).toBe(true)
  })

  it('reports done after it has thrown, like a generator', async () => {
    const events = readSSE(responseOf(['data: {"error":{"message":"x"}}\n\n']))
    await expect(events.next()).rejects.toBeInstanceOf(CopilotStreamError)
    expect(await events.next()).toEqual({ done: true, value: undefined })
  })

  it('releases the connection once [DONE] arrives, even if the server keeps the body open', async () => {
    const body = controlledBody()
    body.push('data: 1\n\ndata: [DONE]\n\n')
    expect(await collect(sseResponse(body.stream))).toEqual([
      { data: 1, id: undefined, event: undefined },
    ])
    expect(body.cancelled).toBe(true)
  })
})
