import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ContentTemplate } from '../../../../src/server/providers/wire/content-template'
import { normalizeStream } from '../../../../src/server/providers/wire/normalize-stream'
import { collectUntilError, recordedBody, splitBytes } from '../helpers'

const encoder = new TextEncoder()

const head = (id: string) =>
  `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":`
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 6 }),
  // 'same' is what the trap chunks below write in their other `content`.
  fc.constantFrom('', 'a', ' b', 'é', '👋', '"', '\\', '\n', 'same'),
)

/** Chunks as OpenAI-compatible servers write them, and ones built to fool a template. */
const frame = fc.oneof(
  {
    weight: 8,
    arbitrary: anyText.map(
      (t) =>
        `${head('c1')}{"content":${JSON.stringify(t)}},"logprobs":null,"finish_reason":null}]}`,
    ),
  },
  {
    weight: 2,
    arbitrary: anyText.map(
      (t) => `${head('c2')}{"content":${JSON.stringify(t)}},"finish_reason":null}]}`,
    ),
  },
  {
    weight: 1,
    arbitrary: anyText.map(
      (t) =>
        `${head('c1')}{"content":${JSON.stringify(t)}},"finish_reason":null}],"usage":{"prompt_tokens":1,"completion_tokens":${t.length},"total_tokens":${t.length + 1}}}`,
    ),
  },
  {
    weight: 1,
    arbitrary: anyText.map(
      (t) =>
        `${head('c1')}{"content":"x","reasoning_content":${JSON.stringify(t)}},"finish_reason":null}]}`,
    ),
  },
  {
    weight: 1,
    arbitrary: anyText.map(
      (t) => `${head('c1')}{"content":"","reasoning":${JSON.stringify(t)}},"finish_reason":null}]}`,
    ),
  },
  {
    weight: 1,
    arbitrary: anyText.map(
      (t) => `${head('c1')}{"content":${JSON.stringify(t)}},"finish_reason":"length"}]}`,
    ),
  },
  {
    weight: 1,
    arbitrary: anyText.map(
      (t) =>
        `${head('c1')}{"content":"x","tool_calls":[{"index":0,"id":"t","type":"function","function":{"name":"f","arguments":${JSON.stringify(t)}}}]},"finish_reason":null}]}`,
    ),
  },
  // Another `content` key, escaped key names, duplicate keys, native frames with a content key.
  {
    weight: 1,
    arbitrary: anyText.map(
      (t) =>
        `{"x":{"content":${JSON.stringify(t)}},${head('c1').slice(1)}{"content":"same"},"finish_reason":null}]}`,
    ),
  },
  {
    weight: 1,
    arbitrary: anyText.map(
      (t) =>
        `{"x":{"content":${JSON.stringify(t)}},${head('c1').slice(1)}{"\\u0063ontent":"same"},"finish_reason":null}]}`,
    ),
  },
  {
    weight: 1,
    arbitrary: anyText.map(
      (t) => `${head('c1')}{"content":null,"content":${JSON.stringify(t)}},"finish_reason":null}]}`,
    ),
  },
  {
    weight: 1,
    arbitrary: anyText.map(
      (t) => `${head('c1')}{"content":${JSON.stringify(t)},"content":null},"finish_reason":null}]}`,
    ),
  },
  {
    weight: 1,
    arbitrary: anyText.map((t) => `{"response":"same","content":${JSON.stringify(t)}}`),
  },
  { weight: 1, arbitrary: anyText.map((t) => `{"response":${JSON.stringify(t)},"p":"x"}`) },
)

/** The reference: the same JSON with a different run of spaces after `{` in every frame, so no
 * frame is shaped like another (no template applies) and none is a plain native frame. */
function body(frames: string[], unique: boolean): string {
  const ending = 'data: [DONE]\n\n'
  return (
    frames
      .map((f, i) => `data: ${unique ? `{${' '.repeat(i + 1)}${f.slice(1)}` : f}\n\n`)
      .join('') + ending
  )
}

describe('ContentTemplate (OpenAI content chunks without JSON.parse)', () => {
  it('gives the same events as JSON.parse of every chunk, for any chunks split anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(frame, { maxLength: 16 }),
        fc.array(fc.nat(), { maxLength: 16 }),
        async (frames, rawOffsets) => {
          const bytes = encoder.encode(body(frames, false))
          const parts = splitBytes(
            bytes,
            rawOffsets.map((o) => o % (bytes.length + 1)),
          )
          const expected = await collectUntilError(
            normalizeStream(recordedBody([body(frames, true)]).stream),
          )
          const actual = await collectUntilError(normalizeStream(recordedBody(parts).stream))
          // Generated tool-call ids are random when absent; these frames always carry one.
          expect(actual).toEqual(expected)
        },
      ),
      { numRuns: 1500 },
    )
  })

  it('learns from a plain chunk and reads the next one like it', () => {
    const template = new ContentTemplate()
    const chunk = (t: string) =>
      `${head('c')}{"content":${JSON.stringify(t)}},"finish_reason":null}]}`
    expect(template.match(chunk('b'))).toBeUndefined()
    template.learn(chunk('a'), 'a')
    expect(template.match(chunk('b c é 👋'))).toBe('b c é 👋')
    expect(template.match(chunk(''))).toBe('')
    expect(template.match(chunk('"'))).toBeUndefined()
    expect(template.match(chunk('\n'))).toBeUndefined()
    expect(
      template.match(`${head('other')}{"content":"b"},"finish_reason":null}]}`),
    ).toBeUndefined()
  })

  it('learns nothing from a chunk with an escape, or more than one "content"', () => {
    const escaped = new ContentTemplate()
    escaped.learn(`${head('c')}{"content":"a\\n"},"finish_reason":null}]}`, 'a\n')
    escaped.learn(`${head('c\\u0031')}{"content":"a"},"finish_reason":null}]}`, 'a')
    expect(escaped.match(`${head('c')}{"content":"b"},"finish_reason":null}]}`)).toBeUndefined()
    expect(
      escaped.match(`${head('c\\u0031')}{"content":"b"},"finish_reason":null}]}`),
    ).toBeUndefined()
    const twice = new ContentTemplate()
    const trap = (t: string) =>
      `${head('c')}{"content":"a"},"finish_reason":null}],"x":{"content":"${t}"}}`
    twice.learn(trap('a'), 'a')
    expect(twice.match(trap('b'))).toBeUndefined()
  })
})
