import type { BaseEvent, Message } from '@ag-ui/client'
import { HttpAgent } from '@ag-ui/client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { AnswerEvent, AnswerMeta } from '../../../../src/server/engine/answer-event'
import { APIError } from '../../../../src/server/errors'
import { AgUiEncoder } from '../../../../src/server/protocols/ag-ui/ag-ui-encoder'
import type { AgUiContext } from '../../../../src/server/protocols/ag-ui/decode-run-agent-input'

const META: AnswerMeta = {
  id: 'chatcmpl-abc',
  created: 1_700_000_000,
  model: '@cf/m',
  cached: false,
}
const RUN: AgUiContext = { threadId: 't-123', runId: 'r-456', thinkingEvents: false }
const decoder = new TextDecoder()

function encode(events: AnswerEvent[], context: AgUiContext = RUN): string {
  const encoder = new AgUiEncoder(META, context)
  encoder.start()
  for (const event of events) encoder.event(event)
  return decoder.decode(encoder.take())
}

const usage = { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 }

/**
 * Runs the real `HttpAgent` (its SSE parser, schemas and verifier) over these body chunks, served
 * by an in-memory fetch: what a CopilotKit app would see from these bytes.
 */
async function runClient(chunks: Uint8Array[]) {
  const agent = new HttpAgent({
    url: 'http://agent.test/run',
    threadId: RUN.threadId,
    fetch: async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(chunk)
            controller.close()
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      ),
  })
  const events: BaseEvent[] = []
  let failure: unknown
  await agent
    .runAgent({ runId: RUN.runId }, { onEvent: ({ event }) => void events.push(event) })
    .catch((error: unknown) => {
      failure = error
    })
  return { events, messages: agent.messages as Message[], failure }
}

