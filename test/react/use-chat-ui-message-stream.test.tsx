// The AI SDK's own React client against copilotedge: useChat (@ai-sdk/react 4) with ai 7's
// DefaultChatTransport, over real loopback HTTP (Node's fetch) → createCopilotEdgeHandler →
// the Workers AI emulator, listening too.
import { useChat } from '@ai-sdk/react'
import { act, cleanup, renderHook, waitFor } from '@testing-library/react'
import {
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithToolCalls,
  type UIMessage,
} from 'ai'
import { afterEach, describe, expect, it } from 'vitest'
import { stopOnAbort } from '../../src/client'
import type { CopilotEdgeConfig } from '../../src/server'
import type { WorkersAIEmulatorOptions } from '../../src/testing'
import { emulatorHandlers, GPT_OSS, LLAMA } from '../helpers/emulator-handler'

const serve = emulatorHandlers({ models: [LLAMA, GPT_OSS] })

// Registered after emulatorHandlers' afterEach, so it runs first (vitest runs after-hooks in
// reverse): the rendered hooks unmount before the servers close.
afterEach(() => {
  cleanup()
})

async function stack(emulatorOptions?: WorkersAIEmulatorOptions, config?: CopilotEdgeConfig) {
  const { emulator, origin } = await serve(emulatorOptions, config)
  return { emulator, api: `${origin}/api/chat` }
}

