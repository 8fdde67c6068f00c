import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../../../src/server/config'
import { decodeRunAgentInput } from '../../../../src/server/protocols/ag-ui/decode-run-agent-input'
import { validateRequest } from '../../../../src/server/protocols/chat-completions/validate-request'
import {
  expectRequestOrRejection,
  keyOf,
  MODEL,
  OTHER,
  settings,
  validationError,
} from '../helpers'

/** The wire-formats §6.2 example. */
function weatherInput(): Record<string, unknown> {
  return {
    threadId: 't-123',
    runId: 'r-456',
    state: {},
    messages: [
      { id: 'm1', role: 'user', content: "What's the weather in London?" },
      {
        id: 'm2',
        role: 'assistant',
        content: '',
        toolCalls: [
          {
            id: 'c1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"London"}' },
          },
        ],
      },
      { id: 'm3', role: 'tool', toolCallId: 'c1', content: '{"temp":12}' },
    ],
    tools: [
      {
        name: 'get_weather',
        description: 'Current weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    ],
    context: [],
    forwardedProps: {},
  }
}

/** A RunAgentInput with thread 't', run 'r', these messages and any other fields. */
function input(messages: unknown[], fields: Record<string, unknown> = {}) {
  return { threadId: 't', runId: 'r', messages, ...fields }
}

const rejection = (body: unknown) => validationError(() => decodeRunAgentInput(body, settings))

describe('decodeRunAgentInput', () => {
  it('maps camelCase toolCalls/toolCallId and frontend tools to their OpenAI form', () => {
    const { request, context } = decodeRunAgentInput(weatherInput(), settings)
    expect(context).toEqual({ threadId: 't-123', runId: 'r-456', thinkingEvents: true })
    expect(request).toEqual({
      model: MODEL,
      messages: [
        { role: 'user', content: "What's the weather in London?" },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'c1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"London"}' },
            },
          ],
        },
        { role: 'tool', content: '{"temp":12}', tool_call_id: 'c1' },
      ],
      params: {
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'Current weather',
              parameters: { type: 'object', properties: { city: { type: 'string' } } },
            },
          },
        ],
      },
      stream: true,
      includeUsage: true,
      cacheLookup: true,
      // The thread is the conversation (hashed into x-session-affinity for prefix caching).
      conversation: 'ag-ui:t-123',
    })
  })

  it('decodes a conversation to the same messages, params and cache key as its Chat Completions form', () => {
    const agUi = decodeRunAgentInput(
      input([
        { id: 's', role: 'system', content: 'Be brief.' },
        { id: 'u1', role: 'user', content: 'Hi' },
        { id: 'a1', role: 'assistant', content: 'Hello!' },
        {
          id: 'u2',
          role: 'user',
          content: [
            { type: 'text', text: 'Weather ' },
            { type: 'text', text: 'now?' },
          ],
        },
      ]),
      settings,
    ).request
    const chat = validateRequest(
      {
        model: MODEL,
        stream: true,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello!' },
          { role: 'user', content: 'Weather now?' },
        ],
      },
      settings,
    )
    expect(agUi.messages).toEqual(chat.messages)
    expect(agUi.params).toEqual(chat.params)
    expect(keyOf(agUi)).toBe(keyOf(chat))
  })

  it('puts context in one system message after the leading system messages', () => {
    const { request } = decodeRunAgentInput(
      input(
        [
          { id: 'd', role: 'developer', content: 'Rules.' },
          { id: 'u', role: 'user', content: 'Hi' },
        ],
        {
          context: [
            { description: 'user locale', value: 'en-GB' },
            { description: 'page', value: '/cart' },
          ],
        },
      ),
      resolveConfig({ model: MODEL }),
    )
    expect(request.messages).toEqual([
      { role: 'developer', content: 'Rules.' },
      {
        role: 'system',
        content: 'The application provides this context:\n\nuser locale:\nen-GB\n\npage:\n/cart',
      },
      { role: 'user', content: 'Hi' },
    ])
  })

  it('skips activity and reasoning messages and assistant turns that carry nothing', () => {
    const { request } = decodeRunAgentInput(
      input([
        { id: 'u', role: 'user', content: 'Hi' },
        { id: 'x', role: 'activity', activityType: 'progress', content: { step: 1 } },
        { id: 'y', role: 'reasoning', content: 'The user greets me.' },
        { id: 'z', role: 'assistant' },
        { id: 'a', role: 'assistant', content: 'Hello' },
      ]),
      settings,
    )
    expect(request.messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
    ])
  })

  it('turns image parts into image_url parts (URL or data URL) and tells the reason for a tool error', () => {
    const { request } = decodeRunAgentInput(
      input([
        {
          id: 'u',
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', source: { type: 'url', value: 'https://x.test/a.png' } },
            { type: 'image', source: { type: 'data', value: 'iVBO', mimeType: 'image/png' } },
          ],
        },
        {
          id: 'a',
          role: 'assistant',
          toolCalls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        { id: 't', role: 'tool', toolCallId: 'c', content: '', error: 'Permission denied' },
      ]),
      resolveConfig({ model: MODEL }),
    )
    expect(request.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'https://x.test/a.png' } },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBO' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
      { role: 'tool', content: 'Permission denied', tool_call_id: 'c' },
    ])
  })

  it('marks a client that declares protocolVersion (AG-UI 1.0) for REASONING_* events', () => {
    const { context } = decodeRunAgentInput({ ...weatherInput(), protocolVersion: '1.0' }, settings)
    expect(context.thinkingEvents).toBe(false)
  })

  it('accepts the binary image parts clients before 1.0 send, as image_url parts', () => {
    const { request } = decodeRunAgentInput(
      input([
        {
          id: 'u',
          role: 'user',
          content: [
            { type: 'text', text: 'And this?' },
            { type: 'binary', mimeType: 'image/jpeg', data: '/9j/' },
            { type: 'binary', mimeType: 'image/png', url: 'https://x.test/b.png' },
          ],
        },
      ]),
      resolveConfig({ model: MODEL }),
    )
    expect(request.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'And this?' },
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/' } },
          { type: 'image_url', image_url: { url: 'https://x.test/b.png' } },
        ],
      },
    ])
    const error = rejection(
      input([
        {
          id: 'u',
          role: 'user',
          content: [{ type: 'binary', mimeType: 'application/pdf', data: 'JVBE' }],
        },
      ]),
    )
    expect([error.status, error.param]).toEqual([400, 'messages[0].content[0]'])
    expect(error.message).toBe(
      'messages[0].content[0]: document parts are not supported; only text and image parts reach the model.',
    )
  })

  it('picks the model from forwardedProps.model, through the allow-list', () => {
    const body = { ...weatherInput(), forwardedProps: { model: OTHER, somethingElse: 1 } }
    expect(decodeRunAgentInput(body, settings).request.model).toBe(OTHER)
    const error = rejection({ ...weatherInput(), forwardedProps: { model: 'gpt-4o' } })
    expect([error.status, error.param]).toEqual([400, 'forwardedProps.model'])
    expect(error.message).toBe(
      `forwardedProps.model "gpt-4o" is not allowed; use one of: ${MODEL}, ${OTHER}.`,
    )
  })

  it('accepts state, resume, parentRunId and nulls older producers send for absent fields', () => {
    const { context } = decodeRunAgentInput(
      {
        ...weatherInput(),
        parentRunId: 'r-0',
        state: null,
        forwardedProps: null,
        resume: [{ interruptId: 'i1', status: 'resolved', payload: { ok: true } }],
      },
      settings,
    )
    expect(context).toEqual({
      threadId: 't-123',
      runId: 'r-456',
      parentRunId: 'r-0',
      thinkingEvents: true,
    })
  })
})