describe('AgUiEncoder (AnswerEvents → AG-UI SSE)', () => {
  it('writes the exact bytes of a run with reasoning, text, a tool call and usage', () => {
    const bytes = encode([
      { type: 'reasoning', text: 'The user wants ' },
      { type: 'reasoning', text: 'weather.' },
      { type: 'text', text: 'Let me ' },
      { type: 'text', text: 'check.' },
      { type: 'tool-call-start', index: 0, id: 'c1', name: 'get_weather', arguments: '{"ci' },
      { type: 'tool-call-delta', index: 0, arguments: 'ty":"London"}' },
      { type: 'tool-call-end', index: 0 },
      { type: 'usage', usage },
      { type: 'finish', reason: 'tool_calls' },
    ])
    expect(bytes).toBe(
      [
        '{"type":"RUN_STARTED","threadId":"t-123","runId":"r-456"}',
        '{"type":"REASONING_START","messageId":"chatcmpl-abc-reasoning"}',
        '{"type":"REASONING_MESSAGE_START","messageId":"chatcmpl-abc-reasoning","role":"reasoning"}',
        '{"type":"REASONING_MESSAGE_CONTENT","messageId":"chatcmpl-abc-reasoning","delta":"The user wants "}',
        '{"type":"REASONING_MESSAGE_CONTENT","messageId":"chatcmpl-abc-reasoning","delta":"weather."}',
        '{"type":"REASONING_MESSAGE_END","messageId":"chatcmpl-abc-reasoning"}',
        '{"type":"REASONING_END","messageId":"chatcmpl-abc-reasoning"}',
        '{"type":"TEXT_MESSAGE_START","messageId":"chatcmpl-abc","role":"assistant"}',
        '{"type":"TEXT_MESSAGE_CONTENT","messageId":"chatcmpl-abc","delta":"Let me "}',
        '{"type":"TEXT_MESSAGE_CONTENT","messageId":"chatcmpl-abc","delta":"check."}',
        '{"type":"TEXT_MESSAGE_END","messageId":"chatcmpl-abc"}',
        '{"type":"TOOL_CALL_START","toolCallId":"c1","toolCallName":"get_weather","parentMessageId":"chatcmpl-abc"}',
        '{"type":"TOOL_CALL_ARGS","toolCallId":"c1","delta":"{\\"ci"}',
        '{"type":"TOOL_CALL_ARGS","toolCallId":"c1","delta":"ty\\":\\"London\\"}"}',
        '{"type":"TOOL_CALL_END","toolCallId":"c1"}',
        '{"type":"RUN_FINISHED","threadId":"t-123","runId":"r-456","usage":[{"model":"@cf/m","inputTokens":12,"outputTokens":7,"totalTokens":19}]}',
      ]
        .map((json) => `data: ${json}\n\n`)
        .join(''),
    )
  })

  it('never writes an empty delta, and closes the text message before RUN_FINISHED', () => {
    const bytes = encode([
      { type: 'text', text: '' },
      { type: 'reasoning', text: '' },
      { type: 'text', text: 'Hi' },
      { type: 'tool-call-start', index: 0, id: 'c1', name: 'noop', arguments: '' },
      { type: 'tool-call-end', index: 0 },
      { type: 'finish', reason: 'stop' },
    ])
    expect(bytes).toBe(
      [
        '{"type":"RUN_STARTED","threadId":"t-123","runId":"r-456"}',
        '{"type":"TEXT_MESSAGE_START","messageId":"chatcmpl-abc","role":"assistant"}',
        '{"type":"TEXT_MESSAGE_CONTENT","messageId":"chatcmpl-abc","delta":"Hi"}',
        '{"type":"TEXT_MESSAGE_END","messageId":"chatcmpl-abc"}',
        '{"type":"TOOL_CALL_START","toolCallId":"c1","toolCallName":"noop","parentMessageId":"chatcmpl-abc"}',
        '{"type":"TOOL_CALL_END","toolCallId":"c1"}',
        '{"type":"RUN_FINISHED","threadId":"t-123","runId":"r-456"}',
      ]
        .map((json) => `data: ${json}\n\n`)
        .join(''),
    )
    expect(bytes).not.toContain('"delta":""')
  })

  it('echoes parentRunId in RUN_STARTED and escapes ids as JSON', () => {
    const encoder = new AgUiEncoder(
      { ...META, id: 'a"b' },
      { threadId: 't\n1', runId: 'r', parentRunId: 'p-0', thinkingEvents: false },
    )
    encoder.start()
    encoder.event({ type: 'text', text: 'x' })
    expect(decoder.decode(encoder.take())).toBe(
      'data: {"type":"RUN_STARTED","threadId":"t\\n1","runId":"r","parentRunId":"p-0"}\n\n' +
        'data: {"type":"TEXT_MESSAGE_START","messageId":"a\\"b","role":"assistant"}\n\n' +
        'data: {"type":"TEXT_MESSAGE_CONTENT","messageId":"a\\"b","delta":"x"}\n\n',
    )
  })

  it('ends a failed run with RUN_ERROR carrying the message and the upstream code', () => {
    const encoder = new AgUiEncoder(META, RUN)
    encoder.start()
    encoder.event({ type: 'text', text: 'Hel' })
    encoder.take()
    encoder.error(
      new APIError('Workers AI 429: capacity', {
        status: 429,
        type: 'rate_limit_error',
        code: '3040',
      }),
    )
    expect(decoder.decode(encoder.take())).toBe(
      'data: {"type":"RUN_ERROR","message":"Workers AI 429: capacity","code":"3040"}\n\n',
    )
    encoder.error(new APIError('boom', { status: 502, type: 'upstream_error' }))
    expect(decoder.decode(encoder.take())).toBe(
      'data: {"type":"RUN_ERROR","message":"boom","code":"upstream_error"}\n\n',
    )
  })

  it('marks RUN_FINISHED of a cached answer with metadata, and only then', () => {
    const cached = new AgUiEncoder({ ...META, cached: true }, RUN)
    cached.event({ type: 'finish', reason: 'stop' })
    expect(decoder.decode(cached.take())).toBe(
      'data: {"type":"RUN_FINISHED","threadId":"t-123","runId":"r-456","metadata":{"copilotedge":{"cached":true}}}\n\n',
    )
    expect(encode([{ type: 'finish', reason: 'stop' }])).not.toContain('metadata')
  })

  it('leaves out usage figures the TokenUsage schema would reject', () => {
    const bytes = encode([
      { type: 'usage', usage: { prompt_tokens: 3, completion_tokens: 1.5, total_tokens: -1 } },
      { type: 'finish', reason: 'stop' },
    ])
    expect(
      bytes.endsWith(
        'data: {"type":"RUN_FINISHED","threadId":"t-123","runId":"r-456","usage":[{"model":"@cf/m","inputTokens":3}]}\n\n',
      ),
    ).toBe(true)
  })
})

