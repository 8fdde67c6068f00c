import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { AnswerEvent, AnswerMeta } from '../../../../src/server/engine/answer-event'
import { APIError } from '../../../../src/server/errors'
import { UIMessageStreamEncoder } from '../../../../src/server/protocols/ui-message-stream/ui-message-stream-encoder'
import { aiSdkChunks, aiSdkMessage } from './ai-sdk-reader'

const META: AnswerMeta = {
  id: 'chatcmpl-7',
  created: 1_700_000_000,
  model: '@cf/openai/gpt-oss-20b',
  cached: false,
}

function encode(events: AnswerEvent[], meta = META, messageId?: string): string {
  const encoder = new UIMessageStreamEncoder(meta, messageId)
  const decoder = new TextDecoder()
  let out = ''
  encoder.start()
  out += decoder.decode(encoder.take(), { stream: true })
  for (const event of events) {
    encoder.event(event)
    out += decoder.decode(encoder.take(), { stream: true })
  }
  return out + decoder.decode()
}

const data = (chunk: unknown) => `data: ${JSON.stringify(chunk)}\n\n`

const TOOL_ANSWER: AnswerEvent[] = [
  { type: 'reasoning', text: 'The user wants ' },
  { type: 'reasoning', text: 'the weather.' },
  { type: 'text', text: 'Let me check ' },
  { type: 'text', text: 'Paris.' },
  { type: 'tool-call-start', index: 0, id: 'call_1', name: 'get_weather', arguments: '{"city":' },
  { type: 'tool-call-delta', index: 0, arguments: '"Paris"}' },
  { type: 'tool-call-end', index: 0 },
  { type: 'usage', usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 } },
  { type: 'finish', reason: 'tool_calls' },
]