describe('decodeRunAgentInput: bad input gets a 400 (or 413) naming the AG-UI field', () => {
  it.each([
    [
      'an unknown role',
      { threadId: 't', runId: 'r', messages: [{ id: 'm', role: 'bot', content: 'x' }] },
      'messages[0].role',
      "Invalid RunAgentInput: messages[0].role: Invalid discriminator value. Expected 'developer' | 'system' | 'assistant' | 'user' | 'tool' | 'activity' | 'reasoning'",
    ],
    [
      'a tool message without toolCallId',
      { threadId: 't', runId: 'r', messages: [{ id: 'm', role: 'tool', content: 'x' }] },
      'messages[0].toolCallId',
      'Invalid RunAgentInput: messages[0].toolCallId: Invalid input: expected string, received undefined',
    ],
    [
      'user content that is a number',
      { threadId: 't', runId: 'r', messages: [{ id: 'm', role: 'user', content: 5 }] },
      'messages[0].content',
      // zod said only "expected string" (the first branch of string | parts).
      'Invalid RunAgentInput: messages[0].content: Invalid input: expected string or array of content parts, received number',
    ],
    [
      'a tool without a description',
      {
        threadId: 't',
        runId: 'r',
        messages: [{ id: 'm', role: 'user', content: 'x' }],
        tools: [{ name: 'f' }],
      },
      'tools[0].description',
      'Invalid RunAgentInput: tools[0].description: Invalid input: expected string, received undefined',
    ],
    [
      'no messages at all',
      { threadId: 't', runId: 'r', messages: [] },
      'messages',
      'messages must hold at least one developer, system, user, assistant or tool message.',
    ],
    [
      'an audio part',
      {
        threadId: 't',
        runId: 'r',
        messages: [
          {
            id: 'm',
            role: 'user',
            content: [{ type: 'audio', source: { type: 'url', value: 'https://x.test/a.mp3' } }],
          },
        ],
      },
      'messages[0].content[0]',
      'messages[0].content[0]: audio parts are not supported; only text and image parts reach the model.',
    ],
    ['a body that is an array', [], null, 'Request body must be a RunAgentInput JSON object.'],
  ])('%s', (_name, body, param, message) => {
    const error = rejection(body)
    expect(error.status).toBe(400)
    expect(error.param).toBe(param)
    expect(error.message).toBe(message)
  })

  it('counts limits on the mapped conversation and names the original message index', () => {
    const long = 'x'.repeat(51)
    const error = rejection(
      input([
        { id: 'y', role: 'reasoning', content: 'skipped' },
        { id: 'u', role: 'user', content: 'Hi' },
        { id: 'a', role: 'assistant', content: long },
      ]),
    )
    expect([error.status, error.param]).toEqual([413, 'messages[2].content'])
    expect(error.message).toBe('messages[2].content has 51 characters; the limit is 50.')
    const many = rejection(
      input(Array.from({ length: 6 }, (_, i) => ({ id: `m${i}`, role: 'user', content: 'x' }))),
    )
    expect([many.status, many.param]).toEqual([413, 'messages'])
  })

  it('names tools[i].parameters for a tool schema nested too deep', () => {
    let deep: Record<string, unknown> = { type: 'string' }
    for (let i = 0; i < 70; i++) deep = { type: 'object', properties: { a: deep } }
    const error = rejection(
      input([{ id: 'u', role: 'user', content: 'Hi' }], {
        tools: [{ name: 'f', description: 'd', parameters: deep }],
      }),
    )
    expect([error.status, error.param]).toEqual([400, 'tools[0].parameters'])
    expect(error.message).toBe('tools[0].parameters nests deeper than 64 levels.')
  })

  it('answers any JSON value with a decoded request or a ValidationError, never another error', () => {
    const message = fc.record(
      {
        id: fc.string(),
        role: fc.constantFrom(
          'user',
          'assistant',
          'system',
          'developer',
          'tool',
          'activity',
          'reasoning',
          'x',
        ),
        content: fc.oneof(
          fc.string(),
          fc.jsonValue(),
          fc.array(
            fc.record({ type: fc.constantFrom('text', 'image', 'audio'), text: fc.string() }),
          ),
        ),
        toolCallId: fc.string(),
        toolCalls: fc.jsonValue(),
        error: fc.jsonValue(),
      },
      { requiredKeys: ['id', 'role'] },
    )
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          threadId: fc.oneof(fc.string(), fc.jsonValue()),
          runId: fc.string(),
          messages: fc.array(message, { maxLength: 7 }),
          tools: fc.jsonValue(),
          context: fc.jsonValue(),
          forwardedProps: fc.jsonValue(),
          state: fc.jsonValue(),
        },
        { requiredKeys: ['threadId', 'runId', 'messages'] },
      ),
    )
    fc.assert(
      fc.property(body, (value) => {
        expectRequestOrRejection(() => decodeRunAgentInput(value, settings))
      }),
      { numRuns: 500 },
    )
  })
})