describe('AgUiEncoder for clients before AG-UI 1.0 (no protocolVersion)', () => {
  it('writes reasoning as the THINKING_* events those clients know', () => {
    const bytes = encode(
      [
        { type: 'reasoning', text: 'Hmm.' },
        { type: 'text', text: 'Hi' },
        { type: 'finish', reason: 'stop' },
      ],
      { ...RUN, thinkingEvents: true },
    )
    expect(bytes).toBe(
      [
        '{"type":"RUN_STARTED","threadId":"t-123","runId":"r-456"}',
        '{"type":"THINKING_START"}',
        '{"type":"THINKING_TEXT_MESSAGE_START"}',
        '{"type":"THINKING_TEXT_MESSAGE_CONTENT","delta":"Hmm."}',
        '{"type":"THINKING_TEXT_MESSAGE_END"}',
        '{"type":"THINKING_END"}',
        '{"type":"TEXT_MESSAGE_START","messageId":"chatcmpl-abc","role":"assistant"}',
        '{"type":"TEXT_MESSAGE_CONTENT","messageId":"chatcmpl-abc","delta":"Hi"}',
        '{"type":"TEXT_MESSAGE_END","messageId":"chatcmpl-abc"}',
        '{"type":"RUN_FINISHED","threadId":"t-123","runId":"r-456"}',
      ]
        .map((json) => `data: ${json}\n\n`)
        .join(''),
    )
  })

  it('stays readable by a 1.0 client, which translates THINKING_* to a reasoning message', async () => {
    const encoder = new AgUiEncoder(META, { ...RUN, thinkingEvents: true })
    encoder.start()
    encoder.event({ type: 'reasoning', text: 'Hmm.' })
    encoder.event({ type: 'text', text: 'Hi' })
    encoder.event({ type: 'finish', reason: 'stop' })
    const previous = process.env.SUPPRESS_TRANSFORMATION_WARNINGS
    process.env.SUPPRESS_TRANSFORMATION_WARNINGS = 'true'
    try {
      const { messages, failure } = await runClient([encoder.take()])
      expect(failure).toBeUndefined()
      expect(messages.map((m) => [m.role, m.content])).toEqual([
        ['reasoning', 'Hmm.'],
        ['assistant', 'Hi'],
      ])
    } finally {
      if (previous === undefined) delete process.env.SUPPRESS_TRANSFORMATION_WARNINGS
      else process.env.SUPPRESS_TRANSFORMATION_WARNINGS = previous
    }
  })
})

describe('AgUiEncoder bytes read by the real @ag-ui/client HttpAgent', () => {
  it('gives the client the text, the reasoning, the tool call and the usage, with the verifier on', async () => {
    const encoder = new AgUiEncoder(META, RUN)
    encoder.start()
    encoder.event({ type: 'reasoning', text: 'thinking' })
    encoder.event({ type: 'text', text: 'Let me check.' })
    encoder.event({
      type: 'tool-call-start',
      index: 0,
      id: 'c1',
      name: 'get_weather',
      arguments: '',
    })
    encoder.event({ type: 'tool-call-delta', index: 0, arguments: '{"city":"London"}' })
    encoder.event({ type: 'tool-call-end', index: 0 })
    encoder.event({ type: 'usage', usage })
    encoder.event({ type: 'finish', reason: 'tool_calls' })
    const { events, messages, failure } = await runClient([encoder.take()])
    expect(failure).toBeUndefined()
    expect(events.at(-1)).toMatchObject({
      type: 'RUN_FINISHED',
      usage: [{ inputTokens: 12, outputTokens: 7, totalTokens: 19 }],
    })
    expect(messages).toEqual([
      { id: 'chatcmpl-abc-reasoning', role: 'reasoning', content: 'thinking' },
      {
        id: 'chatcmpl-abc',
        role: 'assistant',
        content: 'Let me check.',
        toolCalls: [
          {
            id: 'c1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"London"}' },
          },
        ],
      },
    ])
  })

  it('ignores `: ping` heartbeat comments between events, wherever the chunks split', async () => {
    const encoder = new AgUiEncoder(META, RUN)
    const pieces: string[] = []
    encoder.start()
    pieces.push(decoder.decode(encoder.take()), ': ping\n\n')
    encoder.event({ type: 'text', text: 'Hello' })
    pieces.push(decoder.decode(encoder.take()), ': ping\n\n', ': ping\n\n')
    encoder.event({ type: 'text', text: ' world' })
    encoder.event({ type: 'finish', reason: 'stop' })
    pieces.push(decoder.decode(encoder.take()))
    const bytes = new TextEncoder().encode(pieces.join(''))
    // One byte per chunk: every split point, including inside `: ping` and inside `\n\n`.
    const chunks = Array.from(bytes, (byte) => Uint8Array.of(byte))
    const { events, messages, failure } = await runClient(chunks)
    expect(failure).toBeUndefined()
    expect(events.map((e) => e.type)).toEqual([
      'RUN_STARTED',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'RUN_FINISHED',
    ])
    expect(messages).toEqual([{ id: 'chatcmpl-abc', role: 'assistant', content: 'Hello world' }])
  })

  it('turns a failure into RUN_ERROR that the client accepts, never RUN_FINISHED', async () => {
    const encoder = new AgUiEncoder(META, RUN)
    encoder.start()
    encoder.event({ type: 'text', text: 'Hel' })
    encoder.error(new APIError('upstream dropped', { status: 502, type: 'upstream_error' }))
    const { events, failure } = await runClient([encoder.take()])
    expect(failure).toBeUndefined()
    expect(events.map((e) => e.type)).toEqual([
      'RUN_STARTED',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'RUN_ERROR',
    ])
    expect(events.at(-1)).toMatchObject({ message: 'upstream dropped', code: 'upstream_error' })
  })

  it('is accepted with RUN_ERROR alone, when the failure comes before start()', async () => {
    const encoder = new AgUiEncoder(META, RUN)
    encoder.error(new APIError('no answer', { status: 504, type: 'timeout_error' }))
    const { events, failure } = await runClient([encoder.take()])
    expect(failure).toBeUndefined()
    expect(events).toEqual([{ type: 'RUN_ERROR', message: 'no answer', code: 'timeout_error' }])
  })
})

