import { describe, expect, it } from 'vitest'
import type { CopilotEdgeConfig } from '../../src/server'
import { createCopilotEdgeHandler, UpstreamError } from '../../src/server'
import { fakeProvider, httpError, text } from './helpers/fake-provider'
import { hello, post, URL_ } from './helpers/post'

function handlerWith(config: CopilotEdgeConfig = {}) {
  const provider = fakeProvider([{ events: text('ok') }])
  return { provider, handler: createCopilotEdgeHandler({ provider, ...config }) }
}

async function expectError(
  response: Response,
  status: number,
  type: string,
  param: string | null = null,
) {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
  const body = await response.json()
  expect(body.error).toMatchObject({ type, param })
  expect(typeof body.error.message).toBe('string')
  expect(body.error).toHaveProperty('code')
  return body.error as { message: string; code: string | null }
}

describe('requests the handler refuses', () => {
  it('answers 405 with Allow: POST for other methods', async () => {
    const { handler, provider } = handlerWith()
    for (const method of ['GET', 'PUT', 'DELETE', 'HEAD']) {
      const response = await handler(new Request(URL_, { method }))
      expect(response.status).toBe(405)
      expect(response.headers.get('allow')).toBe('POST')
    }
    expect(provider.calls).toHaveLength(0)
  })

  it('answers 415 when the body is not declared as JSON', async () => {
    const { handler } = handlerWith()
    const form = new Request(URL_, {
      method: 'POST',
      body: 'messages=hi',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    })
    await expectError(await handler(form), 415, 'invalid_request_error')
    const none = new Request(URL_, { method: 'POST', body: new Blob([JSON.stringify(hello)]) })
    await expectError(await handler(none), 415, 'invalid_request_error')
  })

  it('accepts application/json with a charset and +json types', async () => {
    const { handler } = handlerWith()
    for (const type of ['application/json; charset=utf-8', 'application/vnd.api+json']) {
      const response = await handler(post(hello, { 'Content-Type': type }))
      expect(response.status).toBe(200)
    }
  })

  it('answers 413 when Content-Length is over the body limit, without reading it', async () => {
    const { handler } = handlerWith({ limits: { maxBodyBytes: 100 } })
    const request = new Request(URL_, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': '5000' },
      body: JSON.stringify(hello),
    })
    await expectError(await handler(request), 413, 'invalid_request_error')
  })

  it('stops reading an endless body at the byte limit and answers 413', async () => {
    const { handler } = handlerWith({ limits: { maxBodyBytes: 1024 } })
    let produced = 0
    let cancelled = false
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        produced += 256
        controller.enqueue(new Uint8Array(256).fill(32))
      },
      cancel() {
        cancelled = true
      },
    })
    const request = new Request(URL_, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: endless,
      duplex: 'half',
    } as RequestInit)
    await expectError(await handler(request), 413, 'invalid_request_error')
    expect(produced).toBeLessThanOrEqual(1024 + 256 * 4)
    expect(cancelled).toBe(true)
  })

  it('answers 400 for a body that is not valid UTF-8', async () => {
    const { handler } = handlerWith()
    const bytes = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])
    const request = new Request(URL_, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: bytes,
    })
    const error = await expectError(await handler(request), 400, 'invalid_request_error')
    expect(error.message).toMatch(/UTF-8/)
  })

  it('answers 400 for malformed JSON, an empty body and non-object bodies', async () => {
    const { handler } = handlerWith()
    for (const body of ['{"messages": [', '', 'null', '"hi"', '[1,2]', '42']) {
      await expectError(await handler(post(body)), 400, 'invalid_request_error')
    }
  })

  it.each([
    [{}, 'messages'],
    [{ messages: [] }, 'messages'],
    [{ messages: 'hi' }, 'messages'],
    [{ messages: [null] }, 'messages[0]'],
    [{ messages: [{ role: 'wizard', content: 'hi' }] }, 'messages[0].role'],
    [{ messages: [{ role: 'user' }] }, 'messages[0].content'],
    [{ messages: [{ role: 'user', content: 42 }] }, 'messages[0].content'],
    [{ messages: [{ role: 'user', content: [{ type: 'audio' }] }] }, 'messages[0].content[0]'],
    [{ messages: [{ role: 'tool', content: '{}' }] }, 'messages[0].tool_call_id'],
    [{ messages: [{ role: 'user', content: 'hi', tool_calls: [] }] }, 'messages[0].tool_calls'],
    [{ ...hello, temperature: 9 }, 'temperature'],
    [{ ...hello, temperature: '0.5' }, 'temperature'],
    [{ ...hello, top_p: 1.5 }, 'top_p'],
    [{ ...hello, max_tokens: 0 }, 'max_tokens'],
    [{ ...hello, max_tokens: 1.5 }, 'max_tokens'],
    [{ ...hello, seed: 0.5 }, 'seed'],
    [{ ...hello, presence_penalty: 3 }, 'presence_penalty'],
    [{ ...hello, frequency_penalty: -3 }, 'frequency_penalty'],
    [{ ...hello, stop: [1] }, 'stop'],
    [{ ...hello, stream: 'yes' }, 'stream'],
    [{ ...hello, stream_options: { include_usage: 'yes' } }, 'stream_options.include_usage'],
    [{ ...hello, tools: [{ type: 'function' }] }, 'tools[0]'],
    [{ ...hello, tool_choice: 'any' }, 'tool_choice'],
    [{ ...hello, cache: 'no' }, 'cache'],
    [{ ...hello, model: '@cf/openai/gpt-oss-120b' }, 'model'],
  ])('answers 400 naming the field for %j', async (body, param) => {
    const { handler, provider } = handlerWith()
    await expectError(await handler(post(body)), 400, 'invalid_request_error', param)
    expect(provider.calls).toHaveLength(0)
  })

  it('answers 400 to tool parameters nested deeper than 64 levels, without overflowing the stack', async () => {
    const { handler } = handlerWith()
    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`
    const body = `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${deep}}}]}`
    await expectError(
      await handler(post(body)),
      400,
      'invalid_request_error',
      'tools[0].function.parameters',
    )
  })

  it('ignores unknown fields that OpenAI clients send', async () => {
    const { handler, provider } = handlerWith()
    const response = await handler(
      post({ ...hello, user: 'u1', metadata: { a: 1 }, n: 1, logprobs: false }),
    )
    expect(response.status).toBe(200)
    expect(provider.calls[0]!.request.params).toEqual({})
  })

  it('accepts a model from `models`, defaulting to [model, fallback]', async () => {
    const { handler, provider } = handlerWith({ model: 'a', fallback: 'b' })
    expect((await handler(post({ ...hello, model: 'b' }))).status).toBe(200)
    expect(provider.calls[0]!.request.model).toBe('b')
    await expectError(
      await handler(post({ ...hello, model: 'c' })),
      400,
      'invalid_request_error',
      'model',
    )
    const listed = handlerWith({ model: 'a', models: ['a', 'c'] })
    expect((await listed.handler(post({ ...hello, model: 'c' }))).status).toBe(200)
  })

  it('answers 413 over the message count and the characters per message', async () => {
    const { handler } = handlerWith({ limits: { maxMessages: 2, maxMessageChars: 10 } })
    const many = { messages: Array.from({ length: 3 }, () => ({ role: 'user', content: 'x' })) }
    await expectError(await handler(post(many)), 413, 'invalid_request_error', 'messages')
    const long = { messages: [{ role: 'user', content: 'x'.repeat(11) }] }
    await expectError(
      await handler(post(long)),
      413,
      'invalid_request_error',
      'messages[0].content',
    )
    const parts = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'xxxxxx' },
            { type: 'text', text: 'xxxxx' },
          ],
        },
      ],
    }
    await expectError(
      await handler(post(parts)),
      413,
      'invalid_request_error',
      'messages[0].content',
    )
  })

  it('applies the default limits: 500 messages and 100,000 characters', async () => {
    const { handler } = handlerWith()
    const ok = { messages: Array.from({ length: 500 }, () => ({ role: 'user', content: 'x' })) }
    expect((await handler(post(ok))).status).toBe(200)
    const many = { messages: Array.from({ length: 501 }, () => ({ role: 'user', content: 'x' })) }
    expect((await handler(post(many))).status).toBe(413)
    const long = { messages: [{ role: 'user', content: 'x'.repeat(100_001) }] }
    expect((await handler(post(long))).status).toBe(413)
  })

  it('treats a zero limit as no limit', async () => {
    const { handler } = handlerWith({ limits: { maxMessageChars: 0 } })
    const long = { messages: [{ role: 'user', content: 'x'.repeat(200_000) }] }
    expect((await handler(post(long))).status).toBe(200)
  })

  it('accepts tool messages, assistant tool calls and content parts', async () => {
    const { handler, provider } = handlerWith()
    const body = {
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'weather?' }] },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'w', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"t":20}', extra: 'dropped' },
      ],
      tools: [{ type: 'function', function: { name: 'w', parameters: { type: 'object' } } }],
      tool_choice: 'auto',
    }
    expect((await handler(post(body))).status).toBe(200)
    expect(provider.calls[0]!.request.messages[3]).toEqual({
      role: 'tool',
      tool_call_id: 'call_1',
      content: '{"t":20}',
    })
    expect(provider.calls[0]!.request.params.tool_choice).toBe('auto')
  })

  it('forwards max_completion_tokens as max_tokens and the generation parameters', async () => {
    const { handler, provider } = handlerWith()
    const body = {
      ...hello,
      max_completion_tokens: 64,
      temperature: 0,
      top_p: 0.9,
      seed: 7,
      stop: ['\n'],
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
    }
    await handler(post(body))
    expect(provider.calls[0]!.request.params).toEqual({
      max_tokens: 64,
      temperature: 0,
      top_p: 0.9,
      seed: 7,
      stop: ['\n'],
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
    })
  })
})

describe('missing credentials', () => {
  it('does not throw at construction and answers 502 naming the settings', async () => {
    const saved = {
      token: process.env.CLOUDFLARE_API_TOKEN,
      account: process.env.CLOUDFLARE_ACCOUNT_ID,
    }
    delete process.env.CLOUDFLARE_API_TOKEN
    delete process.env.CLOUDFLARE_ACCOUNT_ID
    try {
      const handler = createCopilotEdgeHandler({})
      const response = await handler(post(hello))
      const error = await expectError(response, 502, 'upstream_error')
      expect(error.message).toContain('CLOUDFLARE_API_TOKEN')
      expect(error.message).toContain('CLOUDFLARE_ACCOUNT_ID')
      expect(error.code).toBe('missing_credentials')
    } finally {
      if (saved.token !== undefined) process.env.CLOUDFLARE_API_TOKEN = saved.token
      if (saved.account !== undefined) process.env.CLOUDFLARE_ACCOUNT_ID = saved.account
    }
  })

  it('reads the credentials from the environment when the config has none', async () => {
    process.env.CLOUDFLARE_API_TOKEN = 'env-token'
    process.env.CLOUDFLARE_ACCOUNT_ID = 'env-account'
    try {
      const seen: string[] = []
      const handler = createCopilotEdgeHandler({
        baseURL: 'http://upstream.test/client/v4',
        retry: false,
        fetch: async (input, init) => {
          seen.push(String(input), new Headers(init?.headers).get('authorization') ?? '')
          return new Response(
            '{"errors":[{"code":10000,"message":"Authentication error"}],"success":false}',
            {
              status: 401,
              headers: { 'Content-Type': 'application/json' },
            },
          )
        },
      })
      const response = await handler(post(hello))
      expect(response.status).toBe(502)
      expect(seen[0]).toContain('/accounts/env-account/ai/')
      expect(seen[1]).toBe('Bearer env-token')
      const text = await response.text()
      expect(text).not.toContain('env-token')
      expect(text).toContain('apiKey')
    } finally {
      delete process.env.CLOUDFLARE_API_TOKEN
      delete process.env.CLOUDFLARE_ACCOUNT_ID
    }
  })
})

describe('upstream statuses', () => {
  async function statusFor(error: Error, config: CopilotEdgeConfig = {}) {
    const provider = fakeProvider([{ error }])
    const handler = createCopilotEdgeHandler({ provider, retry: false, ...config })
    const response = await handler(post(hello))
    return { response, body: await response.json(), provider }
  }

  it('passes 400 and 413 through with the upstream message', async () => {
    for (const status of [400, 413]) {
      const { response, body } = await statusFor(httpError(status, { code: '5021' }))
      expect(response.status).toBe(status)
      expect(body.error).toEqual({
        message: `upstream said ${status}`,
        type: 'invalid_request_error',
        code: '5021',
        param: null,
      })
    }
  })

  it('answers 502 naming apiKey and accountId for an upstream 401 or 403', async () => {
    for (const status of [401, 403]) {
      const { response, body } = await statusFor(httpError(status))
      expect(response.status).toBe(502)
      expect(body.error.type).toBe('upstream_error')
      expect(body.error.message).toMatch(/apiKey.*accountId/)
    }
  })

  it('answers 502 naming the model setting for 404, 5007 and 3042', async () => {
    for (const error of [
      httpError(404),
      httpError(400, { code: '5007' }),
      httpError(404, { code: '3042' }),
    ]) {
      const { response, body } = await statusFor(error)
      expect(response.status).toBe(502)
      expect(body.error.message).toContain('`model`')
    }
  })

  it('answers 429 with Retry-After for an upstream 429', async () => {
    const { response, body } = await statusFor(httpError(429, { retryAfterMs: 30_000 }))
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('30')
    expect(body.error.type).toBe('rate_limit_error')
  })

  it('answers 502 for 5xx, network failures and malformed upstream answers', async () => {
    for (const error of [
      httpError(500),
      httpError(503),
      new UpstreamError('reset', { kind: 'network' }),
    ]) {
      const { response, body } = await statusFor(error)
      expect(response.status).toBe(502)
      expect(body.error.type).toBe('upstream_error')
    }
  })

  it('answers 429 with a Retry-After even when the upstream sent none', async () => {
    const { response } = await statusFor(httpError(429))
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('1')
  })

  it('never puts the API key in an error response, even when the upstream echoed it', async () => {
    const provider = fakeProvider([
      { error: new UpstreamError('token sk-LEAK is bad', { kind: 'http', status: 400 }) },
      {
        events: [{ type: 'text', text: 'a' }],
        failWith: new UpstreamError('sk-LEAK again', { kind: 'in-stream' }),
      },
    ])
    const handler = createCopilotEdgeHandler({
      provider,
      apiKey: 'sk-LEAK',
      accountId: 'a',
      cache: false,
    })
    const json = await (await handler(post(hello))).text()
    expect(json).toContain('[redacted]')
    expect(json).not.toContain('sk-LEAK')
    const sse = await (await handler(post({ ...hello, stream: true }))).text()
    expect(sse).toContain('[redacted]')
    expect(sse).not.toContain('sk-LEAK')
  })

  it('answers 504 timeout_error for an upstream 408', async () => {
    const { response, body } = await statusFor(httpError(408))
    expect(response.status).toBe(504)
    expect(body.error.type).toBe('timeout_error')
  })

  it('never answers 500 for an unexpected provider failure', async () => {
    const { response } = await statusFor(new TypeError('boom'))
    expect(response.status).toBe(502)
  })
})
