import { describe, expect, it } from 'vitest'
import { APIError, CopilotEdge, ValidationError } from '../../src/server'
import { Channel, fakeProvider, httpError, text, withUsage } from './helpers/fake-provider'
import { hello, post } from './helpers/post'

async function collect(stream: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const chunk of stream) out.push(chunk)
  return out
}

describe('handleRequest', () => {
  it('returns an OpenAI chat.completion for a non-stream request, with usage', async () => {
    const usage = { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 }
    const edge = new CopilotEdge({
      provider: fakeProvider([{ events: withUsage(text('a', 'b'), usage) }]),
    })
    const result = await edge.handleRequest(hello)
    expect(result).toEqual({
      id: expect.stringMatching(/^chatcmpl-[0-9a-f]{24}$/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: '@cf/meta/llama-3.1-8b-instruct',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ab' }, finish_reason: 'stop' }],
      usage,
    })
    expect(Math.abs(result.created - Date.now() / 1000)).toBeLessThan(5)
  })

  it('returns a StreamingResponse when the request or the config asks for streaming', async () => {
    const provider = fakeProvider([{ events: text('a', 'b') }])
    const edge = new CopilotEdge({ provider, cache: false })
    const perRequest = await edge.handleRequest({ ...hello, stream: true })
    expect(perRequest).toMatchObject({
      object: 'chat.completion.chunk',
      streaming: true,
      model: '@cf/meta/llama-3.1-8b-instruct',
    })
    expect(await collect(perRequest.stream)).toEqual(['a', 'b'])

    const streaming = new CopilotEdge({ provider, stream: true, cache: false })
    const byConfig = await streaming.handleRequest(hello)
    expect(await byConfig.getFullResponse()).toBe('ab')
    const optedOut = await streaming.handleRequest({ ...hello, stream: false })
    expect(optedOut.object).toBe('chat.completion')
  })

  it('returns the full text from getFullResponse after a partial iteration', async () => {
    const edge = new CopilotEdge({
      provider: fakeProvider([{ events: text('one ', 'two ', 'three') }]),
    })
    const response = await edge.handleRequest({ ...hello, stream: true })
    for await (const chunk of response.stream) {
      expect(chunk).toBe('one ')
      break
    }
    expect(await response.getFullResponse()).toBe('one two three')
  })

  it('replays the text when iterated after getFullResponse, reading the upstream once', async () => {
    const provider = fakeProvider([{ events: text('x', 'y') }])
    const seen: string[] = []
    const edge = new CopilotEdge({ provider, onChunk: (c) => void seen.push(c) })
    const response = await edge.handleRequest({ ...hello, stream: true })
    expect(await response.getFullResponse()).toBe('xy')
    expect(await collect(response.stream)).toEqual(['x', 'y'])
    expect(await collect(response.stream)).toEqual(['x', 'y'])
    expect(await response.getFullResponse()).toBe('xy')
    expect(seen).toEqual(['x', 'y'])
    expect(provider.calls).toHaveLength(1)
  })

  it('lets two readers iterate at once without reading ahead of them', async () => {
    const channel = new Channel()
    const provider = fakeProvider([{ channel }])
    const edge = new CopilotEdge({ provider })
    channel.push({ type: 'text', text: '1' })
    const response = await edge.handleRequest({ ...hello, stream: true })
    const a = response.stream
    const b = response.stream
    expect((await a.next()).value).toBe('1')
    const pending = [a.next(), b.next()]
    expect((await pending[1])!.value).toBe('1')
    channel.push({ type: 'text', text: '2' }, { type: 'finish', reason: 'stop' })
    channel.end()
    expect((await pending[0])!.value).toBe('2')
    expect(await response.getFullResponse()).toBe('12')
  })

  it('answers a cached question as a StreamingResponse too', async () => {
    const provider = fakeProvider([{ events: text('cached') }])
    const edge = new CopilotEdge({ provider })
    await edge.handleRequest(hello)
    const response = await edge.handleRequest({ ...hello, stream: true })
    expect(await collect(response.stream)).toEqual(['cached'])
    expect(await response.getFullResponse()).toBe('cached')
    expect(provider.calls).toHaveLength(1)
  })

  it('caches a StreamingResponse once it was read to the end', async () => {
    const provider = fakeProvider([{ events: text('s') }])
    const edge = new CopilotEdge({ provider })
    await (await edge.handleRequest({ ...hello, stream: true })).getFullResponse()
    expect((await edge.handleRequest(hello)).choices[0]!.message.content).toBe('s')
    expect(provider.calls).toHaveLength(1)
  })

  it('throws ValidationError with param and status for bad input, including null and non-objects', async () => {
    const edge = new CopilotEdge({ provider: fakeProvider([{ events: text('x') }]) })
    for (const body of [null, undefined, 'hi', 42, [], {}, { messages: [] }]) {
      const error = await edge.handleRequest(body as never).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ValidationError)
      expect((error as ValidationError).name).toBe('ValidationError')
      expect((error as ValidationError).status).toBe(400)
    }
    const error = (await edge
      .handleRequest({ messages: [{ role: 'x', content: 'y' }] })
      .catch((e: unknown) => e)) as ValidationError
    expect(error.param).toBe('messages[0].role')
  })

  it('throws APIError with status, code, type and retryAfter for an upstream failure', async () => {
    const edge = new CopilotEdge({
      provider: fakeProvider([{ error: httpError(429, { code: '3040', retryAfterMs: 20_000 }) }]),
    })
    const error = (await edge.handleRequest(hello).catch((e: unknown) => e)) as APIError
    expect(error).toBeInstanceOf(APIError)
    expect(error).toMatchObject({
      name: 'APIError',
      status: 429,
      code: '3040',
      type: 'rate_limit_error',
      retryAfter: 20,
      upstreamStatus: 429,
    })
  })

  it('throws APIError from the iteration and getFullResponse when the stream fails mid-way', async () => {
    const edge = new CopilotEdge({
      provider: fakeProvider([{ events: [{ type: 'text', text: 'a' }], failWith: httpError(500) }]),
    })
    const response = await edge.handleRequest({ ...hello, stream: true })
    const seen: string[] = []
    const error = await (async () => {
      for await (const chunk of response.stream) seen.push(chunk)
    })().catch((e: unknown) => e)
    expect(seen).toEqual(['a'])
    expect((error as APIError).name).toBe('APIError')
    expect((error as APIError).status).toBe(502)
    await expect(response.getFullResponse()).rejects.toMatchObject({ name: 'APIError' })
    expect(edge.getMetrics().errors).toBe(1)
  })

  it('returns tool calls and reasoning in the chat.completion message', async () => {
    const provider = fakeProvider([
      {
        events: [
          { type: 'reasoning', text: 'hmm' },
          {
            type: 'tool-call',
            delta: {
              index: 1,
              id: 'c2',
              type: 'function',
              function: { name: 'g', arguments: '{' },
            },
          },
          {
            type: 'tool-call',
            delta: { index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '' } },
          },
          { type: 'tool-call', delta: { index: 1, function: { arguments: '}' } } },
          { type: 'finish', reason: 'tool_calls' },
        ],
      },
    ])
    const result = await new CopilotEdge({ provider }).handleRequest(hello)
    expect(result.choices[0]).toEqual({
      index: 0,
      finish_reason: 'tool_calls',
      message: {
        role: 'assistant',
        content: null,
        reasoning_content: 'hmm',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'f', arguments: '' } },
          { id: 'c2', type: 'function', function: { name: 'g', arguments: '{}' } },
        ],
      },
    })
  })

  it('completes at the finish event even when the provider is slow to end its body', async () => {
    const open = () => {
      const channel = new Channel()
      channel.push(...text('done'))
      return { channel }
    }
    const provider = fakeProvider(() => open())
    const edge = new CopilotEdge({ provider, cache: false })
    expect((await edge.handleRequest(hello)).choices[0]!.message.content).toBe('done')
    const streaming = await edge.handleRequest({ ...hello, stream: true })
    expect(await streaming.getFullResponse()).toBe('done')
    const sse = await (await edge.createNextHandler()(post({ ...hello, stream: true }))).text()
    expect(sse.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(provider.calls.every((call) => !call.aborted)).toBe(true)
  })
})
