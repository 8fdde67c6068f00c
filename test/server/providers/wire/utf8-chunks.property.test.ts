import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { endsWhole, Utf8Chunks } from '../../../../src/server/providers/wire/utf8-chunks'
import { splitBytes } from '../helpers'

/**
 * The reference: what one streaming TextDecoder over the same reads must give, i.e. the whole
 * bytes decoded at once (the split never changes the text). Not a streaming TextDecoder itself:
 * Node 24's strips a second BOM when the first one is split across reads (EF | BB BF EF BB BF
 * gives '' instead of '\uFEFF'), against the Encoding standard (one BOM, the first).
 */
function streaming(parts: Uint8Array[]): string {
  const whole = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
  let at = 0
  for (const part of parts) {
    whole.set(part, at)
    at += part.length
  }
  return new TextDecoder().decode(whole)
}

function ours(parts: Uint8Array[]): string {
  const decoder = new Utf8Chunks()
  let text = ''
  for (const part of parts) text += decoder.decode(part)
  return text + decoder.end()
}

const encoder = new TextEncoder()

/** Bytes that exercise UTF-8: valid text of every width, BOMs, and invalid or cut sequences. */
const utf8ish = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => [...encoder.encode(s)]),
      fc.constantFrom(
        [0xef, 0xbb, 0xbf],
        [0xf0, 0x9f, 0x91, 0x8b],
        [0xf0, 0x9f],
        [0xe3, 0x81],
        [0xc3],
        [0x80],
        [0xbf, 0xbf, 0xbf],
        [0xc0, 0x80],
        [0xed, 0xa0, 0x80],
        [0xf4, 0x90, 0x80, 0x80],
        [0xf8],
        [0xff],
      ),
      fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }),
    ),
    { maxLength: 16 },
  )
  .map((pieces) => Uint8Array.from(pieces.flat()))

describe('Utf8Chunks (non-streaming decode where nothing is carried over)', () => {
  it('decodes any bytes, split anywhere, as one streaming TextDecoder does', () => {
    fc.assert(
      fc.property(utf8ish, fc.array(fc.nat(), { maxLength: 12 }), (bytes, rawOffsets) => {
        const parts = splitBytes(
          bytes,
          rawOffsets.map((o) => o % (bytes.length + 1)),
        )
        expect(ours(parts)).toBe(streaming(parts))
      }),
      { numRuns: 5000 },
    )
  })

  it('decodes any bytes read one byte at a time as one streaming TextDecoder does', () => {
    fc.assert(
      fc.property(utf8ish, (bytes) => {
        const parts = [...bytes].map((byte) => Uint8Array.of(byte))
        expect(ours(parts)).toBe(streaming(parts))
      }),
      { numRuns: 2000 },
    )
  })

  it('keeps a byte order mark that is not at the start of the body, and drops the first one', () => {
    const bom = [0xef, 0xbb, 0xbf]
    const parts = [Uint8Array.from([...bom, 0x61]), Uint8Array.from([...bom, 0x62])]
    expect(ours(parts)).toBe('a\ufeffb')
    expect(ours(parts)).toBe(streaming(parts))
  })

  it('says a chunk ends whole only when a streaming decode would carry nothing over', () => {
    expect(endsWhole(encoder.encode('abc'))).toBe(true)
    expect(endsWhole(encoder.encode('é👋'))).toBe(true)
    expect(endsWhole(Uint8Array.of(0x61, 0xf0, 0x9f, 0x91))).toBe(false)
    expect(endsWhole(Uint8Array.of(0x61, 0xe3))).toBe(false)
    // Continuation bytes alone may finish what the previous chunk started, or not.
    expect(endsWhole(Uint8Array.of(0x91))).toBe(false)
    expect(endsWhole(new Uint8Array(0))).toBe(false)
  })
})
