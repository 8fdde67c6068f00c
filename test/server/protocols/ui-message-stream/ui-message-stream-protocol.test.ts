import { safeValidateUIMessages } from 'ai'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../../../src/server/config'
import { ValidationError } from '../../../../src/server/errors'
import { validateRequest } from '../../../../src/server/protocols/chat-completions/validate-request'
import { detectProtocol } from '../../../../src/server/protocols/detect-protocol'
import { PROTOCOLS } from '../../../../src/server/protocols/registry'
import { uiMessageStreamProtocol as protocol } from '../../../../src/server/protocols/ui-message-stream/ui-message-stream-protocol'
import { keyOf, validationError } from '../helpers'

const SETTINGS = resolveConfig({ models: ['@cf/meta/llama-3.1-8b-instruct', '@cf/qwen/qwq-32b'] })

/** What useChat (ai 7 DefaultChatTransport) posts for a first question. */
function useChatBody(messages: unknown[], extras: Record<string, unknown> = {}) {
  return { ...extras, id: 'chat-1', messages, trigger: 'submit-message', messageId: undefined }
}

const user = (id: string, text: string) => ({ id, role: 'user', parts: [{ type: 'text', text }] })

const decodeError = (body: unknown) => validationError(() => protocol.decode(body, SETTINGS))

