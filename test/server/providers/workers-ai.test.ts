import { describe, expect, it } from 'vitest'
import type { ProviderRequest } from '../../../src/server/providers/provider'
import { UpstreamError } from '../../../src/server/providers/provider'
import { createWorkersAIProvider } from '../../../src/server/providers/workers-ai'
import { NATIVE, OPENAI_ON_RUN } from './fixtures'
import {
  collect,
  collectUntilError,
  jsonResponse,
  recordedBody,
  recordingFetch,
  sseResponse,
} from './helpers'

const API_KEY = 'cf-secret-token-123456'
const ACCOUNT = 'acc123'
const MODEL = '@cf/meta/llama-3.1-8b-instruct'

function request(overrides: Partial<ProviderRequest> = {}): ProviderRequest {
  return {
    model: MODEL,
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ],
    params: {},
    signal: new AbortController().signal,
    ...overrides,
  }
}

const nativeResult = {
  result: {
    response: 'Hello!',
    usage: { prompt_tokens: 21, completion_tokens: 14, total_tokens: 35 },
  },
  success: true,
  errors: [],
  messages: [],
}

describe('createWorkersAIProvider', () => {
  it('posts to /ai/run/{model} with the model unencoded, Bearer auth and the forwarded params', async () => {
    const { fetch, calls } = recordingFetch(() => jsonResponse(nativeResult))
    const provider = createWorkersAIProvider({ accountId: ACCOUNT, apiKey: API_KEY, fetch })
    expect(provider.name).toBe('workers-ai')
    await provider.complete(
      request({
        params: {
          temperature: 0.2,
          max_tokens: 512,
          seed: 7,
          stop: ['\n\n'],
          tools: [{ type: 'function', function: { name: 'get_weather', parameters: {} } }],
          tool_choice: 'auto',
        },
      }),
    )
    expect(calls).toHaveLength(1)
    const call = calls[0]
    expect(call?.url).toBe(
      'https://api.cloudflare.com/client/v4/accounts/acc123/ai/run/@cf/meta/llama-3.1-8b-instruct',
    )
    expect(call?.method).toBe('POST')
    expect(call?.headers).toEqual({
      authorization: `Bearer ${API_KEY}`,
      'content-type': 'application/json',
    })
    expect(call?.body).toEqual({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      stream: false,
      temperature: 0.2,
      max_tokens: 512,
      seed: 7,
      stop: ['\n\n'],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: {} } }],
      tool_choice: 'auto',
    })
  })

  it('streams from /ai/run with stream true and never sends stream_options', async () => {
    const { fetch, calls } = recordingFetch(() => sseResponse([NATIVE.body]))
    const provider = createWorkersAIProvider({
      accountId: ACCOUNT,
      apiKey: API_KEY,
      fetch,
      baseURL: 'http://127.0.0.1:8787/client/v4/',
    })
    const events = await collect(await provider.stream(request()))
    expect(events).toEqual(NATIVE.events)
    expect(calls[0]?.url).toBe(
      'http://127.0.0.1:8787/client/v4/accounts/acc123/ai/run/@cf/meta/llama-3.1-8b-instruct',
    )
    expect(calls[0]?.body).toEqual({
      messages: request().messages,
      stream: true,
    })
  })

  it('uses /ai/v1/chat/completions with the model in the body and asks for usage on the openai route', async () => {
    const { fetch, calls } = recordingFetch(() => sseResponse([OPENAI_ON_RUN.body]))
    const provider = createWorkersAIProvider({
      accountId: ACCOUNT,
      apiKey: API_KEY,
      fetch,
      route: 'openai',
    })
    const events = await collect(await provider.stream(request({ params: { max_tokens: 64 } })))
    expect(events).toEqual(OPENAI_ON_RUN.events)
    expect(calls[0]?.url).toBe(
      'https://api.cloudflare.com/client/v4/accounts/acc123/ai/v1/chat/completions',
    )
    expect(calls[0]?.body).toEqual({
      model: MODEL,
      messages: request().messages,
      stream: true,
      max_tokens: 64,
      stream_options: { include_usage: true },
    })
  })

  it('builds the AI Gateway URL and sends its cache and auth headers', async () => {
    const { fetch, calls } = recordingFetch(() => jsonResponse(nativeResult))
    const provider = createWorkersAIProvider({
      accountId: ACCOUNT,
      apiKey: API_KEY,
      fetch,
      gateway: { id: 'my-gw', cacheTtl: 3600, authToken: 'gw-token' },
    })
    await provider.complete(request())
    expect(calls[0]?.url).toBe(
      'https://gateway.ai.cloudflare.com/v1/acc123/my-gw/workers-ai/@cf/meta/llama-3.1-8b-instruct',
    )
    expect(calls[0]?.headers).toEqual({
      authorization: `Bearer ${API_KEY}`,
      'content-type': 'application/json',
      'cf-aig-cache-ttl': '3600',
      'cf-aig-authorization': 'Bearer gw-token',
    })
  })

  it('sends cf-aig-skip-cache for skipCache and for a zero cacheTtl, and the gateway OpenAI route', async () => {
    const { fetch, calls } = recordingFetch(() => jsonResponse(nativeResult))
    await createWorkersAIProvider({
      accountId: ACCOUNT,
      apiKey: API_KEY,
      fetch,
      gateway: { id: 'gw', skipCache: true },
    }).complete(request())
    await createWorkersAIProvider({
      accountId: ACCOUNT,
      apiKey: API_KEY,
      fetch,
      route: 'openai',
      gateway: { id: 'gw', cacheTtl: 0 },
    }).complete(request())
    expect(
      calls.map((c) => [c.url, c.headers['cf-aig-skip-cache'], c.headers['cf-aig-cache-ttl']]),
    ).toEqual([
      [
        'https://gateway.ai.cloudflare.com/v1/acc123/gw/workers-ai/@cf/meta/llama-3.1-8b-instruct',
        'true',
        undefined,
      ],
      [
        'https://gateway.ai.cloudflare.com/v1/acc123/gw/workers-ai/v1/chat/completions',
        'true',
        undefined,
      ],
    ])
  })

  it('coerces null message content to an empty string', async () => {
    const { fetch, calls } = recordingFetch(() => jsonResponse(nativeResult))
    await createWorkersAIProvider({ accountId: ACCOUNT, apiKey: API_KEY, fetch }).complete(
      request({
        messages: [
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'abcDEF123', type: 'function', function: { name: 'w', arguments: '{}' } },
            ],
          },
          { role: 'tool', content: 'sunny', tool_call_id: 'abcDEF123' },
        ],
      }),
    )
    expect((calls[0]?.body as { messages: unknown[] } | undefined)?.messages[1]).toEqual({
      role: 'assistant',
      content: '',
      tool_calls: [{ id: 'abcDEF123', type: 'function', function: { name: 'w', arguments: '{}' } }],
    })
  })

  it('rejects missing credentials at creation', () => {
    expect(() => createWorkersAIProvider({ accountId: '', apiKey: API_KEY })).toThrow(/accountId/)
    expect(() => createWorkersAIProvider({ accountId: ACCOUNT, apiKey: '' })).toThrow(/apiKey/)
  })

  describe('non-stream answers', () => {
    async function complete(body: unknown, route: 'run' | 'openai' = 'run') {
      const { fetch } = recordingFetch(() => jsonResponse(body))
      return createWorkersAIProvider({
        accountId: ACCOUNT,
        apiKey: API_KEY,
        fetch,
        route,
      }).complete(request())
    }

    it('reads a string response with usage from the v4 envelope', async () => {
      expect(await complete(nativeResult)).toEqual({
        text: 'Hello!',
        finishReason: 'stop',
        usage: { prompt_tokens: 21, completion_tokens: 14, total_tokens: 35 },
      })
    })

    it('renders an object (JSON mode) or numeric response as text', async () => {
      expect(
        (await complete({ result: { response: { name: 'India' } }, success: true, errors: [] }))
          .text,
      ).toBe('{"name":"India"}')
      expect((await complete({ result: { response: 42 }, success: true, errors: [] })).text).toBe(
        '42',
      )
    })

    it('reads legacy and OpenAI-form tool calls', async () => {
      const result = await complete({
        result: {
          response: '',
          tool_calls: [
            { name: 'get_weather', arguments: { city: 'London' } },
            {
              id: 'call_2',
              type: 'function',
              function: { name: 'get_time', arguments: '{"tz":"UTC"}' },
            },
          ],
          usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3, neurons: 0.1 },
        },
        success: true,
        errors: [],
        messages: [],
      })
      expect(result).toEqual({
        text: '',
        finishReason: 'tool_calls',
        toolCalls: [
          {
            id: expect.stringMatching(/^[a-zA-Z0-9]{9}$/),
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"London"}' },
          },
          {
            id: 'call_2',
            type: 'function',
            function: { name: 'get_time', arguments: '{"tz":"UTC"}' },
          },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      })
    })

    it('reads a chat.completion inside the envelope, with reasoning and finish reason', async () => {
      const result = await complete({
        result: {
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: '@cf/openai/gpt-oss-20b',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: 'Forty-two.', reasoning_content: 'Think.' },
              finish_reason: 'length',
            },
          ],
          usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
        },
        success: true,
        errors: [],
      })
      expect(result).toEqual({
        text: 'Forty-two.',
        reasoning: 'Think.',
        finishReason: 'length',
        usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
      })
    })

    it('reads plain OpenAI JSON on the openai route', async () => {
      const result = await complete(
        {
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: MODEL,
          choices: [
            { index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' },
          ],
        },
        'openai',
      )
      expect(result).toEqual({ text: 'Hi', finishReason: 'stop' })
    })

    it('throws malformed for a body that is not JSON', async () => {
      const fetch = async () =>
        new Response('<html>oops</html>', { headers: { 'content-type': 'text/html' } })
      await expect(
        createWorkersAIProvider({ accountId: ACCOUNT, apiKey: API_KEY, fetch }).complete(request()),
      ).rejects.toMatchObject({ name: 'UpstreamError', kind: 'malformed' })
    })
  })

  describe('errors', () => {
    async function failWith(response: Response) {
      const provider = createWorkersAIProvider({
        accountId: ACCOUNT,
        apiKey: API_KEY,
        fetch: async () => response,
      })
      return provider.stream(request()).then(
        () => {
          throw new Error('expected a rejection')
        },
        (error: unknown) => error as UpstreamError,
      )
    }

    it('maps the v4 error envelope to status, code and a message without the AiError noise', async () => {
      const error = await failWith(
        jsonResponse(
          {
            errors: [
              {
                message:
                  "AiError: AiError: you have used up your daily free allocation of 10,000 neurons, please upgrade to Cloudflare's Workers Paid plan if you would like to continue usage. (51afe8c9-aaaa)",
                code: 4006,
              },
            ],
            success: false,
            result: {},
            messages: [],
          },
          { status: 429 },
        ),
      )
      expect(error).toBeInstanceOf(UpstreamError)
      expect(error).toMatchObject({
        kind: 'http',
        status: 429,
        code: '4006',
        retryAfterMs: undefined,
      })
      expect(error.message).toBe(
        "Workers AI answered 429 (code 4006): you have used up your daily free allocation of 10,000 neurons, please upgrade to Cloudflare's Workers Paid plan if you would like to continue usage. (51afe8c9-aaaa)",
      )
    })

    it('parses Retry-After in seconds and as an HTTP-date', async () => {
      const seconds = await failWith(
        jsonResponse(
          { errors: [{ code: 3040, message: 'Capacity temporarily exceeded, please try again.' }] },
          { status: 429, headers: { 'retry-after': '7' } },
        ),
      )
      expect(seconds).toMatchObject({ status: 429, code: '3040', retryAfterMs: 7000 })
      const date = new Date(Date.now() + 30_000).toUTCString()
      const dated = await failWith(
        jsonResponse(
          { errors: [{ code: 3040, message: 'busy' }] },
          {
            status: 503,
            headers: { 'retry-after': date },
          },
        ),
      )
      expect(dated.retryAfterMs).toBeGreaterThan(25_000)
      expect(dated.retryAfterMs).toBeLessThanOrEqual(30_000)
    })

    it('maps an auth failure and a non-JSON error body', async () => {
      const auth = await failWith(
        jsonResponse(
          {
            result: null,
            success: false,
            errors: [{ code: 10000, message: 'Authentication error' }],
          },
          { status: 401 },
        ),
      )
      expect(auth).toMatchObject({ status: 401, code: '10000' })
      expect(auth.message).toBe('Workers AI answered 401 (code 10000): Authentication error')
      const gateway = await failWith(new Response('Bad Gateway', { status: 502 }))
      expect(gateway).toMatchObject({ kind: 'http', status: 502, code: undefined })
      expect(gateway.message).toBe('Workers AI answered 502: Bad Gateway')
    })

    it('never puts the API key in an error message, even when the upstream echoes it', async () => {
      const error = await failWith(
        jsonResponse(
          { errors: [{ code: 3003, message: `bad header Bearer ${API_KEY}` }] },
          { status: 400 },
        ),
      )
      expect(error.message).not.toContain(API_KEY)
      expect(error.message).toContain('[redacted]')
    })

    it('redacts the key before shortening a long message, so no part of it survives the cut', async () => {
      const error = await failWith(
        jsonResponse(
          { errors: [{ code: 5006, message: `${'x'.repeat(480)} ${API_KEY}` }] },
          { status: 400 },
        ),
      )
      expect(error.message).not.toContain(API_KEY.slice(0, 6))
    })

    it('redacts the key from an in-stream error frame and a malformed frame', async () => {
      for (const frame of [
        `data: {"errors":[{"code":3040,"message":"echo ${API_KEY}"}]}\n\n`,
        `data: {oops ${API_KEY}}\n\n`,
      ]) {
        const provider = createWorkersAIProvider({
          accountId: ACCOUNT,
          apiKey: API_KEY,
          fetch: async () => sseResponse([frame]),
        })
        const { error } = await collectUntilError(await provider.stream(request()))
        expect(error).toBeInstanceOf(UpstreamError)
        expect((error as Error).message).not.toContain(API_KEY)
        expect((error as Error).message).toContain('[redacted]')
      }
    })

    it('turns a fetch rejection into a network UpstreamError', async () => {
      const cause = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') })
      const provider = createWorkersAIProvider({
        accountId: ACCOUNT,
        apiKey: API_KEY,
        fetch: async () => {
          throw cause
        },
      })
      const error = await provider.complete(request()).catch((e: unknown) => e)
      expect(error).toMatchObject({ name: 'UpstreamError', kind: 'network', cause })
      expect((error as Error).message).toBe(
        'Workers AI could not be reached: fetch failed (connect ECONNREFUSED)',
      )
    })

    it('lets a body that cannot be serialised fail as itself, not as a network error, without calling fetch', async () => {
      const { fetch, calls } = recordingFetch(() => jsonResponse(nativeResult))
      const cyclic: Record<string, unknown> = { type: 'object' }
      cyclic.self = cyclic
      const provider = createWorkersAIProvider({ accountId: ACCOUNT, apiKey: API_KEY, fetch })
      const error = await provider
        .complete(
          request({
            params: { tools: [{ type: 'function', function: { name: 'f', parameters: cyclic } }] },
          }),
        )
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TypeError)
      expect(error).not.toBeInstanceOf(UpstreamError)
      expect(calls).toHaveLength(0)
    })

    it('lets an abort of the request signal propagate as the AbortError itself', async () => {
      const controller = new AbortController()
      const provider = createWorkersAIProvider({
        accountId: ACCOUNT,
        apiKey: API_KEY,
        fetch: (_url, init) =>
          new Promise((_, reject) => {
            init.signal?.addEventListener('abort', () => reject(init.signal?.reason))
          }),
      })
      const pending = provider.stream(request({ signal: controller.signal }))
      const reason = new DOMException('This operation was aborted', 'AbortError')
      controller.abort(reason)
      await expect(pending).rejects.toBe(reason)
    })
  })

  it('cancels the upstream body when aborted mid-stream and rethrows the abort', async () => {
    const body = recordedBody(['data: {"response":"a"}\n\n'], { hang: true })
    const controller = new AbortController()
    const provider = createWorkersAIProvider({
      accountId: ACCOUNT,
      apiKey: API_KEY,
      fetch: async () =>
        new Response(body.stream, { headers: { 'content-type': 'text/event-stream' } }),
    })
    const events = await provider.stream(request({ signal: controller.signal }))
    const iterator = events[Symbol.asyncIterator]()
    expect(await iterator.next()).toEqual({ done: false, value: { type: 'text', text: 'a' } })
    const pending = iterator.next()
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    expect(body.cancelled).toBe(true)
  })

  it('replays JSON answered to a stream request as a synthetic stream (the gpt-oss quirk)', async () => {
    const { fetch } = recordingFetch(() =>
      jsonResponse({
        result: {
          id: 'x',
          object: 'chat.completion',
          created: 1,
          model: '@cf/openai/gpt-oss-120b',
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: null,
                reasoning: 'Need weather.',
                tool_calls: [
                  { id: 'call_1', type: 'function', function: { name: 'w', arguments: '{"c":1}' } },
                ],
              },
              finish_reason: 'tool_calls',
            },
          ],
          usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
        },
        success: true,
        errors: [],
      }),
    )
    const provider = createWorkersAIProvider({ accountId: ACCOUNT, apiKey: API_KEY, fetch })
    expect(await collect(await provider.stream(request()))).toEqual([
      { type: 'reasoning', text: 'Need weather.' },
      {
        type: 'tool-call',
        delta: {
          index: 0,
          id: 'call_1',
          type: 'function',
          function: { name: 'w', arguments: '{"c":1}' },
        },
      },
      { type: 'usage', usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } },
      { type: 'finish', reason: 'tool_calls' },
    ])
  })

  it('asks once more with stream false when a stream request gets an empty JSON result (gpt-oss)', async () => {
    const answers = [
      jsonResponse({ result: {}, success: true, errors: [], messages: [] }),
      jsonResponse({ result: { response: 'Whole answer.' }, success: true, errors: [] }),
    ]
    const { fetch, calls } = recordingFetch(() => answers.shift() as Response)
    const provider = createWorkersAIProvider({ accountId: ACCOUNT, apiKey: API_KEY, fetch })
    expect(
      await collect(await provider.stream(request({ model: '@cf/openai/gpt-oss-120b' }))),
    ).toEqual([
      { type: 'text', text: 'Whole answer.' },
      { type: 'finish', reason: 'stop' },
    ])
    expect(calls.map((call) => (call.body as { stream: boolean }).stream)).toEqual([true, false])
    expect(calls[1]?.url).toBe(calls[0]?.url)
  })

  it('reports an error envelope answered with 200 to a stream request as an http error', async () => {
    const { fetch } = recordingFetch(() =>
      jsonResponse({
        success: false,
        errors: [{ code: 3040, message: 'Capacity temporarily exceeded' }],
        result: null,
      }),
    )
    const provider = createWorkersAIProvider({ accountId: ACCOUNT, apiKey: API_KEY, fetch })
    await expect(provider.stream(request())).rejects.toMatchObject({
      kind: 'http',
      status: 429,
      code: '3040',
    })
  })

  it('surfaces truncation of a provider stream', async () => {
    const { fetch } = recordingFetch(() => sseResponse(['data: {"response":"Hel","p":"x"}\n\n']))
    const provider = createWorkersAIProvider({ accountId: ACCOUNT, apiKey: API_KEY, fetch })
    const { events, error } = await collectUntilError(await provider.stream(request()))
    expect(events).toEqual([{ type: 'text', text: 'Hel' }])
    expect(error).toMatchObject({ kind: 'truncated' })
  })
})
