import { describe, expect, it } from 'vitest'
import { CopilotEdge, createCopilotEdgeHandler } from '../../src/server'
import { fakeProvider, text } from './helpers/fake-provider'
import { hello, normalise, post } from './helpers/post'

const M = '@cf/meta/llama-3.1-8b-instruct'

describe('the HTTP handler', () => {
  it('answers a non-stream request with an OpenAI chat.completion', async () => {
    const provider = fakeProvider([{ events: text('Hello', ' world') }])
    const handler = createCopilotEdgeHandler({ provider })
    const response = await handler(post(hello))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(response.headers.get('x-cache')).toBe('MISS')
    expect(response.headers.get('x-copilotedge-model')).toBe(M)
    expect(response.headers.get('x-copilotedge-latency')).toMatch(/^\d+ms$/)
    const body = await response.json()
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: M,
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Hello world' }, finish_reason: 'stop' },
      ],
    })
    expect(body.id).toMatch(/^chatcmpl-/)
    expect(provider.calls[0]!.request.messages).toEqual([{ role: 'user', content: 'Hello' }])
  })

  it('streams OpenAI chunks as SSE with ids, a role chunk, a finish chunk and [DONE]', async () => {
    const provider = fakeProvider([{ events: text('Hello', ' world') }])
    const handler = new CopilotEdge({ provider }).createNextHandler()
    const response = await handler(post({ ...hello, stream: true }))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform')
    expect(response.headers.get('x-accel-buffering')).toBe('no')
    expect(response.headers.get('x-cache')).toBe('MISS')
    const head = `{"id":"ID","object":"chat.completion.chunk","created":0,"model":"${M}","choices":[{"index":0,"delta":`
    expect(normalise(await response.text())).toBe(
      `id: 1\ndata: ${head}{"role":"assistant","content":""},"finish_reason":null}]}\n\n` +
        `id: 2\ndata: ${head}{"content":"Hello"},"finish_reason":null}]}\n\n` +
        `id: 3\ndata: ${head}{"content":" world"},"finish_reason":null}]}\n\n` +
        `id: 4\ndata: ${head}{},"finish_reason":"stop"}]}\n\n` +
        'data: [DONE]\n\n',
    )
  })
})
