import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createCopilotEdgeHandler } from '../../src/server'
import { readJsonBody } from '../../src/server/http/read-body'
import { fakeProvider, text } from './helpers/fake-provider'
import { URL_ } from './helpers/post'

function chunked(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const parts: Uint8Array[] = []
  let last = 0
  for (const p of [...points, bytes.length]) {
    parts.push(bytes.slice(last, p))
    last = p
  }
  return new ReadableStream({
    pull(controller) {
      const next = parts.shift()
      if (next === undefined) controller.close()
      else controller.enqueue(next)
    },
  })
}

function jsonRequest(body: BodyInit): Request {
  return new Request(URL_, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body,
    duplex: 'half',
  } as RequestInit)
}

describe('reading request bytes (property tests)', () => {
  it('parses any JSON value however its UTF-8 bytes are split across reads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (value, cuts) => {
          const bytes = new TextEncoder().encode(JSON.stringify(value))
          const parsed = await readJsonBody(jsonRequest(chunked(bytes, cuts)), 0)
          expect(parsed).toEqual(JSON.parse(JSON.stringify(value)))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('answers arbitrary bytes with 400, 413 or 200, never a 500, and never calls upstream for a 4xx', async () => {
    const provider = fakeProvider([{ events: text('ok') }])
    const handler = createCopilotEdgeHandler({
      provider,
      limits: { maxBodyBytes: 512 },
      cache: false,
    })
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 700 }), async (bytes) => {
        const before = provider.calls.length
        const response = await handler(jsonRequest(bytes))
        expect([400, 413]).toContain(response.status)
        const body = await response.json()
        expect(body.error.type).toBe('invalid_request_error')
        expect(provider.calls.length).toBe(before)
      }),
      { numRuns: 300 },
    )
  })

  it('answers any JSON body with 200 or a 4xx error envelope, never a 500', async () => {
    const provider = fakeProvider([{ events: text('ok') }])
    const handler = createCopilotEdgeHandler({ provider, cache: false })
    const message = fc.record(
      {
        role: fc.constantFrom('user', 'system', 'assistant', 'tool', 'x'),
        content: fc.oneof(fc.string(), fc.jsonValue()),
      },
      { requiredKeys: [] },
    )
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          messages: fc.oneof(fc.array(message, { maxLength: 3 }), fc.jsonValue()),
          temperature: fc.jsonValue(),
          stream: fc.jsonValue(),
          model: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
    )
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const response = await handler(jsonRequest(JSON.stringify(value)))
        expect(response.status === 200 || (response.status >= 400 && response.status < 500)).toBe(
          true,
        )
        await response.text()
      }),
      { numRuns: 300 },
    )
  })
})
