import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nativeFrameText } from '../../../../src/server/providers/wire/native-frame'

/** What onFrame reads as text from a parsed frame, when the frame has nothing else in it. */
function textByJSONParse(data: string): string | undefined {
  let frame: unknown
  try {
    frame = JSON.parse(data)
  } catch {
    return undefined
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return undefined
  const keys = Object.keys(frame)
  const record = frame as Record<string, unknown>
  const onlyResponseAndPadding =
    keys.includes('response') && keys.every((key) => key === 'response' || key === 'p')
  return onlyResponseAndPadding && typeof record.response === 'string' ? record.response : undefined
}

/** Every kind of UTF-16 unit: ASCII, controls, quotes, backslashes, BMP, pairs and lone surrogates. */
const anyText = fc.string({ unit: 'binary', maxLength: 40 })

/** Strings near the fast path's grammar: its own pieces, shuffled and mixed with troublemakers. */
const nearFrame = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '{"response":"',
        '","p":"',
        '"}',
        '"',
        '}',
        '{',
        ',',
        ':',
        ' ',
        '\\',
        '\\"',
        '\\n',
        '\\u0041',
        '\\ud83d',
        '\n',
        '\u0000',
        '\u001f',
        '\u2028',
        'é',
        '👋',
        '\ud800',
        'p',
        'response',
        ',"usage":{}',
      ),
      fc.string({ maxLength: 4 }),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''))

describe('nativeFrameText (the JSON.parse-free path for {"response","p"} frames)', () => {
  it('agrees with JSON.parse on every string it answers for', () => {
    fc.assert(
      fc.property(fc.oneof(nearFrame, fc.string({ unit: 'binary' })), (data) => {
        const fast = nativeFrameText(data)
        if (fast !== undefined) expect(fast).toBe(textByJSONParse(data))
      }),
      { numRuns: 20_000 },
    )
  })

  it('gives the JSON.parse result for frames as Workers AI writes them, or leaves them to it', () => {
    fc.assert(
      fc.property(anyText, fc.option(anyText, { nil: undefined }), (response, p) => {
        const data = JSON.stringify(p === undefined ? { response } : { response, p })
        const fast = nativeFrameText(data)
        if (fast !== undefined) expect(fast).toBe(response)
        // Only an escape (a quote, a backslash, a control character, a lone surrogate) needs JSON.parse.
        const plain = (s: string) => JSON.stringify(s) === `"${s}"`
        if (plain(response) && (p === undefined || plain(p))) expect(fast).toBe(response)
      }),
      { numRuns: 5000 },
    )
  })

  it('leaves every other frame shape to JSON.parse', () => {
    for (const data of [
      '{"response":"a","p":"b","usage":{}}',
      '{"p":"b","response":"a"}',
      '{ "response":"a"}',
      '{"response":"a" }',
      '{"response":"a\\nb"}',
      '{"response":"a"}}',
      '{"response":"a","p":"b"',
      '{"response":"a","p":"b\u0001"}',
      '{"response":"a\u001f"}',
      '{"response":""',
      '{"response":1}',
      '{"response":"a","response":"b"}',
    ]) {
      expect(nativeFrameText(data), data).toBeUndefined()
    }
    expect(nativeFrameText('{"response":""}')).toBe('')
    expect(nativeFrameText('{"response":"é 👋 \u2028","p":"xyz"}')).toBe('é 👋 \u2028')
  })
})
