import { describe, expect, it } from 'vitest'
import { createOpenAICompatibleProvider } from '../../../src/server/providers/openai-compatible'
import type { ProviderRequest } from '../../../src/server/providers/provider'
import { OPENAI_SNAPSHOT, OPENAI_TOOL_CALLS } from './fixtures'
import { collect, jsonResponse, recordingFetch, sseResponse } from './helpers'

function request(overrides: Partial<ProviderRequest> = {}): ProviderRequest {
  return {
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'Hi' }],
    params: {},
    signal: new AbortController().signal,
    ...overrides,
  }
}

describe('createOpenAICompatibleProvider', () => {
  it('posts to {baseURL}/chat/completions with the model in the body and asks for usage when streaming', async () => {
    const { fetch, calls } = recordingFetch(() => sseResponse([OPENAI_SNAPSHOT.body]))
    const provider = createOpenAICompatibleProvider({
      baseURL: 'http://127.0.0.1:11434/v1/',
      fetch,
      name: 'ollama',
    })
    expect(provider.name).toBe('ollama')
    const events = await collect(await provider.stream(request({ params: { top_p: 0.9 } })))
    expect(events).toEqual(OPENAI_SNAPSHOT.events)
    expect(calls[0]?.url).toBe('http://127.0.0.1:11434/v1/chat/completions')
    expect(calls[0]?.headers).toEqual({ 'content-type': 'application/json' })
    expect(calls[0]?.body).toEqual({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
      top_p: 0.9,
      stream_options: { include_usage: true },
    })
  })

  it('sends Bearer auth and extra headers, keeps null content, and no stream_options without streaming', async () => {
    const { fetch, calls } = recordingFetch(() =>
      jsonResponse({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o-mini',
        choices: [
          { index: 0, message: { role: 'assistant', content: 'Yo' }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
      }),
    )
    const provider = createOpenAICompatibleProvider({
      baseURL: 'https://api.openai.com/v1',
      apiKey: 'sk-test-secret',
      headers: { 'OpenAI-Organization': 'org-1' },
      fetch,
    })
    expect(provider.name).toBe('openai-compatible')
    const messages: ProviderRequest['messages'] = [
      { role: 'user', content: 'Hi' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
      { role: 'tool', content: 'done', tool_call_id: 'call_1' },
    ]
    const result = await provider.complete(request({ model: 'gpt-4o-mini', messages }))
    expect(result).toEqual({
      text: 'Yo',
      finishReason: 'stop',
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    })
    expect(calls[0]?.url).toBe('https://api.openai.com/v1/chat/completions')
    expect(calls[0]?.headers).toEqual({
      authorization: 'Bearer sk-test-secret',
      'content-type': 'application/json',
      'openai-organization': 'org-1',
    })
    expect(calls[0]?.body).toEqual({ model: 'gpt-4o-mini', messages, stream: false })
  })

  it('streams tool-call deltas', async () => {
    const { fetch } = recordingFetch(() => sseResponse([OPENAI_TOOL_CALLS.body]))
    const provider = createOpenAICompatibleProvider({ baseURL: 'http://x/v1', fetch })
    expect(await collect(await provider.stream(request()))).toEqual(OPENAI_TOOL_CALLS.events)
  })

  it('maps OpenAI error JSON, Ollama error strings and Retry-After to UpstreamError', async () => {
    const answers = [
      jsonResponse(
        {
          error: {
            message: 'Rate limit reached for gpt-4o-mini',
            type: 'requests',
            code: 'rate_limit_exceeded',
            param: null,
          },
        },
        { status: 429, headers: { 'retry-after': '2' } },
      ),
      jsonResponse({ error: 'model "nope" not found, try pulling it first' }, { status: 404 }),
      jsonResponse(
        {
          error: {
            message: 'Incorrect API key provided: sk-test-secret',
            type: 'invalid_request_error',
            code: null,
          },
        },
        { status: 401 },
      ),
    ]
    const provider = createOpenAICompatibleProvider({
      baseURL: 'http://x/v1',
      apiKey: 'sk-test-secret',
      fetch: async () => answers.shift() as Response,
      name: 'openai',
    })
    const rate = await provider.stream(request()).then(unexpected, (e: Error) => e)
    expect(rate).toMatchObject({
      kind: 'http',
      status: 429,
      code: 'rate_limit_exceeded',
      retryAfterMs: 2000,
    })
    expect(rate.message).toBe(
      'openai answered 429 (code rate_limit_exceeded): Rate limit reached for gpt-4o-mini',
    )
    const missing = await provider.complete(request()).then(unexpected, (e: Error) => e)
    expect(missing).toMatchObject({ kind: 'http', status: 404, code: undefined })
    expect(missing.message).toBe(
      'openai answered 404: model "nope" not found, try pulling it first',
    )
    const auth = await provider.complete(request()).then(unexpected, (e: Error) => e)
    expect(auth).toMatchObject({ status: 401, code: 'invalid_request_error' })
    expect(auth.message).not.toContain('sk-test-secret')
  })

  it('replays a JSON answer to a stream request and rejects an error object answered with 200', async () => {
    const answers = [
      jsonResponse({
        choices: [
          { index: 0, message: { role: 'assistant', content: 'Whole' }, finish_reason: 'stop' },
        ],
      }),
      jsonResponse({ error: { message: 'upstream overloaded', type: 'server_error', code: null } }),
    ]
    const provider = createOpenAICompatibleProvider({
      baseURL: 'http://x/v1',
      fetch: async () => answers.shift() as Response,
    })
    expect(await collect(await provider.stream(request()))).toEqual([
      { type: 'text', text: 'Whole' },
      { type: 'finish', reason: 'stop' },
    ])
    await expect(provider.complete(request())).rejects.toMatchObject({
      kind: 'http',
      status: 502,
      code: 'server_error',
    })
  })
})

function unexpected(): never {
  throw new Error('expected a rejection')
}
