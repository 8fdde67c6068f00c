import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ByteBuffer } from '../../../src/server/protocols/byte-buffer'

const utf8 = new TextEncoder()

/** The protected writers, reachable from a test. */
class Probe extends ByteBuffer {
  delta(head: string, text: string, tail: string): void {
    this.writeDelta(utf8.encode(head), text, utf8.encode(tail))
  }
}

type Step = ({ write: string } | { delta: [string, string, string] } | { take: true }) & {
  /** Which of several buffers (streams) the step is for. */
  on?: number
}

// Binary strings: lone surrogates and pairs included; long ones make the buffer grow mid-write.
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 500, maxLength: 3000 }),
  fc.string({ unit: 'grapheme', maxLength: 600 }),
)

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: text.map((write) => ({ write })) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 60 }), text, fc.string({ maxLength: 8 }))
      .map((delta) => ({ delta })),
  },
  { weight: 1, arbitrary: fc.constant({ take: true as const }) },
)

describe('ByteBuffer (the bytes of one downstream chunk)', () => {
  it('writes the UTF-8 of any text, and of any delta event as head + JSON string + tail, for any sequence of writes and takes', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const buffer = new Probe()
        let expected: number[] = []
        const check = () => {
          expect(Array.from(buffer.take())).toEqual(expected)
          expected = []
        }
        for (const s of steps) {
          if ('take' in s) {
            check()
          } else if ('write' in s) {
            buffer.write(s.write)
            expected.push(...utf8.encode(s.write))
          } else {
            const [head, body, tail] = s.delta
            buffer.delta(head, body, tail)
            expected.push(...utf8.encode(`${head}${JSON.stringify(body)}${tail}`))
          }
          expect(buffer.size).toBe(expected.length)
        }
        check()
      }),
      { numRuns: 300 },
    )
  })

  it('keeps the bytes of every buffer apart when several write in turn (one staging area), and a taken chunk never changes', () => {
    const anyStep = fc.tuple(step, fc.nat({ max: 3 })).map(([s, on]) => ({ ...s, on }))
    fc.assert(
      fc.property(fc.array(anyStep, { maxLength: 60 }), (steps) => {
        const buffers = [new Probe(), new Probe(), new Probe(), new Probe()]
        const expected: number[][] = [[], [], [], []]
        const taken: Array<{ chunk: Uint8Array; bytes: number[] }> = []
        const take = (on: number) => {
          const chunk = (buffers[on] as Probe).take()
          expect(Array.from(chunk)).toEqual(expected[on])
          taken.push({ chunk, bytes: expected[on] as number[] })
          expected[on] = []
        }
        for (const s of steps) {
          const on = s.on ?? 0
          const buffer = buffers[on] as Probe
          if ('take' in s) take(on)
          else if ('write' in s) {
            buffer.write(s.write)
            ;(expected[on] as number[]).push(...utf8.encode(s.write))
          } else {
            const [head, body, tail] = s.delta
            buffer.delta(head, body, tail)
            ;(expected[on] as number[]).push(
              ...utf8.encode(`${head}${JSON.stringify(body)}${tail}`),
            )
          }
          expect(buffer.size).toBe((expected[on] as number[]).length)
        }
        for (let on = 0; on < buffers.length; on++) take(on)
        for (const { chunk, bytes } of taken) expect(Array.from(chunk)).toEqual(bytes)
      }),
      { numRuns: 300 },
    )
  })
})
