import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { validateRequest } from '../../../../src/server/protocols/chat-completions/validate-request'
import { decodeResponsesRequest } from '../../../../src/server/protocols/responses/decode-responses-request'
import {
  expectRequestOrRejection,
  keyOf,
  MODEL,
  OTHER,
  settings,
  validationError,
} from '../helpers'

const WEATHER_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' } },
  required: ['city'],
}

const rejection = (body: unknown) => validationError(() => decodeResponsesRequest(body, settings))

describe('decodeResponsesRequest', () => {
  it('turns a string input into one user message with the same cache key as the chat form', () => {
    const { request, context } = decodeResponsesRequest({ model: OTHER, input: 'Hi' }, settings)
    const chat = validateRequest(
      { model: OTHER, messages: [{ role: 'user', content: 'Hi' }] },
      settings,
    )
    expect(request.messages).toEqual([{ role: 'user', content: 'Hi' }])
    expect(request.model).toBe(OTHER)
    expect(request.includeUsage).toBe(true)
    expect(keyOf(request)).toBe(keyOf(chat))
    expect(context).toEqual({
      instructions: null,
      tools: [],
      toolChoice: 'auto',
      parallelToolCalls: true,
    })
  })

  it('puts instructions first as a system message and uses the configured model by default', () => {
    const { request, context } = decodeResponsesRequest(
      { instructions: 'Be brief.', input: [{ role: 'user', content: 'Hi' }] },
      settings,
    )
    expect(request.model).toBe(MODEL)
    expect(request.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ])
    expect(context.instructions).toBe('Be brief.')
  })

  it('decodes a tool round trip to the chat conversation with the same cache key', () => {
    const body = {
      input: [
        { role: 'developer', content: 'You are a weather bot.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather?' }] },
        {
          type: 'message',
          role: 'assistant',
          id: 'msg_1',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Checking.', annotations: [] }],
        },
        {
          type: 'function_call',
          id: 'fc_1',
          call_id: 'call_1',
          name: 'get_weather',
          arguments: '{"city":"Paris"}',
        },
        { type: 'function_call_output', call_id: 'call_1', output: '{"temp":12}' },
      ],
      tools: [
        {
          type: 'function',
          name: 'get_weather',
          description: 'Weather by city',
          parameters: WEATHER_SCHEMA,
          strict: true,
        },
      ],
      tool_choice: { type: 'function', name: 'get_weather' },
      max_output_tokens: 200,
      temperature: 0.5,
      top_p: 0.9,
      store: true,
      parallel_tool_calls: false,
      metadata: { user: 'u1' },
      reasoning: { effort: 'low' },
    }
    const chatBody = {
      messages: [
        { role: 'developer', content: 'You are a weather bot.' },
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":12}' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather by city',
            parameters: WEATHER_SCHEMA,
          },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      max_tokens: 200,
      temperature: 0.5,
      top_p: 0.9,
    }
    const { request, context } = decodeResponsesRequest(body, settings)
    const chat = validateRequest(chatBody, settings)
    expect(request.messages).toEqual(chat.messages)
    expect(request.params).toEqual(chat.params)
    expect(keyOf(request)).toBe(keyOf(chat))
    expect(context).toEqual({
      instructions: null,
      tools: [
        {
          type: 'function',
          name: 'get_weather',
          description: 'Weather by city',
          parameters: WEATHER_SCHEMA,
          strict: true,
        },
      ],
      toolChoice: { type: 'function', name: 'get_weather' },
      parallelToolCalls: false,
    })
  })

  it('gives a call with no text before it an assistant message with null content', () => {
    const { request } = decodeResponsesRequest(
      {
        input: [
          { role: 'user', content: 'Weather?' },
          { type: 'function_call', call_id: 'a', name: 'w', arguments: '{}' },
          { type: 'function_call', call_id: 'b', name: 'w', arguments: '{}' },
          { type: 'function_call_output', call_id: 'a', output: '1' },
          { type: 'function_call_output', call_id: 'b', output: '2' },
        ],
      },
      settings,
    )
    expect(request.messages).toEqual([
      { role: 'user', content: 'Weather?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'a', type: 'function', function: { name: 'w', arguments: '{}' } },
          { id: 'b', type: 'function', function: { name: 'w', arguments: '{}' } },
        ],
      },
      { role: 'tool', content: '1', tool_call_id: 'a' },
      { role: 'tool', content: '2', tool_call_id: 'b' },
    ])
  })

  it('keeps several parts and images as content parts, and skips reasoning items sent back', () => {
    const { request } = decodeResponsesRequest(
      {
        input: [
          { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'hmm' }] },
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'What is this?' },
              { type: 'input_image', image_url: 'https://x.test/a.png', detail: 'low' },
            ],
          },
        ],
      },
      settings,
    )
    expect(request.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'https://x.test/a.png', detail: 'low' } },
        ],
      },
    ])
  })

  it.each([
    ['no input', { model: MODEL }, 400, 'input'],
    ['an empty input', { input: [] }, 400, 'input'],
    ['only reasoning items', { input: [{ type: 'reasoning', summary: [] }] }, 400, 'input'],
    ['an item that is not an object', { input: ['Hi', 3] }, 400, 'input[0]'],
    ['a tool role message', { input: [{ role: 'tool', content: 'x' }] }, 400, 'input[0].role'],
    [
      'a numeric content',
      {
        input: [
          { role: 'user', content: 'a' },
          { role: 'user', content: 5 },
        ],
      },
      400,
      'input[1].content',
    ],
    [
      'an audio part',
      { input: [{ role: 'user', content: [{ type: 'input_audio', data: 'x' }] }] },
      400,
      'input[0].content[0]',
    ],
    [
      'a function_call without call_id',
      {
        input: [
          { role: 'user', content: 'a' },
          { type: 'function_call', name: 'w', arguments: '{}' },
        ],
      },
      400,
      'input[1].call_id',
    ],
    [
      'a function_call_output with a numeric output',
      {
        input: [
          { role: 'user', content: 'a' },
          { type: 'function_call_output', call_id: 'c', output: 1 },
        ],
      },
      400,
      'input[1].output',
    ],
    [
      'a web_search_call item',
      { input: [{ type: 'web_search_call', id: 'w' }] },
      400,
      'input[0].type',
    ],
    ['an item_reference', { input: [{ type: 'item_reference', id: 'msg_1' }] }, 400, 'input[0]'],
    [
      'previous_response_id',
      { input: 'Hi', previous_response_id: 'resp_1' },
      400,
      'previous_response_id',
    ],
    ['a conversation', { input: 'Hi', conversation: 'conv_1' }, 400, 'conversation'],
    ['a numeric instructions', { input: 'Hi', instructions: 3 }, 400, 'instructions'],
    ['a built-in tool', { input: 'Hi', tools: [{ type: 'web_search' }] }, 400, 'tools[0].type'],
    [
      'a tool whose parameters are not a schema',
      { input: 'Hi', tools: [{ type: 'function', name: 'w', parameters: 'x' }] },
      400,
      'tools[0].parameters',
    ],
    ['an unknown tool_choice', { input: 'Hi', tool_choice: 'sometimes' }, 400, 'tool_choice'],
    ['max_output_tokens 0', { input: 'Hi', max_output_tokens: 0 }, 400, 'max_output_tokens'],
    ['temperature 9', { input: 'Hi', temperature: 9 }, 400, 'temperature'],
    ['a model not allowed', { input: 'Hi', model: 'gpt-4o' }, 400, 'model'],
    ['an input string over the limit', { input: 'x'.repeat(51) }, 413, 'input'],
    [
      'instructions over the limit',
      { input: 'Hi', instructions: 'x'.repeat(51) },
      413,
      'instructions',
    ],
    [
      'an item content over the limit',
      {
        input: [
          { role: 'user', content: 'a' },
          { role: 'user', content: 'x'.repeat(51) },
        ],
      },
      413,
      'input[1].content',
    ],
    [
      'a tool output over the limit',
      {
        input: [
          { role: 'user', content: 'a' },
          { type: 'function_call_output', call_id: 'c', output: 'x'.repeat(51) },
        ],
      },
      413,
      'input[1].output',
    ],
    [
      'more messages than allowed',
      { input: Array.from({ length: 6 }, () => ({ role: 'user', content: 'a' })) },
      413,
      'input',
    ],
  ])('answers %s with %i naming %s', (_name, body, status, param) => {
    const error = rejection(body)
    expect(error.status).toBe(status)
    expect(error.param).toBe(param)
    expect(error.message).toContain(param)
  })

  it('says how to carry on when a client refers to a stored message', () => {
    expect(rejection({ input: [{ type: 'item_reference', id: 'msg_1' }] }).message).toContain(
      'store: false',
    )
  })

  it('drops a reference to an earlier reasoning item, as it drops reasoning sent in full', () => {
    const { request } = decodeResponsesRequest(
      {
        input: [
          { role: 'user', content: 'Hi' },
          { type: 'item_reference', id: 'rs_abc_0' },
          { role: 'assistant', content: 'Hello' },
          { role: 'user', content: 'Again' },
        ],
      },
      settings,
    )
    expect(request.messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'Again' },
    ])
  })

  it('never throws anything but a 400 or 413 ValidationError for any JSON body', () => {
    const part = fc.oneof(
      fc.record({ type: fc.constantFrom('input_text', 'output_text'), text: fc.string() }),
      fc.record({ type: fc.constant('input_image'), image_url: fc.jsonValue() }),
      fc.jsonValue(),
    )
    const item = fc.oneof(
      fc.record(
        {
          type: fc.constantFrom('message', undefined, 'reasoning', 'function_call'),
          role: fc.constantFrom('user', 'assistant', 'system', 'tool', 7),
          content: fc.oneof(fc.string(), fc.array(part, { maxLength: 3 }), fc.jsonValue()),
        },
        { requiredKeys: [] },
      ),
      fc.record(
        {
          type: fc.constantFrom('function_call', 'function_call_output'),
          call_id: fc.oneof(fc.string(), fc.jsonValue()),
          name: fc.oneof(fc.string(), fc.jsonValue()),
          arguments: fc.oneof(fc.string(), fc.jsonValue()),
          output: fc.oneof(fc.string(), fc.array(part, { maxLength: 2 }), fc.jsonValue()),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    )
    const body = fc.oneof(
      fc.record(
        {
          input: fc.oneof(fc.string(), fc.array(item, { maxLength: 6 }), fc.jsonValue()),
          instructions: fc.oneof(fc.string(), fc.jsonValue()),
          tools: fc.oneof(
            fc.array(
              fc.record(
                { type: fc.constant('function'), name: fc.string(), parameters: fc.jsonValue() },
                { requiredKeys: [] },
              ),
              { maxLength: 2 },
            ),
            fc.jsonValue(),
          ),
          tool_choice: fc.jsonValue(),
          max_output_tokens: fc.jsonValue(),
          temperature: fc.jsonValue(),
          model: fc.constantFrom(MODEL, 'nope', undefined),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    )
    fc.assert(
      fc.property(body, (value) => {
        expectRequestOrRejection(() => decodeResponsesRequest(value, settings))
      }),
      { numRuns: 500 },
    )
  })

  it('gives any text conversation the cache key of its Chat Completions form', () => {
    const turn = fc.record({
      role: fc.constantFrom('user', 'assistant', 'system', 'developer'),
      content: fc.string({ maxLength: 20 }),
      asParts: fc.boolean(),
    })
    fc.assert(
      fc.property(fc.array(turn, { minLength: 1, maxLength: 5 }), (turns) => {
        const input = turns.map(({ role, content, asParts }) => ({
          role,
          content: asParts
            ? [{ type: role === 'assistant' ? 'output_text' : 'input_text', text: content }]
            : content,
        }))
        const messages = turns.map(({ role, content }) => ({ role, content }))
        const responses = decodeResponsesRequest({ input }, settings).request
        const chat = validateRequest({ messages }, settings)
        expect(keyOf(responses)).toBe(keyOf(chat))
      }),
      { numRuns: 200 },
    )
  })
})