describe('the UI message stream protocol', () => {
  it('is registered and detected for the body useChat sends', () => {
    expect(PROTOCOLS['ui-message-stream']).toBe(protocol)
    const body = JSON.parse(JSON.stringify(useChatBody([user('u1', 'Hi')])))
    expect(detectProtocol('/api/chat', body)).toBe('ui-message-stream')
    expect(protocol.streamHeaders).toEqual({ 'x-vercel-ai-ui-message-stream': 'v1' })
  })

  it('decodes a useChat conversation to the same messages, params and cache key as its Chat Completions form', () => {
    const ui = protocol.decode(
      useChatBody(
        [
          { id: 's', role: 'system', parts: [{ type: 'text', text: 'Be brief.' }] },
          user('u1', 'Hi'),
          {
            id: 'a1',
            role: 'assistant',
            parts: [
              { type: 'step-start' },
              { type: 'reasoning', text: 'greet back', state: 'done' },
              { type: 'text', text: 'Hello', state: 'done' },
              { type: 'text', text: ' there!', state: 'done' },
            ],
          },
          user('u2', 'Weather?'),
        ],
        { temperature: 0.2, max_tokens: 50 },
      ),
      SETTINGS,
    )
    const chat = validateRequest(
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello there!' },
          { role: 'user', content: 'Weather?' },
        ],
        temperature: 0.2,
        max_tokens: 50,
        stream: true,
      },
      SETTINGS,
    )
    expect(ui.request.messages).toEqual(chat.messages)
    expect(ui.request.params).toEqual(chat.params)
    expect(ui.request.model).toBe('@cf/meta/llama-3.1-8b-instruct')
    expect(ui.request.stream).toBe(true)
    expect(keyOf(ui.request)).toBe(keyOf(chat))
    expect(ui.context).toEqual({ messageId: undefined, chatId: 'chat-1' })
  })

  it('turns tool parts with results into assistant tool_calls and tool messages, step by step', () => {
    const { request, context } = protocol.decode(
      useChatBody([
        user('u1', 'Weather in Paris and Rome?'),
        {
          id: 'a1',
          role: 'assistant',
          parts: [
            { type: 'step-start' },
            { type: 'text', text: 'Checking.' },
            {
              type: 'tool-get_weather',
              toolCallId: 'call_1',
              state: 'output-available',
              input: { city: 'Paris' },
              output: { temp: 21 },
            },
            {
              type: 'dynamic-tool',
              toolName: 'lookup',
              toolCallId: 'call_2',
              state: 'output-error',
              input: { city: 'Rome' },
              errorText: 'Service down',
            },
            // Still waiting for the browser: left out (no result yet).
            { type: 'tool-get_time', toolCallId: 'call_3', state: 'input-available', input: {} },
            { type: 'step-start' },
            { type: 'text', text: 'Paris is 21°C.' },
          ],
        },
      ]),
      SETTINGS,
    )
    expect(request.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
          {
            id: 'call_2',
            type: 'function',
            function: { name: 'lookup', arguments: '{"city":"Rome"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
      { role: 'tool', tool_call_id: 'call_2', content: 'Service down' },
      { role: 'assistant', content: 'Paris is 21°C.' },
    ])
    // The continuation streams into the assistant message it continues.
    expect(context.messageId).toBe('a1')
  })

  it('sends images as image_url parts and accepts OpenAI tools, tool_choice, model and cache: false from the body extras', () => {
    const tools = [
      {
        type: 'function',
        function: { name: 'get_weather', parameters: { type: 'object', properties: {} } },
      },
    ]
    const { request } = protocol.decode(
      useChatBody(
        [
          {
            id: 'u1',
            role: 'user',
            parts: [
              { type: 'text', text: 'What is this?' },
              { type: 'file', mediaType: 'image/png', url: 'data:image/png;base64,AAAA' },
            ],
          },
        ],
        { tools, tool_choice: 'auto', model: '@cf/qwen/qwq-32b', cache: false },
      ),
      SETTINGS,
    )
    expect(request.messages[0]?.content).toEqual([
      { type: 'text', text: 'What is this?' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
    ])
    expect(request.params.tools).toEqual(tools)
    expect(request.params.tool_choice).toBe('auto')
    expect(request.model).toBe('@cf/qwen/qwq-32b')
    expect(request.cacheLookup).toBe(false)
  })

  it('never answers regenerate-message from the cache (the user asked for another answer)', () => {
    const submit = protocol.decode(useChatBody([user('u1', 'Hi')]), SETTINGS)
    const regenerate = protocol.decode(
      { ...useChatBody([user('u1', 'Hi')]), trigger: 'regenerate-message', messageId: 'a1' },
      SETTINGS,
    )
    expect(submit.request.cacheLookup).toBe(true)
    expect(regenerate.request.cacheLookup).toBe(false)
    expect(regenerate.request.messages).toEqual(submit.request.messages)
  })

  it.each([
    [
      { messages: [user('u', 'x')] },
      'trigger',
      'trigger must be submit-message or regenerate-message.',
    ],
    [
      useChatBody([]),
      'messages',
      'messages must be a non-empty array of UI messages {id, role, parts}.',
    ],
    [
      useChatBody([{ id: 'u', role: 'tool', parts: [] }]),
      'messages[0].role',
      'messages[0].role must be one of system, user, assistant.',
    ],
    [
      useChatBody([{ id: 'u', role: 'user', content: 'hi' }]),
      'messages[0].parts',
      'messages[0].parts must be an array.',
    ],
    [
      useChatBody([{ id: 'u', role: 'user', parts: [{ type: 'text', text: 5 }] }]),
      'messages[0].parts[0].text',
      'messages[0].parts[0].text must be a string.',
    ],
    [
      useChatBody([
        {
          id: 'u',
          role: 'user',
          parts: [{ type: 'file', mediaType: 'application/pdf', url: 'data:,' }],
        },
      ]),
      'messages[0].parts[0].mediaType',
      'messages[0].parts[0] is a application/pdf file; only image files can be sent to the model.',
    ],
    [
      useChatBody([{ id: 'u', role: 'user', parts: [{ type: 'data-x', data: 1 }] }]),
      'messages',
      'messages hold no text for the model (no text or image parts).',
    ],
    [
      useChatBody([user('u', 'x')], { model: 'gpt-5' }),
      'model',
      expect.stringMatching(/^model "gpt-5" is not allowed/),
    ],
    [
      useChatBody([user('u', 'x')], { temperature: 'hot' }),
      'temperature',
      'temperature must be a number.',
    ],
  ])('rejects bad input %# with a 400 naming the UI field', (body, param, message) => {
    const error = decodeError(body)
    expect(error.status).toBe(400)
    expect(error.param).toBe(param)
    expect(error.message).toEqual(message)
  })

  it('names the UI message (not the OpenAI one) when a message is over the character limit: 413', () => {
    const settings = { ...SETTINGS, limits: { ...SETTINGS.limits, maxMessageChars: 10 } }
    const body = useChatBody([
      { id: 's', role: 'system', parts: [{ type: 'data-x', data: 1 }] },
      user('u', 'short'),
      user('u2', 'far too long for the limit'),
    ])
    const error = validationError(() => protocol.decode(body, settings))
    expect(error.status).toBe(413)
    expect(error.param).toBe('messages[2].content')
    expect(error.message).toBe('messages[2].content has 26 characters; the limit is 10.')
  })

  it('answers an error before the stream with its message first (useChat shows the body text as error.message)', () => {
    const body = protocol.errorBody?.(
      new ValidationError('trigger must be submit-message or regenerate-message.', {
        param: 'trigger',
      }),
    )
    expect(JSON.stringify(body)).toBe(
      '{"error":"trigger must be submit-message or regenerate-message.","type":"invalid_request_error","code":"invalid_request","param":"trigger"}',
    )
  })
})