describe('UIMessageStreamEncoder', () => {
  it('writes a fixed answer as exactly these bytes (golden stream)', () => {
    expect(encode(TOOL_ANSWER)).toBe(
      [
        'data: {"type":"start","messageId":"chatcmpl-7"}\n\n',
        'data: {"type":"start-step"}\n\n',
        'data: {"type":"reasoning-start","id":"reasoning-0"}\n\n',
        'data: {"type":"reasoning-delta","id":"reasoning-0","delta":"The user wants "}\n\n',
        'data: {"type":"reasoning-delta","id":"reasoning-0","delta":"the weather."}\n\n',
        'data: {"type":"reasoning-end","id":"reasoning-0"}\n\n',
        'data: {"type":"text-start","id":"text-1"}\n\n',
        'data: {"type":"text-delta","id":"text-1","delta":"Let me check "}\n\n',
        'data: {"type":"text-delta","id":"text-1","delta":"Paris."}\n\n',
        'data: {"type":"text-end","id":"text-1"}\n\n',
        'data: {"type":"tool-input-start","toolCallId":"call_1","toolName":"get_weather"}\n\n',
        'data: {"type":"tool-input-delta","toolCallId":"call_1","inputTextDelta":"{\\"city\\":"}\n\n',
        'data: {"type":"tool-input-delta","toolCallId":"call_1","inputTextDelta":"\\"Paris\\"}"}\n\n',
        'data: {"type":"tool-input-available","toolCallId":"call_1","toolName":"get_weather","input":{"city":"Paris"}}\n\n',
        'data: {"type":"finish-step"}\n\n',
        'data: {"type":"finish","finishReason":"tool-calls","messageMetadata":{"model":"@cf/openai/gpt-oss-20b","cached":false,"usage":{"inputTokens":12,"outputTokens":9,"totalTokens":21}}}\n\n',
        'data: [DONE]\n\n',
      ].join(''),
    )
  })

  it('writes only chunks that ai 7 uiMessageChunkSchema accepts, in the order it expects', async () => {
    const chunks = await aiSdkChunks(encode(TOOL_ANSWER), 7)
    expect(chunks.map((c) => (c as { type: string }).type)).toEqual([
      'start',
      'start-step',
      'reasoning-start',
      'reasoning-delta',
      'reasoning-delta',
      'reasoning-end',
      'text-start',
      'text-delta',
      'text-delta',
      'text-end',
      'tool-input-start',
      'tool-input-delta',
      'tool-input-delta',
      'tool-input-available',
      'finish-step',
      'finish',
    ])
  })

  it('builds, in ai 7 readUIMessageStream, the assistant message with reasoning, text and a tool part', async () => {
    const message = await aiSdkMessage(encode(TOOL_ANSWER))
    expect(message?.id).toBe('chatcmpl-7')
    expect(message?.metadata).toEqual({
      model: '@cf/openai/gpt-oss-20b',
      cached: false,
      usage: { inputTokens: 12, outputTokens: 9, totalTokens: 21 },
    })
    expect(message?.parts).toMatchObject([
      { type: 'step-start' },
      { type: 'reasoning', text: 'The user wants the weather.', state: 'done' },
      { type: 'text', text: 'Let me check Paris.', state: 'done' },
      {
        type: 'tool-get_weather',
        toolCallId: 'call_1',
        state: 'input-available',
        input: { city: 'Paris' },
      },
    ])
  })

  it('starts a new text part after a tool call, and streams into the given assistant message id', async () => {
    const events: AnswerEvent[] = [
      { type: 'text', text: 'before' },
      { type: 'tool-call-start', index: 0, id: 'c', name: 'look', arguments: '' },
      { type: 'tool-call-end', index: 0 },
      { type: 'text', text: 'after' },
      { type: 'finish', reason: 'stop' },
    ]
    const message = await aiSdkMessage(encode(events, META, 'msg-assistant-1'))
    expect(message?.id).toBe('msg-assistant-1')
    expect(
      message?.parts.map((p) => [p.type, 'text' in p ? p.text : (p as { input?: unknown }).input]),
    ).toEqual([
      ['step-start', undefined],
      ['text', 'before'],
      ['tool-look', {}],
      ['text', 'after'],
    ])
  })

  it('answers tool arguments that are not JSON with tool-input-error, which useChat shows as the tool part error', async () => {
    const events: AnswerEvent[] = [
      { type: 'tool-call-start', index: 0, id: 'c', name: 'look', arguments: '{"a":' },
      { type: 'tool-call-end', index: 0 },
      { type: 'finish', reason: 'tool_calls' },
    ]
    const message = await aiSdkMessage(encode(events))
    expect(message?.parts[1]).toMatchObject({
      type: 'tool-look',
      state: 'output-error',
      input: '{"a":',
    })
    expect((message!.parts[1] as { errorText: string }).errorText).toMatch(
      /^The model's input for look is not valid JSON/,
    )
  })

  it("is read the same by ai 7 with the pipeline's `: ping` heartbeat comments between chunks", async () => {
    const bytes = encode(TOOL_ANSWER)
    const pinged = `: ping\n\n${bytes.replaceAll('\n\n', '\n\n: ping\n\n')}`
    expect(await aiSdkChunks(pinged, 5)).toEqual(await aiSdkChunks(bytes))
  })

  it('marks a cached answer in the finish metadata and maps length and content_filter', () => {
    const cached = encode(
      [
        { type: 'text', text: 'x' },
        { type: 'finish', reason: 'length' },
      ],
      {
        ...META,
        cached: true,
      },
    )
    expect(cached).toContain(
      data({
        type: 'finish',
        finishReason: 'length',
        messageMetadata: { model: META.model, cached: true },
      }),
    )
    expect(encode([{ type: 'finish', reason: 'content_filter' }])).toContain(
      '"finishReason":"content-filter"',
    )
  })

  it('sends a failure after the start as an error chunk and [DONE], which ai 7 reports with its text', async () => {
    const encoder = new UIMessageStreamEncoder(META)
    encoder.start()
    encoder.event({ type: 'text', text: 'partial' })
    encoder.error(
      new APIError('The upstream stream ended early.', { status: 502, type: 'upstream_error' }),
    )
    const bytes = new TextDecoder().decode(encoder.take())
    expect(
      bytes.endsWith(
        `${data({ type: 'error', errorText: 'The upstream stream ended early.' })}data: [DONE]\n\n`,
      ),
    ).toBe(true)
    const errors: unknown[] = []
    const message = await aiSdkMessage(bytes, (e) => errors.push(e))
    expect((errors[0] as Error).message).toBe('The upstream stream ended early.')
    expect(message?.parts).toContainEqual({ type: 'text', text: 'partial', state: 'streaming' })
  })

  it('writes only an error chunk and [DONE] for a failure before start()', () => {
    const encoder = new UIMessageStreamEncoder(META)
    encoder.error(new APIError('Upstream timed out.', { status: 504, type: 'timeout_error' }))
    expect(new TextDecoder().decode(encoder.take())).toBe(
      'data: {"type":"error","errorText":"Upstream timed out."}\n\ndata: [DONE]\n\n',
    )
  })

  it('carries any text (quotes, newlines, emoji, lone surrogates) to the same final message in ai 7, however the bytes are split', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), { maxLength: 8 }),
        fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 4 }),
        fc.integer({ min: 1, max: 64 }),
        async (texts, reasoning, split) => {
          const events: AnswerEvent[] = [
            ...reasoning.map((text) => ({ type: 'reasoning' as const, text })),
            ...texts.map((text) => ({ type: 'text' as const, text })),
            { type: 'finish', reason: 'stop' },
          ]
          const bytes = encode(events)
          const chunks = await aiSdkChunks(bytes, split)
          const deltas = (type: string) =>
            chunks
              .filter((c) => (c as { type: string }).type === type)
              .map((c) => (c as { delta: string }).delta)
              .join('')
          // Lone surrogates become U+FFFD in UTF-8, exactly as TextEncoder would write them.
          const utf8 = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s))
          expect(deltas('text-delta')).toBe(utf8(texts.join('')))
          expect(deltas('reasoning-delta')).toBe(utf8(reasoning.join('')))
          expect(bytes.endsWith('data: [DONE]\n\n')).toBe(true)
        },
      ),
      { numRuns: 40 },
    )
  })
})
