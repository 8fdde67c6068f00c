import { describe, expect, it } from 'vitest'
import type { ProviderRequest } from '../../../src/server/providers/provider'
import { UpstreamError } from '../../../src/server/providers/provider'
import type { WorkersAIBinding } from '../../../src/server/providers/workers-ai-binding'
import { createWorkersAIBindingProvider } from '../../../src/server/providers/workers-ai-binding'
import { NATIVE, NATIVE_TOOL_CALLS, OPENAI_ON_RUN } from './fixtures'
import { collect, recordedBody } from './helpers'

const MODEL = '@cf/meta/llama-3.1-8b-instruct'

function request(overrides: Partial<ProviderRequest> = {}): ProviderRequest {
  return {
    model: MODEL,
    messages: [{ role: 'user', content: 'Hi' }],
    params: {},
    signal: new AbortController().signal,
    ...overrides,
  }
}

interface RunCall {
  model: string
  inputs: Record<string, unknown>
  options: unknown
}

function fakeBinding(answer: (call: RunCall) => unknown): {
  ai: WorkersAIBinding
  calls: RunCall[]
} {
  const calls: RunCall[] = []
  return {
    calls,
    ai: {
      async run(model, inputs, options) {
        const call = { model, inputs, options }
        calls.push(call)
        return answer(call)
      },
    },
  }
}

describe('createWorkersAIBindingProvider', () => {
  it('calls ai.run with the model, the messages with null content coerced, params and the signal', async () => {
    const { ai, calls } = fakeBinding(() => ({
      response: 'Hello',
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    }))
    const provider = createWorkersAIBindingProvider(ai)
    expect(provider.name).toBe('workers-ai-binding')
    const signal = new AbortController().signal
    const result = await provider.complete(
      request({
        signal,
        messages: [
          { role: 'user', content: 'Hi' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'abcDEF123', type: 'function', function: { name: 'f', arguments: '{}' } },
            ],
          },
        ],
        params: { max_tokens: 100, temperature: 0 },
      }),
    )
    expect(result).toEqual({
      text: 'Hello',
      finishReason: 'stop',
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    })
    expect(calls).toHaveLength(1)
    expect(calls[0]?.model).toBe(MODEL)
    expect(calls[0]?.inputs).toEqual({
      messages: [
        { role: 'user', content: 'Hi' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'abcDEF123', type: 'function', function: { name: 'f', arguments: '{}' } },
          ],
        },
      ],
      stream: false,
      temperature: 0,
      max_tokens: 100,
    })
    expect(calls[0]?.options).toEqual({ signal })
  })

  it('passes the gateway options through to ai.run', async () => {
    const { ai, calls } = fakeBinding(() => ({ response: 'ok' }))
    const gateway = { id: 'my-gw', cacheTtl: 120, skipCache: false }
    await createWorkersAIBindingProvider(ai, { gateway }).complete(request())
    expect(calls[0]?.options).toEqual({ signal: expect.any(AbortSignal), gateway })
  })

  it('normalises a stream answer of native frames, tool-call fragments and OpenAI chunks', async () => {
    for (const fixture of [NATIVE, NATIVE_TOOL_CALLS, OPENAI_ON_RUN]) {
      const { ai, calls } = fakeBinding(() => recordedBody([fixture.body]).stream)
      const events = await collect(await createWorkersAIBindingProvider(ai).stream(request()))
      expect(events).toEqual(fixture.events)
      expect(calls[0]?.inputs.stream).toBe(true)
    }
  })

  it('replays an object answered to a stream request', async () => {
    const { ai } = fakeBinding(() => ({
      id: 'c',
      object: 'chat.completion',
      created: 1,
      model: '@cf/openai/gpt-oss-20b',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }],
    }))
    expect(await collect(await createWorkersAIBindingProvider(ai).stream(request()))).toEqual([
      { type: 'text', text: 'Hi' },
      { type: 'finish', reason: 'stop' },
    ])
  })

  it('asks once more with stream false when a stream request gets an empty object', async () => {
    const answers: unknown[] = [{}, { response: 'Whole.' }]
    const { ai, calls } = fakeBinding(() => answers.shift())
    expect(await collect(await createWorkersAIBindingProvider(ai).stream(request()))).toEqual([
      { type: 'text', text: 'Whole.' },
      { type: 'finish', reason: 'stop' },
    ])
    expect(calls.map((call) => call.inputs.stream)).toEqual([true, false])
  })

  it('maps InferenceUpstreamError messages to the code and the status from the code table', async () => {
    const cases: Array<[string, number, string]> = [
      ['3040: Capacity temporarily exceeded', 429, '3040'],
      ['AiError: 5007: No such model @cf/nope or task', 400, '5007'],
      ['3007: Request timeout', 408, '3007'],
      ['9999: Something new', 500, '9999'],
    ]
    for (const [message, status, code] of cases) {
      const error = Object.assign(new Error(message), { name: 'InferenceUpstreamError' })
      const { ai } = fakeBinding(() => {
        throw error
      })
      const failure = await createWorkersAIBindingProvider(ai)
        .stream(request())
        .catch((e: unknown) => e)
      expect(failure).toBeInstanceOf(UpstreamError)
      expect(failure).toMatchObject({ kind: 'http', status, code, cause: error })
    }
    const { ai } = fakeBinding(() => {
      throw new Error('3040: Capacity temporarily exceeded')
    })
    const failure = await createWorkersAIBindingProvider(ai)
      .complete(request())
      .then(unexpected, (e: Error) => e)
    expect(failure.message).toBe(
      'Workers AI binding failed (code 3040): Capacity temporarily exceeded',
    )
  })

  it('reports a binding error without a code as a network failure', async () => {
    const { ai } = fakeBinding(() => {
      throw new Error('Network connection lost.')
    })
    await expect(createWorkersAIBindingProvider(ai).complete(request())).rejects.toMatchObject({
      kind: 'network',
      status: undefined,
    })
  })

  it('lets an abort propagate unchanged and cancels a stream answer when aborted mid-stream', async () => {
    const controller = new AbortController()
    const reason = new DOMException('gone', 'AbortError')
    const { ai } = fakeBinding(({ options }) => {
      const signal = (options as { signal: AbortSignal }).signal
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason)),
      )
    })
    const pending = createWorkersAIBindingProvider(ai).stream(
      request({ signal: controller.signal }),
    )
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)

    const body = recordedBody(['data: {"response":"a"}\n\n'], { hang: true })
    const second = new AbortController()
    const streaming = fakeBinding(() => body.stream)
    const events = await createWorkersAIBindingProvider(streaming.ai).stream(
      request({ signal: second.signal }),
    )
    const iterator = events[Symbol.asyncIterator]()
    expect(await iterator.next()).toEqual({ done: false, value: { type: 'text', text: 'a' } })
    const next = iterator.next()
    second.abort()
    await expect(next).rejects.toMatchObject({ name: 'AbortError' })
    expect(body.cancelled).toBe(true)
  })

  it('refuses something that is not a binding', () => {
    expect(() => createWorkersAIBindingProvider({} as WorkersAIBinding)).toThrow(/env\.AI/)
  })
})

function unexpected(): never {
  throw new Error('expected a rejection')
}
