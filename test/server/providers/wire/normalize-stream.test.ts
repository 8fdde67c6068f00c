import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { UpstreamError } from '../../../../src/server/providers/provider'
import { normalizeStream } from '../../../../src/server/providers/wire/normalize-stream'
import {
  ALL_FIXTURES,
  maskGeneratedIds,
  NATIVE,
  NATIVE_UNICODE_CRLF,
  OPENAI_ON_RUN,
  type StreamFixture,
} from '../fixtures'
import { collect, collectUntilError, recordedBody, splitBytes } from '../helpers'

const encoder = new TextEncoder()

async function normalise(chunks: ReadonlyArray<string | Uint8Array>) {
  return collect(normalizeStream(recordedBody(chunks).stream))
}

async function expectFixture(fixture: StreamFixture, chunks: ReadonlyArray<string | Uint8Array>) {
  const events = await normalise(chunks)
  expect(maskGeneratedIds(events, fixture.events)).toEqual(fixture.events)
}

describe('normalizeStream', () => {
  for (const fixture of ALL_FIXTURES) {
    it(`normalises ${fixture.name} read in one piece`, async () => {
      await expectFixture(fixture, [fixture.body])
    })
  }

  it('yields the same events for any split of any fixture into reads', async () => {
    const withBytes = ALL_FIXTURES.map((fixture) => ({
      fixture,
      bytes: encoder.encode(fixture.body),
    }))
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: withBytes.length - 1 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        async (which, rawOffsets) => {
          const { fixture, bytes } = withBytes[which] as (typeof withBytes)[number]
          const offsets = rawOffsets.map((o) => o % (bytes.length + 1))
          await expectFixture(fixture, splitBytes(bytes, offsets))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('yields the same events and the same failure for any split of a failing body', async () => {
    const failing = [
      {
        body: 'data: {"response":"こん"}\r\n\r\ndata: {"response":"にちは 👋"}\r\n\r\n',
        kind: 'truncated',
      },
      { body: 'data: {"response":"a"}\n\ndata: {"respo', kind: 'truncated' },
      { body: 'data: {"response":"é"}\n\ndata: {nope}\n\ndata: [DONE]\n\n', kind: 'malformed' },
      {
        body: 'data: {"response":"x"}\n\ndata: {"errors":[{"code":3040,"message":"busy"}]}\n\n',
        kind: 'in-stream',
      },
    ].map((entry) => ({ ...entry, bytes: encoder.encode(entry.body) }))
    const reference = await Promise.all(
      failing.map(async ({ body }) =>
        collectUntilError(normalizeStream(recordedBody([body]).stream)),
      ),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: failing.length - 1 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        async (which, rawOffsets) => {
          const { bytes, kind } = failing[which] as (typeof failing)[number]
          const offsets = rawOffsets.map((o) => o % (bytes.length + 1))
          const outcome = await collectUntilError(
            normalizeStream(recordedBody(splitBytes(bytes, offsets)).stream),
          )
          expect(outcome.events).toEqual(reference[which]?.events)
          expect(outcome.error).toMatchObject({ name: 'UpstreamError', kind })
        },
      ),
      { numRuns: 200 },
    )
  })

  it('yields the same events when every byte is its own read', async () => {
    for (const fixture of ALL_FIXTURES) {
      const bytes = encoder.encode(fixture.body)
      const single = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))
      await expectFixture(fixture, single)
    }
  })

  it('handles splits inside CRLF, inside multi-byte UTF-8 and inside data:', async () => {
    const bytes = encoder.encode(NATIVE_UNICODE_CRLF.body)
    const text = NATIVE_UNICODE_CRLF.body
    const crlf = encoder.encode(text.slice(0, text.indexOf('\r\n'))).length + 1
    const emoji = encoder.encode(text.slice(0, text.indexOf('👋'))).length + 2
    const cjk = encoder.encode(text.slice(0, text.indexOf('世'))).length + 1
    const data = encoder.encode(text.slice(0, text.indexOf('data:', 10))).length + 3
    await expectFixture(NATIVE_UNICODE_CRLF, splitBytes(bytes, [crlf, emoji, cjk, data]))
  })

  it('throws a truncated UpstreamError after the text when the body ends with no terminal signal', async () => {
    const { events, error } = await collectUntilError(
      normalizeStream(
        recordedBody(['data: {"response":"Hel","p":"a"}\n\ndata: {"response":"lo"}\n\n']).stream,
      ),
    )
    expect(events).toEqual([
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo' },
    ])
    expect(error).toBeInstanceOf(UpstreamError)
    expect(error).toMatchObject({ name: 'UpstreamError', kind: 'truncated' })
  })

  it('treats a frame cut off mid-JSON at the end of the body as truncation, not as malformed', async () => {
    const { events, error } = await collectUntilError(
      normalizeStream(recordedBody(['data: {"response":"a"}\n\ndata: {"respo']).stream),
    )
    expect(events).toEqual([{ type: 'text', text: 'a' }])
    expect(error).toMatchObject({ kind: 'truncated' })
  })

  it('treats an OpenAI stream without finish_reason or [DONE] as truncated even with usage on every chunk', async () => {
    const body =
      'data: {"choices":[{"index":0,"delta":{"content":"A"},"finish_reason":null}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}\n\n'
    const { error } = await collectUntilError(normalizeStream(recordedBody([body]).stream))
    expect(error).toMatchObject({ kind: 'truncated' })
  })

  it('treats a native frame with text and usage as not terminal', async () => {
    const body =
      'data: {"response":"A","usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}\n\n'
    const { error } = await collectUntilError(normalizeStream(recordedBody([body]).stream))
    expect(error).toMatchObject({ kind: 'truncated' })
  })

  it('accepts a final data: [DONE] that lacks its blank line', async () => {
    expect(await normalise(['data: {"response":"a"}\n\ndata: [DONE]'])).toEqual([
      { type: 'text', text: 'a' },
      { type: 'finish', reason: 'stop' },
    ])
  })

  it('finishes at [DONE] at once, ignores what follows and then reads the body to its end without cancelling it', async () => {
    const body = recordedBody([
      'data: {"response":"a"}\n\ndata: [DONE]\n\ndata: {"response":"late"}\n\n',
      'data: {"response":"ignored"}\n\n',
    ])
    const iterator = normalizeStream(body.stream)
    expect(await iterator.next()).toEqual({ done: false, value: { type: 'text', text: 'a' } })
    expect(await iterator.next()).toEqual({
      done: false,
      value: { type: 'finish', reason: 'stop' },
    })
    expect(body.pulls).toBe(1)
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
    expect(body.pulls).toBe(3)
    expect(body.cancelled).toBe(false)
  })

  it('cancels a body that keeps sending after [DONE]', async () => {
    const junk = `: ${'x'.repeat(32 * 1024)}\n`
    const body = recordedBody(['data: [DONE]\n\n', junk, junk, junk, junk, junk, junk])
    expect(await collect(normalizeStream(body.stream))).toEqual([
      { type: 'finish', reason: 'stop' },
    ])
    expect(body.cancelled).toBe(true)
    expect(body.pulls).toBeLessThan(7)
  })

  it('cancels the body when the consumer stops right after the finish event', async () => {
    const body = recordedBody(['data: {"response":"a"}\n\ndata: [DONE]\n\n', ': more\n\n'])
    for await (const event of normalizeStream(body.stream)) {
      if (event.type === 'finish') break
    }
    expect(body.cancelled).toBe(true)
  })

  it('throws a malformed UpstreamError for a frame that is not JSON, after the events before it', async () => {
    const { events, error } = await collectUntilError(
      normalizeStream(
        recordedBody(['data: {"response":"a"}\n\ndata: {not json}\n\ndata: {"response":"b"}\n\n'])
          .stream,
      ),
    )
    expect(events).toEqual([{ type: 'text', text: 'a' }])
    expect(error).toMatchObject({ name: 'UpstreamError', kind: 'malformed' })
    expect((error as Error).message).toContain('{not json}')
  })

  it('throws a malformed UpstreamError when an unterminated event outgrows the buffer limit', async () => {
    const big = `data: {"response":"${'x'.repeat(5000)}"}\n\n`
    const pieces = big.match(/[\s\S]{1,100}/g) as string[]
    const body = recordedBody(pieces)
    const { error } = await collectUntilError(normalizeStream(body.stream, { maxBufferSize: 1000 }))
    expect(error).toMatchObject({ kind: 'malformed' })
    expect(body.pulls).toBeLessThan(pieces.length)
    expect(body.cancelled).toBe(true)
  })

  it('turns a Workers AI error frame into an in-stream UpstreamError with its code', async () => {
    const { events, error } = await collectUntilError(
      normalizeStream(
        recordedBody([
          'data: {"response":"par"}\n\ndata: {"errors":[{"code":3040,"message":"AiError: AiError: Capacity temporarily exceeded, please try again. (4f1c)"}]}\n\n',
        ]).stream,
        { label: 'Workers AI' },
      ),
    )
    expect(events).toEqual([{ type: 'text', text: 'par' }])
    expect(error).toMatchObject({ name: 'UpstreamError', kind: 'in-stream', code: '3040' })
    expect((error as Error).message).toBe(
      'Workers AI reported an error mid-stream (code 3040): Capacity temporarily exceeded, please try again. (4f1c)',
    )
  })

  it('turns an OpenAI error frame and an event: error into in-stream UpstreamErrors', async () => {
    const openai = await collectUntilError(
      normalizeStream(
        recordedBody([
          'data: {"error":{"message":"The server had an error","type":"server_error","code":null}}\n\n',
        ]).stream,
      ),
    )
    expect(openai.error).toMatchObject({ kind: 'in-stream', code: 'server_error' })
    expect((openai.error as Error).message).toContain('The server had an error')
    const typed = await collectUntilError(
      normalizeStream(recordedBody(['event: error\ndata: overloaded\n\n']).stream),
    )
    expect(typed.error).toMatchObject({ kind: 'in-stream' })
    expect((typed.error as Error).message).toContain('overloaded')
  })

  it('throws a network UpstreamError when a read fails mid-body', async () => {
    const { events, error } = await collectUntilError(
      normalizeStream(
        recordedBody(['data: {"response":"a"}\n\n'], { error: new TypeError('terminated') }).stream,
      ),
    )
    expect(events).toEqual([{ type: 'text', text: 'a' }])
    expect(error).toMatchObject({ kind: 'network' })
    expect((error as UpstreamError).cause).toBeInstanceOf(TypeError)
  })

  it('reads the upstream only as fast as the consumer iterates', async () => {
    const body = recordedBody(NATIVE.body.split('\n\n').map((frame) => `${frame}\n\n`))
    const iterator = normalizeStream(body.stream)
    expect(body.pulls).toBe(0)
    expect(await iterator.next()).toEqual({ done: false, value: { type: 'text', text: 'Hel' } })
    expect(body.pulls).toBe(1)
    expect(await iterator.next()).toEqual({ done: false, value: { type: 'text', text: 'lo' } })
    expect(body.pulls).toBe(2)
  })

  it('cancels the upstream body when the consumer breaks out of the loop', async () => {
    const body = recordedBody(OPENAI_ON_RUN.body.split('\n\n').map((frame) => `${frame}\n\n`))
    for await (const event of normalizeStream(body.stream)) {
      expect(event.type).toBe('reasoning')
      break
    }
    expect(body.cancelled).toBe(true)
    expect(body.pulls).toBe(2)
  })

  it('ends a pending read and rethrows the abort reason when the signal aborts', async () => {
    const body = recordedBody(['data: {"response":"a"}\n\n'], { hang: true })
    const controller = new AbortController()
    const iterator = normalizeStream(body.stream, { signal: controller.signal })
    expect(await iterator.next()).toEqual({ done: false, value: { type: 'text', text: 'a' } })
    const pending = iterator.next()
    const reason = new DOMException('client went away', 'AbortError')
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
    expect(body.cancelled).toBe(true)
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it('does not read at all when the signal is already aborted', async () => {
    const body = recordedBody([NATIVE.body])
    const controller = new AbortController()
    controller.abort()
    await expect(
      normalizeStream(body.stream, { signal: controller.signal }).next(),
    ).rejects.toMatchObject({ name: 'AbortError' })
    expect(body.pulls).toBe(0)
  })

  it('keeps the last usage figures and the upstream length finish reason', async () => {
    const events = await normalise([
      'data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}\n\n' +
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":2,"completion_tokens":5,"total_tokens":7}}\n\n' +
        'data: [DONE]\n\n',
    ])
    expect(events).toEqual([
      { type: 'text', text: 'x' },
      { type: 'usage', usage: { prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 } },
      { type: 'finish', reason: 'length' },
    ])
  })

  it('reports a tool-call finish when the upstream says stop after a tool call', async () => {
    const events = await normalise([
      'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":null}]}\n\n' +
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    ])
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'tool_calls' })
  })

  it('renders a non-string native response as text', async () => {
    expect(
      await normalise([
        'data: {"response":{"name":"India"}}\n\ndata: {"response":42}\n\ndata: [DONE]\n\n',
      ]),
    ).toEqual([
      { type: 'text', text: '{"name":"India"}' },
      { type: 'text', text: '42' },
      { type: 'finish', reason: 'stop' },
    ])
  })
})
