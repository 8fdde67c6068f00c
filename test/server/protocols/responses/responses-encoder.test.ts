import { readFileSync } from 'node:fs'
import { createParser } from 'eventsource-parser'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../../../src/server/config'
import type { AnswerEvent, AnswerMeta } from '../../../../src/server/engine/answer-event'
import { APIError } from '../../../../src/server/errors'
import { decodeResponsesRequest } from '../../../../src/server/protocols/responses/decode-responses-request'
import { toResponse } from '../../../../src/server/protocols/responses/response-object'
import { ResponsesEncoder } from '../../../../src/server/protocols/responses/responses-encoder'
import { aiSdkOver, openaiOver } from './responses-clients'

const META: AnswerMeta = { id: 'chatcmpl-0123abcd', created: 1767225600, model: 'm', cached: false }
const GOLDEN = new URL('./golden/reasoning-text-tool-call.sse', import.meta.url)

function decoded() {
  return decodeResponsesRequest(
    {
      input: 'Weather in Paris?',
      tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' } }],
    },
    resolveConfig({ model: 'm' }),
  )
}

/** The bytes the encoder writes for `events` (start, each event, one take). */
function encode(events: AnswerEvent[], failure?: APIError): string {
  const encoder = new ResponsesEncoder(META, decoded())
  encoder.start()
  for (const event of events) encoder.event(event)
  if (failure) encoder.error(failure)
  return new TextDecoder().decode(encoder.take())
}

// biome-ignore lint/suspicious/noExplicitAny: JSON parsed from the wire, asserted field by field
type Json = Record<string, any>

/** Every SSE event as eventsource-parser reads it: its `event:` name and parsed `data`. */
function sseEvents(text: string): Array<{ event: string | undefined; data: Json }> {
  const events: Array<{ event: string | undefined; data: Json }> = []
  const parser = createParser({
    onEvent: (e) => events.push({ event: e.event, data: JSON.parse(e.data) }),
  })
  parser.feed(text)
  return events
}

/**
 * The openai client's final response without what the client itself adds (`output_text`, and
 * `output_parsed`/`parsed`/`parsed_arguments` from its structured-output helper): what the server sent.
 */
function sent(final: { output_text: string; output: unknown[] }): Record<string, unknown> {
  const {
    output_text: _text,
    output_parsed: _parsed,
    ...response
  } = final as typeof final & {
    output_parsed?: unknown
  }
  return {
    ...response,
    output: final.output.map((item) => {
      const { parsed_arguments: _args, ...rest } = item as Record<string, unknown>
      const message = rest as { type: string; content?: Array<Record<string, unknown>> }
      if (message.type !== 'message' || !message.content) return rest
      return { ...message, content: message.content.map(({ parsed: _p, ...part }) => part) }
    }),
  }
}

const USAGE = { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 }
const REASONING_TEXT_TOOL: AnswerEvent[] = [
  { type: 'reasoning', text: 'Paris.' },
  { type: 'text', text: 'Let me ' },
  { type: 'text', text: 'check "it".\n' },
  { type: 'tool-call-start', index: 0, id: 'call_1', name: 'get_weather', arguments: '' },
  { type: 'tool-call-delta', index: 0, arguments: '{"city":' },
  { type: 'tool-call-delta', index: 0, arguments: '"Paris"}' },
  { type: 'tool-call-end', index: 0 },
  { type: 'usage', usage: USAGE },
  { type: 'finish', reason: 'tool_calls' },
]
const ANSWER = {
  model: 'm',
  text: 'Let me check "it".\n',
  reasoning: 'Paris.',
  toolCalls: [
    {
      id: 'call_1',
      type: 'function' as const,
      function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
    },
  ],
  finishReason: 'tool_calls' as const,
  usage: USAGE,
}

