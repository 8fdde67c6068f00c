import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { UpstreamEvent } from '../../../../src/server/providers/provider'
import { normalizeStream } from '../../../../src/server/providers/wire/normalize-stream'
import { ALL_FIXTURES, maskGeneratedIds } from '../fixtures'
import { collect, collectUntilError, recordedBody, splitBytes } from '../helpers'

const encoder = new TextEncoder()

/** Every event via nextBatch(), flattened, then the failure if any. */
async function viaBatches(
  body: ReadableStream<Uint8Array>,
): Promise<{ events: UpstreamEvent[]; error: unknown; batches: number }> {
  const iterator = normalizeStream(body)
  const events: UpstreamEvent[] = []
  let batches = 0
  try {
    for (;;) {
      const result = await iterator.nextBatch()
      if (result.done) break
      expect(result.value.length).toBeGreaterThan(0)
      batches++
      events.push(...result.value)
    }
  } catch (error) {
    return { events, error, batches }
  }
  return { events, error: undefined, batches }
}

/**
 * A native body whose token frames are written as Workers AI writes them (the fast path takes
 * those without escapes) or with a space after `{` (always JSON.parse): the events must agree.
 */
function nativeBody(
  tokens: string[],
  paddings: string[],
  slow: boolean,
  ending: string,
  framings: number[] = [],
): string {
  let body = ''
  tokens.forEach((response, i) => {
    const p = paddings[i % Math.max(1, paddings.length)]
    const json = JSON.stringify(p === undefined ? { response } : { response, p })
    body += FRAMINGS[(framings[i] ?? 0) % FRAMINGS.length]!(slow ? `{ ${json.slice(1)}` : json)
  })
  return body + ending
}

/**
 * The ways an SSE event may carry a frame: as Workers AI writes it (the event-level fast path
 * takes it), and others the parser must read (no space, CRLF, a comment or an id before it, an
 * extra blank line), so a stream moves between the fast path and the parser.
 */
const FRAMINGS: Array<(json: string) => string> = [
  (json) => `data: ${json}\n\n`,
  (json) => `data:${json}\n\n`,
  (json) => `data: ${json}\r\n\r\n`,
  (json) => `: ping\n\ndata: ${json}\n\n`,
  (json) => `id: 7\ndata: ${json}\n\n`,
  (json) => `data: ${json}\n\n\n`,
  (json) => `event: message\ndata: ${json}\n\n`,
  // One event of two data lines: their join is not JSON (malformed), even when a read ends
  // between the two lines and the second alone looks like a whole native event.
  (json) => `data: ${json}\ndata: ${json}\n\n`,
]

const token = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.constantFrom('', ' the', '\n', '"', '\\', 'é', '👋', '\u2028'),
)
const ending = fc.constantFrom(
  'data: {"response":"","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\n\ndata: [DONE]\n\n',
  'data: [DONE]\n\n',
  'data: [DONE]',
  '',
  'data: {"response":"cut',
  'data: {nope}\n\n',
)

