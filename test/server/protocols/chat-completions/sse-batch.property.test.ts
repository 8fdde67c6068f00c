import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SseBatch } from '../../../../src/server/protocols/chat-completions/sse-batch'
import { SSE_DONE, SseEncoder } from '../../../../src/server/protocols/chat-completions/sse-encoder'

const encoder = new TextEncoder()

type Step = { content: string } | { reasoning: string } | { take: true }

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map((content) => ({ content })),
  },
  {
    weight: 1,
    arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map((reasoning) => ({ reasoning })),
  },
  { weight: 1, arbitrary: fc.constant({ take: true as const }) },
)

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

describe('SseBatch (the byte writer of a live stream)', () => {
  it('writes the UTF-8 of the SseEncoder strings, byte for byte, for any text and any batching', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(step, { maxLength: 40 }), (model, steps) => {
        const reference = new SseEncoder('chatcmpl-x', 123, model)
        const viaBytes = new SseEncoder('chatcmpl-x', 123, model)
        const batch = new SseBatch(viaBytes)
        let expected = reference.role()
        batch.write(viaBytes.role())
        const chunks: Uint8Array[] = []
        for (const s of steps) {
          if ('content' in s) {
            expected += reference.content(s.content)
            batch.content(s.content)
          } else if ('reasoning' in s) {
            expected += reference.reasoning(s.reasoning)
            batch.write(viaBytes.reasoning(s.reasoning))
          } else {
            chunks.push(batch.take())
          }
        }
        expected += reference.finish('stop') + SSE_DONE
        batch.write(viaBytes.finish('stop') + SSE_DONE)
        chunks.push(batch.take())
        expect(concat(chunks)).toEqual(encoder.encode(expected))
        expect(batch.size).toBe(0)
      }),
      { numRuns: 2000 },
    )
    // 2,000 runs: ~5 s on a quiet machine, several times that on a loaded one.
  }, 120_000)

  it('grows for an event larger than its buffer and hands each chunk over as its own copy', () => {
    const enc = new SseEncoder('chatcmpl-x', 1, 'm')
    const batch = new SseBatch(enc)
    const big = `${'é'.repeat(100_000)}\u0000"\\`
    batch.content(big)
    const first = batch.take()
    batch.content('next')
    const second = batch.take()
    const reference = new SseEncoder('chatcmpl-x', 1, 'm')
    expect(new TextDecoder().decode(first)).toBe(reference.content(big))
    expect(new TextDecoder().decode(second)).toBe(reference.content('next'))
  })

  it('numbers events past every power of ten the same way', () => {
    const reference = new SseEncoder('c', 1, 'm')
    const batch = new SseBatch(new SseEncoder('c', 1, 'm'))
    let expected = ''
    for (let i = 0; i < 1001; i++) {
      expected += reference.content('x')
      batch.content('x')
    }
    expect(new TextDecoder().decode(batch.take())).toBe(expected)
  })
})