/** Any answer the AnswerEvent contract allows: text, reasoning and tool calls interleaved. */
const answer: fc.Arbitrary<AnswerEvent[]> = fc
  .record({
    steps: fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('text' as const), text: fc.string({ unit: 'binary' }) }),
        fc.record({ kind: fc.constant('reasoning' as const), text: fc.string({ unit: 'binary' }) }),
        fc.record({
          kind: fc.constant('call' as const),
          name: fc.string({ minLength: 1 }),
          first: fc.string(),
          rest: fc.array(fc.string({ minLength: 1 }), { maxLength: 3 }),
        }),
      ),
      { maxLength: 12 },
    ),
    usage: fc.boolean(),
  })
  .map(({ steps, usage: withUsage }) => {
    const events: AnswerEvent[] = []
    let index = 0
    for (const step of steps) {
      if (step.kind === 'call') {
        const i = index++
        events.push({
          type: 'tool-call-start',
          index: i,
          id: `call_${i}`,
          name: step.name,
          arguments: step.first,
        })
        for (const part of step.rest)
          events.push({ type: 'tool-call-delta', index: i, arguments: part })
        events.push({ type: 'tool-call-end', index: i })
      } else {
        events.push({ type: step.kind, text: step.text })
      }
    }
    if (withUsage) events.push({ type: 'usage', usage })
    events.push({ type: 'finish', reason: index > 0 ? 'tool_calls' : 'stop' })
    return events
  })

describe('AgUiEncoder property', () => {
  it('for any answer and any chunking, the real client verifies the run and rebuilds the same text and calls', async () => {
    await fc.assert(
      fc.asyncProperty(answer, fc.array(fc.nat(), { maxLength: 6 }), async (events, cuts) => {
        const encoder = new AgUiEncoder(META, RUN)
        encoder.start()
        for (const event of events) encoder.event(event)
        const bytes = encoder.take()
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
        const chunks: Uint8Array[] = []
        let from = 0
        for (const point of [...points, bytes.length]) {
          chunks.push(bytes.subarray(from, point))
          from = point
        }
        const { events: seen, messages, failure } = await runClient(chunks)
        expect(failure).toBeUndefined()
        expect(seen.at(-1)?.type).toBe('RUN_FINISHED')
        const text = events.map((e) => (e.type === 'text' ? e.text : '')).join('')
        const reasoning = events.map((e) => (e.type === 'reasoning' ? e.text : '')).join('')
        const calls = events.flatMap((e) =>
          e.type === 'tool-call-start' ? [{ id: e.id, name: e.name }] : [],
        )
        const assistant = messages.find((m) => m.role === 'assistant') as
          | {
              content?: string
              toolCalls?: Array<{ id: string; function: { name: string; arguments: string } }>
            }
          | undefined
        expect(assistant?.content ?? '').toBe(text)
        expect(
          (messages.find((m) => m.role === 'reasoning')?.content as string | undefined) ?? '',
        ).toBe(reasoning)
        expect(
          (assistant?.toolCalls ?? []).map((c) => ({ id: c.id, name: c.function.name })),
        ).toEqual(calls)
        for (const call of assistant?.toolCalls ?? []) {
          const args = events
            .map((e) =>
              e.type === 'tool-call-start' && e.id === call.id
                ? e.arguments
                : e.type === 'tool-call-delta' && `call_${e.index}` === call.id
                  ? e.arguments
                  : '',
            )
            .join('')
          expect(call.function.arguments).toBe(args)
        }
      }),
      { numRuns: 100 },
    )
  })
})