describe('normalizeStream fast path and nextBatch()', () => {
  it('gives the same events and failure as JSON.parse for any native body, framed any way and split anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(token, { maxLength: 20 }),
        fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
        ending,
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.array(fc.oneof(fc.constant(0), fc.nat(FRAMINGS.length - 1)), { maxLength: 20 }),
        async (tokens, paddings, end, rawOffsets, framings) => {
          const fast = encoder.encode(nativeBody(tokens, paddings, false, end, framings))
          const slow = encoder.encode(nativeBody(tokens, paddings, true, end, framings))
          const cut = (bytes: Uint8Array) =>
            splitBytes(
              bytes,
              rawOffsets.map((o) => o % (bytes.length + 1)),
            )
          const expected = await collectUntilError(normalizeStream(recordedBody([slow]).stream))
          const actual = await collectUntilError(normalizeStream(recordedBody(cut(fast)).stream))
          expect(actual.events).toEqual(expected.events)
          expect((actual.error as Error | undefined)?.name).toBe(
            (expected.error as Error | undefined)?.name,
          )
          expect((actual.error as { kind?: string } | undefined)?.kind).toBe(
            (expected.error as { kind?: string } | undefined)?.kind,
          )
          const batched = await viaBatches(recordedBody(cut(fast)).stream)
          expect(batched.events).toEqual(expected.events)
          expect((batched.error as { kind?: string } | undefined)?.kind).toBe(
            (expected.error as { kind?: string } | undefined)?.kind,
          )
        },
      ),
      { numRuns: 400 },
    )
  })

  it('gives the same events read one byte at a time, framed any way', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(token, { maxLength: 8 }),
        ending,
        fc.array(fc.nat(FRAMINGS.length - 1), { maxLength: 8 }),
        async (tokens, end, framings) => {
          const fast = encoder.encode(nativeBody(tokens, ['xy'], false, end, framings))
          const slow = encoder.encode(nativeBody(tokens, ['xy'], true, end, framings))
          const bytewise = [...fast].map((byte) => Uint8Array.of(byte))
          const expected = await collectUntilError(normalizeStream(recordedBody([slow]).stream))
          const actual = await collectUntilError(normalizeStream(recordedBody(bytewise).stream))
          expect(actual.events).toEqual(expected.events)
          const batched = await viaBatches(recordedBody(bytewise).stream)
          expect(batched.events).toEqual(expected.events)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('hands over every fixture through nextBatch() as next() gives it, one batch per read', async () => {
    for (const fixture of ALL_FIXTURES) {
      const batched = await viaBatches(recordedBody([fixture.body]).stream)
      const single = await collect(normalizeStream(recordedBody([fixture.body]).stream))
      expect(batched.error).toBeUndefined()
      expect(maskGeneratedIds(batched.events, fixture.events)).toEqual(fixture.events)
      expect(maskGeneratedIds(single, fixture.events)).toEqual(fixture.events)
      // One read: its events, then usage and finish when the body ends, at most two batches.
      expect(batched.batches).toBeLessThanOrEqual(2)
    }
  })

  it('reads a read that starts mid-event with the parser, even when it looks like a whole frame', async () => {
    // One event of two data lines, cut between them: the second read alone is a native event,
    // but it continues the first line's event, whose data ('{…}\n{…}') is not JSON.
    const lines = ['data: {"response":"a"}\n', 'data: {"response":"b"}\n\n', 'data: [DONE]\n\n']
    const whole = await collectUntilError(normalizeStream(recordedBody([lines.join('')]).stream))
    const cut = await collectUntilError(normalizeStream(recordedBody(lines).stream))
    expect(whole.events).toEqual([])
    expect((whole.error as { kind?: string }).kind).toBe('malformed')
    expect(cut.events).toEqual([])
    expect((cut.error as { kind?: string }).kind).toBe('malformed')
  })

  it('lets next() and nextBatch() be mixed without losing or repeating an event', async () => {
    const body = `${['a', 'b', 'c', 'd'].map((t) => `data: {"response":"${t}"}\n\n`).join('')}data: [DONE]\n\n`
    const iterator = normalizeStream(recordedBody([body]).stream)
    const first = await iterator.next()
    const rest = await iterator.nextBatch()
    const end = await iterator.nextBatch()
    expect(first).toEqual({ done: false, value: { type: 'text', text: 'a' } })
    // The rest of the read, and the finish queued when [DONE] was seen in it.
    expect(rest).toEqual({
      done: false,
      value: [
        ...['b', 'c', 'd'].map((text) => ({ type: 'text', text })),
        { type: 'finish', reason: 'stop' },
      ],
    })
    expect(end.done).toBe(true)
  })

  it('reads no further ahead through nextBatch() than the consumer asks (backpressure)', async () => {
    const frames = Array.from({ length: 50 }, (_, i) => `data: {"response":"t${i}"}\n\n`)
    const body = recordedBody([...frames, 'data: [DONE]\n\n'])
    const iterator = normalizeStream(body.stream)
    await iterator.nextBatch()
    await iterator.nextBatch()
    expect(body.pulls).toBe(2)
  })
})