/** UI message parts of every kind ai 7 defines (valid ones; some with foreign extra fields). */
const textPart = fc.record({ type: fc.constant('text'), text: fc.string() })
const anyPart = fc.oneof(
  textPart,
  fc.record({ type: fc.constant('reasoning'), text: fc.string() }),
  fc.constant({ type: 'step-start' }),
  fc.record({
    type: fc.constant('file'),
    mediaType: fc.constantFrom('image/png', 'image/jpeg'),
    url: fc.webUrl(),
  }),
  fc.record({ type: fc.constant('source-url'), sourceId: fc.string(), url: fc.webUrl() }),
  fc.record({ type: fc.constant('data-weather'), data: fc.jsonValue() }),
  fc.record({
    type: fc.constantFrom('tool-get_weather', 'tool-x'),
    toolCallId: fc.string({ minLength: 1 }),
    state: fc.constant('output-available'),
    input: fc.jsonValue(),
    output: fc.jsonValue(),
  }),
  fc.record({
    type: fc.constant('dynamic-tool'),
    toolName: fc.string(),
    toolCallId: fc.string({ minLength: 1 }),
    state: fc.constantFrom('input-available', 'input-streaming'),
    input: fc.jsonValue(),
  }),
  fc.record({
    type: fc.constant('tool-y'),
    toolCallId: fc.string({ minLength: 1 }),
    state: fc.constant('output-error'),
    input: fc.jsonValue(),
    errorText: fc.string(),
  }),
)
const uiMessage = fc.record({
  id: fc.string(),
  role: fc.constantFrom('system', 'user', 'assistant'),
  parts: fc.array(anyPart, { maxLength: 5 }),
})

describe('the UI message decoder against ai 7 validateUIMessages', () => {
  it('accepts every conversation ai 7 accepts (with something to send) and keeps each user text', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(uiMessage, { minLength: 1, maxLength: 5 }),
        fc.constant(user('last', 'and now?')),
        async (messages, last) => {
          const conversation = [...messages, last]
          const valid = await safeValidateUIMessages({ messages: conversation })
          fc.pre(valid.success)
          const { request } = protocol.decode(useChatBody(conversation), SETTINGS)
          const userTexts = request.messages
            .filter((m) => m.role === 'user' && typeof m.content === 'string')
            .map((m) => m.content)
          const expected = conversation
            .filter(
              (m) =>
                m.role === 'user' &&
                m.parts.some((p) => p.type === 'text') &&
                !m.parts.some((p) => p.type === 'file'),
            )
            .map((m) =>
              m.parts
                .filter((p): p is { type: 'text'; text: string } => p.type === 'text')
                .map((p) => p.text)
                .join(''),
            )
          expect(userTexts).toEqual(expected)
          // Every tool call sent upstream has its result right after it.
          for (const [i, m] of request.messages.entries()) {
            for (const [k, call] of (m.tool_calls ?? []).entries()) {
              expect(request.messages[i + 1 + k]).toMatchObject({
                role: 'tool',
                tool_call_id: call.id,
              })
            }
          }
        },
      ),
      { numRuns: 150 },
    )
  })

  it('answers any JSON body with a request or a ValidationError, never another error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ trigger: fc.constant('submit-message'), messages: fc.jsonValue() }),
          fc.record({
            trigger: fc.constant('submit-message'),
            messages: fc.array(
              fc.record({
                id: fc.string(),
                role: fc.constantFrom('user', 'assistant'),
                parts: fc.array(fc.oneof(fc.jsonValue(), anyPart)),
              }),
            ),
          }),
        ),
        (body) => {
          try {
            protocol.decode(body, SETTINGS)
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError)
            expect(
              (error as ValidationError).status === 400 ||
                (error as ValidationError).status === 413,
            ).toBe(true)
          }
        },
      ),
      { numRuns: 500 },
    )
  })
})