describe('ResponsesEncoder', () => {
  it('writes the golden bytes for reasoning, text and a tool call', () => {
    expect(encode(REASONING_TEXT_TOOL)).toBe(readFileSync(GOLDEN, 'utf8'))
  })

  it('names each event by its data type and numbers them from 0 without gaps', () => {
    const events = sseEvents(encode(REASONING_TEXT_TOOL))
    expect(events.map((e) => e.event)).toEqual(events.map((e) => e.data.type))
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i))
    expect(events.at(-1)?.event).toBe('response.completed')
  })

  it('is read by the openai client as the same response as the non-stream form', async () => {
    const client = openaiOver(encode(REASONING_TEXT_TOOL))
    const final = await client.responses.stream({ model: 'm', input: 'x' }).finalResponse()
    expect(final.output_text).toBe('Let me check "it".\n')
    expect(sent(final)).toEqual(toResponse(ANSWER, META, decoded()))
    expect(final.usage).toMatchObject({ input_tokens: 12, output_tokens: 9, total_tokens: 21 })
  })

  it('is iterated by the openai client create({stream:true}) event by event', async () => {
    const client = openaiOver(encode(REASONING_TEXT_TOOL))
    const stream = await client.responses.create({ model: 'm', input: 'x', stream: true })
    let text = ''
    let args = ''
    const types: string[] = []
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === 'response.output_text.delta') text += event.delta
      if (event.type === 'response.function_call_arguments.delta') args += event.delta
    }
    expect(text).toBe('Let me check "it".\n')
    expect(args).toBe('{"city":"Paris"}')
    expect(types[0]).toBe('response.created')
    expect(types.at(-1)).toBe('response.completed')
  })

  it('is read by the AI SDK as reasoning, text, one tool call, usage and finish reason', async () => {
    const run = await aiSdkOver(encode(REASONING_TEXT_TOOL))
    expect(run.errors).toEqual([])
    expect(run.reasoning).toBe('Paris.')
    expect(run.text).toBe('Let me check "it".\n')
    const calls = run.parts.filter((p) => p.type === 'tool-call')
    expect(calls).toMatchObject([
      { toolCallId: 'call_1', toolName: 'get_weather', input: { city: 'Paris' } },
    ])
    expect(run.parts.at(-1)).toMatchObject({
      type: 'finish',
      finishReason: 'tool-calls',
      totalUsage: { inputTokens: 12, outputTokens: 9, totalTokens: 21 },
    })
  })

  it('sends an empty answer as one empty message, completed', async () => {
    const bytes = encode([{ type: 'finish', reason: 'stop' }])
    const final = await openaiOver(bytes)
      .responses.stream({ model: 'm', input: 'x' })
      .finalResponse()
    expect(final.status).toBe('completed')
    expect(final.output_text).toBe('')
    expect(sent(final).output).toEqual(
      toResponse({ model: 'm', text: '', finishReason: 'stop' }, META, decoded()).output,
    )
  })

  it('ends an answer cut by the token limit as response.incomplete (max_output_tokens)', async () => {
    const bytes = encode([
      { type: 'text', text: 'Once upon' },
      { type: 'finish', reason: 'length' },
    ])
    const events = sseEvents(bytes)
    expect(events.at(-1)?.data).toMatchObject({
      type: 'response.incomplete',
      response: {
        status: 'incomplete',
        incomplete_details: { reason: 'max_output_tokens' },
        output: [{ type: 'message', status: 'incomplete' }],
      },
    })
    const final = await openaiOver(bytes)
      .responses.stream({ model: 'm', input: 'x' })
      .finalResponse()
    expect(final.status).toBe('incomplete')
    expect(final.output_text).toBe('Once upon')
    const run = await aiSdkOver(bytes, false)
    expect(run.text).toBe('Once upon')
    expect(run.parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'length' })
  })

  const DROPPED = new APIError('The upstream stream ended before the answer was complete.', {
    status: 502,
    type: 'upstream_error',
    code: 'upstream_truncated',
  })

  it('ends a failure with an error event then response.failed, and nothing after', () => {
    const events = sseEvents(encode([{ type: 'text', text: 'Hel' }], DROPPED))
    expect(events).toHaveLength(7)
    expect(events.slice(-2).map((e) => e.data)).toEqual([
      {
        type: 'error',
        sequence_number: 5,
        code: 'upstream_truncated',
        message: DROPPED.message,
        param: null,
        error: {
          type: 'upstream_error',
          code: 'upstream_truncated',
          message: DROPPED.message,
          param: null,
        },
      },
      expect.objectContaining({
        type: 'response.failed',
        sequence_number: 6,
        response: expect.objectContaining({
          status: 'failed',
          error: { code: 'server_error', message: DROPPED.message },
          output: [expect.objectContaining({ type: 'message', status: 'incomplete' })],
        }),
      }),
    ])
  })

  it('makes the openai client throw and the AI SDK report an error when the stream fails', async () => {
    const bytes = encode([{ type: 'text', text: 'Hel' }], DROPPED)
    const stream = openaiOver(bytes).responses.stream({ model: 'm', input: 'x' })
    await expect(stream.finalResponse()).rejects.toThrow(DROPPED.message)
    const iterated = await openaiOver(bytes).responses.create({
      model: 'm',
      input: 'x',
      stream: true,
    })
    await expect(
      (async () => {
        for await (const _ of iterated);
      })(),
    ).rejects.toThrow(DROPPED.message)
    const run = await aiSdkOver(bytes, false)
    expect(run.text).toBe('Hel')
    expect(run.errors).toHaveLength(1)
    expect(String((run.errors[0] as Error).message ?? run.errors[0])).toContain(DROPPED.message)
    expect(run.parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'error' })
  })

  it('opens the response first when it fails before start()', () => {
    const encoder = new ResponsesEncoder(META, decoded())
    encoder.error(
      new APIError('Rate limited', { status: 429, type: 'rate_limit_error', code: '3040' }),
    )
    const events = sseEvents(new TextDecoder().decode(encoder.take()))
    expect(events.map((e) => e.event)).toEqual([
      'response.created',
      'response.in_progress',
      'error',
      'response.failed',
    ])
    expect(events[3]?.data.response.error.code).toBe('rate_limit_exceeded')
  })

  it('parses under the openai client to its own response.completed for any event sequence and chunking', async () => {
    const step = fc.oneof(
      fc.record({ type: fc.constant('text' as const), text: fc.string({ maxLength: 6 }) }),
      fc.record({ type: fc.constant('reasoning' as const), text: fc.string({ maxLength: 6 }) }),
      fc.record({
        type: fc.constant('call' as const),
        name: fc.string({ minLength: 1, maxLength: 5 }),
        pieces: fc.array(fc.string({ minLength: 1, maxLength: 5 }), { maxLength: 3 }),
      }),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 8 }),
        fc.constantFrom('stop', 'length', 'tool_calls'),
        fc.array(fc.nat(40), { maxLength: 30 }),
        async (steps, reason, takes) => {
          const events: AnswerEvent[] = []
          let index = 0
          for (const s of steps) {
            if (s.type !== 'call') events.push(s)
            else {
              events.push({
                type: 'tool-call-start',
                index,
                id: `c${index}`,
                name: s.name,
                arguments: '',
              })
              for (const piece of s.pieces)
                events.push({ type: 'tool-call-delta', index, arguments: piece })
              events.push({ type: 'tool-call-end', index: index++ })
            }
          }
          events.push({ type: 'finish', reason })
          // Take a chunk after some events: the concatenated chunks are the one-take bytes.
          const encoder = new ResponsesEncoder(META, decoded())
          encoder.start()
          const chunks: Uint8Array[] = []
          events.forEach((event, i) => {
            encoder.event(event)
            if (takes.includes(i)) chunks.push(encoder.take())
          })
          chunks.push(encoder.take())
          const text = new TextDecoder().decode(Buffer.concat(chunks))
          expect(text).toBe(encode(events))

          const parsed = sseEvents(text)
          expect(parsed.map((e) => e.event)).toEqual(parsed.map((e) => e.data.type))
          expect(parsed.map((e) => e.data.sequence_number)).toEqual(parsed.map((_, i) => i))
          const last = parsed.at(-1)!.data
          const final = await openaiOver(text)
            .responses.stream({ model: 'm', input: 'x' })
            .finalResponse()
          expect(sent(final)).toEqual(last.response)
          const said = events.map((e) => (e.type === 'text' ? e.text : '')).join('')
          expect(final.output_text).toBe(said)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('repeats the whole text in every closing event exactly as JSON.stringify writes it, whatever the text', () => {
    // The closing events splice the text's bytes in where a random slot marker stands: a marker-like
    // string in the request (echoed in response.completed) or in the answer itself changes nothing.
    const forged = '\u0000fake:0\u0000'
    const request = decodeResponsesRequest(
      { input: 'x', instructions: `Be brief. ${forged}` },
      resolveConfig({ model: 'm' }),
    )
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ unit: 'binary' }), fc.constant(forged)), { maxLength: 6 }),
        fc.array(fc.string({ unit: 'binary', maxLength: 4 }), { maxLength: 3 }),
        (pieces, reasoning) => {
          const encoder = new ResponsesEncoder(META, request)
          encoder.start()
          for (const text of reasoning) encoder.event({ type: 'reasoning', text })
          // A first visible piece, so there is a message to close.
          for (const text of ['A', ...pieces]) encoder.event({ type: 'text', text })
          encoder.event({ type: 'finish', reason: 'stop' })
          const wire = new TextDecoder().decode(encoder.take())
          const text = `A${pieces.join('')}`
          const thought = reasoning.join('')
          const byType = new Map(sseEvents(wire).map((e) => [e.data.type as string, e.data]))
          expect(byType.get('response.output_text.done')?.text).toBe(text)
          expect(byType.get('response.content_part.done')?.part.text).toBe(text)
          const completed = byType.get('response.completed')?.response
          expect(completed.instructions).toBe(`Be brief. ${forged}`)
          const message = completed.output.find((item: Json) => item.type === 'message')
          expect(message.content[0].text).toBe(text)
          if (thought !== '') {
            expect(byType.get('response.reasoning_summary_text.done')?.text).toBe(thought)
            expect(completed.output[0].summary[0].text).toBe(thought)
          }
          // Byte for byte: the text as JSON.stringify writes it, in each of the four events.
          const json = JSON.stringify(text)
          expect(wire.split(json).length - 1).toBeGreaterThanOrEqual(4)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('writes a long answer (its closing events past 64 KB each) the same however it is taken in chunks', () => {
    const pieces = Array.from({ length: 3000 }, (_, i) => `word ${i} "é" 🌍\n`)
    const events: AnswerEvent[] = [
      ...pieces.map((text): AnswerEvent => ({ type: 'text', text })),
      { type: 'finish', reason: 'stop' },
    ]
    const whole = encode(events)
    const encoder = new ResponsesEncoder(META, decoded())
    encoder.start()
    const chunks: Uint8Array[] = []
    events.forEach((event, i) => {
      encoder.event(event)
      if (i % 997 === 0) chunks.push(encoder.take())
    })
    chunks.push(encoder.take())
    expect(new TextDecoder().decode(Buffer.concat(chunks))).toBe(whole)
    const byType = new Map(sseEvents(whole).map((e) => [e.data.type as string, e.data]))
    const text = pieces.join('')
    expect(Buffer.byteLength(JSON.stringify(text))).toBeGreaterThan(64 * 1024)
    expect(byType.get('response.output_text.done')?.text).toBe(text)
    expect(byType.get('response.output_item.done')?.item.content[0].text).toBe(text)
    expect(byType.get('response.completed')?.response.output[0].content[0].text).toBe(text)
  })
})