function textOf(message: UIMessage | undefined): string {
  return (message?.parts ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('')
}

/** Resolves when `promise` does, or rejects after `ms` (so a hang fails with a reason). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms),
    ),
  ])
}

describe('useChat (@ai-sdk/react 4, DefaultChatTransport) against copilotedge', () => {
  it('sends a message and shows the streamed assistant text, then is ready', async () => {
    const { emulator, api } = await stack()
    const { result } = renderHook(() => useChat({ transport: new DefaultChatTransport({ api }) }))
    await act(() => result.current.sendMessage({ text: 'Hi' }))
    await waitFor(() => expect(result.current.status).toBe('ready'))
    expect(result.current.error).toBeUndefined()
    expect(result.current.messages.map((m) => [m.role, textOf(m)])).toEqual([
      ['user', 'Hi'],
      ['assistant', 'Hello from the emulator'],
    ])
    expect(result.current.messages[1]!.metadata).toMatchObject({ model: LLAMA, cached: false })
    await emulator.idle()
    expect(emulator.requests.map((r) => [r.aborted, r.completed])).toEqual([[false, true]])
  })

  it('takes an unpaced 1,000-token answer without a React update-depth error and shows all of it', async () => {
    const { api } = await stack({ tokens: 1000 })
    const errors: unknown[] = []
    const original = console.error
    console.error = (...args: unknown[]) => errors.push(args)
    try {
      const { result } = renderHook(() => useChat({ transport: new DefaultChatTransport({ api }) }))
      await act(() => result.current.sendMessage({ text: 'Count' }))
      await waitFor(() => expect(result.current.status).toBe('ready'))
      expect(result.current.error).toBeUndefined()
      const text = textOf(result.current.messages[1])
      expect(text.startsWith('tok0 tok1 ')).toBe(true)
      expect(text.endsWith('tok999 ')).toBe(true)
      expect(text.split(' ')).toHaveLength(1001)
    } finally {
      console.error = original
    }
    expect(errors).toEqual([])
  })

  it('answers the same question in a new chat from the cache (marked cached), but regenerate() asks the model again', async () => {
    const { emulator, api } = await stack()
    const first = renderHook(() => useChat({ transport: new DefaultChatTransport({ api }) }))
    await act(() => first.result.current.sendMessage({ text: 'Hi' }))
    await waitFor(() => expect(first.result.current.status).toBe('ready'))

    const second = renderHook(() => useChat({ transport: new DefaultChatTransport({ api }) }))
    await act(() => second.result.current.sendMessage({ text: 'Hi' }))
    await waitFor(() => expect(second.result.current.status).toBe('ready'))
    expect(textOf(second.result.current.messages[1])).toBe('Hello from the emulator')
    expect(second.result.current.messages[1]!.metadata).toMatchObject({ cached: true })
    expect(emulator.requests).toHaveLength(1)

    await act(() => second.result.current.regenerate())
    await waitFor(() => expect(second.result.current.status).toBe('ready'))
    expect(emulator.requests).toHaveLength(2)
    expect(second.result.current.messages).toHaveLength(2)
    expect(second.result.current.messages[1]!.metadata).toMatchObject({ cached: false })
  })

  it('stop() aborts the upstream generation at once, keeps the partial text, and the next question still works', async () => {
    const { emulator, api } = await stack()
    // The first answer stops after two tokens and stalls (a slow model); the second is whole.
    emulator.fault({ type: 'stall-mid-stream', afterTokens: 2, ms: 60_000 })
    const { result } = renderHook(() => useChat({ transport: new DefaultChatTransport({ api }) }))
    act(() => {
      void result.current.sendMessage({ text: 'Count' })
    })
    await waitFor(() => expect(textOf(result.current.messages[1])).toBe('Hello from '))
    const stoppedAt = Date.now()
    await act(() => result.current.stop())
    await within(emulator.idle(), 1000, 'the upstream abort')
    const abortMs = Date.now() - stoppedAt
    expect(emulator.requests[0]).toMatchObject({ aborted: true, completed: false })
    expect(abortMs).toBeLessThan(1000)
    await waitFor(() => expect(result.current.status).toBe('ready'))
    expect(result.current.error).toBeUndefined()
    expect(textOf(result.current.messages[1])).toBe('Hello from ')

    await act(() => result.current.sendMessage({ text: 'Again' }))
    await waitFor(() => expect(result.current.status).toBe('ready'))
    expect(result.current.error).toBeUndefined()
    expect(result.current.messages).toHaveLength(4)
    expect(emulator.requests).toHaveLength(2)
    expect(emulator.requests[1]!.completed).toBe(true)
    expect(textOf(result.current.messages[3])).toBe('Hello from the emulator')
  })

  it("with the server's resume on, stop() through stopOnAbort's fetch stops the upstream at once, not after the grace period", async () => {
    const { emulator, api } = await stack({}, { resume: { graceMs: 60_000 } })
    emulator.fault({ type: 'stall-mid-stream', afterTokens: 2, ms: 60_000 })
    const { result } = renderHook(() =>
      useChat({ transport: new DefaultChatTransport({ api, fetch: stopOnAbort() }) }),
    )
    act(() => {
      void result.current.sendMessage({ text: 'Count' })
    })
    await waitFor(() => expect(textOf(result.current.messages[1])).toBe('Hello from '))
    await act(() => result.current.stop())
    await within(emulator.idle(), 1000, 'the upstream abort')
    expect(emulator.requests[0]).toMatchObject({ aborted: true, completed: false })
    await waitFor(() => expect(result.current.status).toBe('ready'))
    expect(textOf(result.current.messages[1])).toBe('Hello from ')
  })

  it("with the server's resume on, a plain fetch's stop() leaves the upstream running (the grace period)", async () => {
    const { emulator, api } = await stack({}, { resume: { graceMs: 60_000 } })
    emulator.fault({ type: 'stall-mid-stream', afterTokens: 2, ms: 60_000 })
    const { result } = renderHook(() => useChat({ transport: new DefaultChatTransport({ api }) }))
    act(() => {
      void result.current.sendMessage({ text: 'Count' })
    })
    await waitFor(() => expect(textOf(result.current.messages[1])).toBe('Hello from '))
    await act(() => result.current.stop())
    await waitFor(() => expect(result.current.status).toBe('ready'))
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(emulator.requests[0]).toMatchObject({ aborted: false, completed: false })
  })

  it.each([
    [429, 'rate_limit_error'],
    [503, 'upstream_error'],
  ])(
    'shows an upstream %i as the error, with the message first in its text',
    async (status, type) => {
      const { emulator, api } = await stack({}, { retry: false })
      emulator.fault({ type: 'status', status, retryAfter: 1 })
      const { result } = renderHook(() => useChat({ transport: new DefaultChatTransport({ api }) }))
      await act(() => result.current.sendMessage({ text: 'Hi' }))
      await waitFor(() => expect(result.current.status).toBe('error'))
      const text = result.current.error!.message
      const body = JSON.parse(text) as { error: string; type: string }
      expect(text.startsWith(`{"error":${JSON.stringify(body.error)}`)).toBe(true)
      expect(body.error.length).toBeGreaterThan(10)
      expect(body.type).toBe(type)
      expect(emulator.requests).toHaveLength(1)
    },
  )

  it('shows a mid-stream failure as the error and keeps the text that arrived', async () => {
    const { emulator, api } = await stack({ tokens: 20 })
    emulator.fault({ type: 'drop', afterTokens: 3 })
    const { result } = renderHook(() => useChat({ transport: new DefaultChatTransport({ api }) }))
    await act(() => result.current.sendMessage({ text: 'Hi' }))
    await waitFor(() => expect(result.current.status).toBe('error'))
    expect(result.current.error!.message.length).toBeGreaterThan(10)
    expect(textOf(result.current.messages[1])).toBe('tok0 tok1 tok2 ')
  })

  it('shows a tool call as a tool part with its input; the tool output goes back and the answer follows', async () => {
    const { emulator, api } = await stack({ reply: 'It is sunny in Paris.' })
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: {
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
          },
        },
      },
    ]
    const seen: unknown[] = []
    const { result } = renderHook(() => {
      const chat = useChat({
        transport: new DefaultChatTransport({ api, body: { tools } }),
        sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls,
        onToolCall: ({ toolCall }) => {
          seen.push(toolCall.input)
          void chat.addToolOutput({
            tool: 'get_weather',
            toolCallId: toolCall.toolCallId,
            output: { sky: 'sunny' },
          })
        },
      })
      return chat
    })
    await act(() => result.current.sendMessage({ text: "What's the weather in Paris?" }))
    await waitFor(() => expect(emulator.requests).toHaveLength(2))
    await waitFor(() => expect(result.current.status).toBe('ready'))
    expect(result.current.error).toBeUndefined()
    expect(seen).toEqual([{ city: 'Paris' }])
    const assistant = result.current.messages[1]!
    expect(result.current.messages).toHaveLength(2)
    expect(assistant.parts).toMatchObject([
      { type: 'step-start' },
      {
        type: 'tool-get_weather',
        state: 'output-available',
        input: { city: 'Paris' },
        output: { sky: 'sunny' },
      },
      { type: 'step-start' },
      { type: 'text', text: 'It is sunny in Paris.' },
    ])
    const toolCallId = (assistant.parts[1] as { toolCallId: string }).toolCallId
    // The continuation carried the call and its result as OpenAI messages (the Workers AI
    // request writes the call's null content as '').
    expect((emulator.requests[1]!.body as { messages: unknown[] }).messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          {
            id: toolCallId,
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: toolCallId, content: '{"sky":"sunny"}' },
    ])
  })

  it('shows the model reasoning as a reasoning part before the text', async () => {
    const { api } = await stack({ reasoning: 'The user greets me.' })
    const { result } = renderHook(() =>
      useChat({ transport: new DefaultChatTransport({ api, body: { model: GPT_OSS } }) }),
    )
    await act(() => result.current.sendMessage({ text: 'Hi' }))
    await waitFor(() => expect(result.current.status).toBe('ready'))
    expect(result.current.messages[1]!.parts).toMatchObject([
      { type: 'step-start' },
      { type: 'reasoning', text: 'The user greets me.', state: 'done' },
      { type: 'text', text: 'Hello from the emulator', state: 'done' },
    ])
    expect(result.current.messages[1]!.metadata).toMatchObject({ model: GPT_OSS })
  })
})
