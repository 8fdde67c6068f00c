import { describe, expect, it } from 'vitest'
import { createCopilotEdgeHandler } from '../../../src/server'
import { fakeProvider, text } from '../helpers/fake-provider'

function postTo(path: string, body: unknown): Request {
  return new Request(`http://localhost/api/ai${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  })
}

describe('the HTTP handler choosing a protocol', () => {
  it('answers 400 unsupported_protocol, naming what it speaks, for a protocol left out of `protocols`', async () => {
    const provider = fakeProvider([{ events: text('hi') }])
    const handler = createCopilotEdgeHandler({ provider, protocols: ['chat-completions'] })
    const response = await handler(postTo('/responses', { input: 'Hi' }))
    expect(response.status).toBe(400)
    const body = await response.json()
    expect(body.error.code).toBe('unsupported_protocol')
    expect(body.error.message).toContain('it speaks: chat-completions')
    expect(provider.calls).toHaveLength(0)
  })

  it('answers a Responses request that does not ask to stream with JSON, even when the config streams', async () => {
    const provider = fakeProvider([{ events: text('Hello') }])
    const handler = createCopilotEdgeHandler({ provider, stream: true })
    const response = await handler(postTo('/responses', { input: 'Hi' }))
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toContain('application/json')
    const body = await response.json()
    expect(body.object).toBe('response')
    expect(body.output.at(-1).content[0].text).toBe('Hello')
  })

  it('gives a useChat stream its stream id, by which stopOnAbort stops it (useChat itself resumes by its chat id)', async () => {
    const provider = fakeProvider([{ events: text('Hello') }])
    const handler = createCopilotEdgeHandler({ provider, resume: true })
    const response = await handler(
      postTo('', {
        id: 'chat-9',
        trigger: 'submit-message',
        messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Hi' }] }],
      }),
    )
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1')
    expect(response.headers.get('X-CopilotEdge-Stream-Id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(await response.text()).toContain('"delta":"Hello"')
  })
})
