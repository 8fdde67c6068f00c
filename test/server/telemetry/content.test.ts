// The prompt and the answer reach spans only with recordContent, in the GenAI conventions' shape.
import { describe, expect, it } from 'vitest'
import { emulatorHandlers, LLAMA } from '../../helpers/emulator-handler'
import { onlySpan, otelSdks, postJson } from './helpers'

const serve = emulatorHandlers({ models: [LLAMA] })
const sdk = otelSdks()

const messages = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi, my name is Ada' },
]

describe('content on spans', () => {
  it.each([true, false])(
    'never records the prompt or the answer unless asked (stream: %s)',
    async (stream) => {
      const otel = sdk()
      const { origin, emulator } = await serve({ reply: 'Hello Ada' }, { telemetry: otel.config })
      const response = await postJson(origin, '/chat/completions', {
        model: LLAMA,
        messages,
        stream,
      })
      expect(await response.text()).toContain('Ada')
      const span = await onlySpan(otel)
      expect(Object.keys(span.attributes).filter((key) => key.includes('messages'))).toEqual([])
      const recorded = JSON.stringify(span.attributes)
      expect(recorded).not.toContain('Ada')
      expect(recorded).not.toContain(emulator.apiToken)
    },
  )

  it.each([true, false])(
    'records gen_ai.input.messages and gen_ai.output.messages with recordContent (stream: %s)',
    async (stream) => {
      const otel = sdk()
      const { origin, emulator } = await serve(
        { reply: 'Hello Ada' },
        { telemetry: { ...otel.config, recordContent: true } },
      )
      await (await postJson(origin, '/chat/completions', { model: LLAMA, messages, stream })).text()
      const span = await onlySpan(otel)
      expect(JSON.parse(span.attributes['gen_ai.input.messages'] as string)).toEqual([
        { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
        { role: 'user', parts: [{ type: 'text', content: 'Hi, my name is Ada' }] },
      ])
      expect(JSON.parse(span.attributes['gen_ai.output.messages'] as string)).toEqual([
        {
          role: 'assistant',
          parts: [{ type: 'text', content: 'Hello Ada' }],
          finish_reason: 'stop',
        },
      ])
      expect(JSON.stringify(span.attributes)).not.toContain(emulator.apiToken)
    },
  )

  it('records tool calls and tool results as their parts', async () => {
    const otel = sdk()
    const { origin } = await serve(
      { reply: 'It is sunny' },
      { telemetry: { ...otel.config, recordContent: true } },
    )
    const conversation = [
      { role: 'user', content: 'Weather?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    ]
    await (
      await postJson(origin, '/chat/completions', { model: LLAMA, messages: conversation })
    ).json()
    const span = await onlySpan(otel)
    expect(JSON.parse(span.attributes['gen_ai.input.messages'] as string)).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'Weather?' }] },
      {
        role: 'assistant',
        parts: [
          { type: 'tool_call', id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' },
        ],
      },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', response: 'sunny' }] },
    ])
  })
})
