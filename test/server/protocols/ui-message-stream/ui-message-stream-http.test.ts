// The UI message stream end to end over loopback HTTP: a useChat-shaped POST → the handler
// (served with @hono/node-server) → the Workers AI provider → the emulator (listening too); our
// bytes read back with ai 7's own parser and readUIMessageStream.
import { describe, expect, it } from 'vitest'
import {
  emulatorHandlers,
  LLAMA,
  openaiClient,
  streamText,
} from '../../../helpers/emulator-handler'
import { aiSdkChunks, aiSdkMessage } from './ai-sdk-reader'

const stack = emulatorHandlers()

/** The body useChat's DefaultChatTransport posts for its first message. */
function useChatBody(text: string, extras: Record<string, unknown> = {}) {
  return {
    ...extras,
    id: 'chat-1',
    messages: [{ id: 'msg-1', role: 'user', parts: [{ type: 'text', text }] }],
    trigger: 'submit-message',
  }
}

function post(origin: string, body: unknown): Promise<Response> {
  return fetch(`${origin}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

describe('the UI message stream over loopback HTTP', () => {
  it('streams the answer with the AI SDK marker header, and ai 7 reads it into the assistant message', async () => {
    const { emulator, origin } = await stack()
    const response = await post(origin, useChatBody('Hi'))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1')
    expect(response.headers.get('x-cache')).toBe('MISS')
    const bytes = await response.text()
    expect(bytes.endsWith('data: [DONE]\n\n')).toBe(true)
    const message = await aiSdkMessage(bytes)
    expect(message?.parts).toMatchObject([
      { type: 'step-start' },
      { type: 'text', text: 'Hello from the emulator', state: 'done' },
    ])
    expect(message?.metadata).toMatchObject({ model: LLAMA, cached: false })
    const chunks = (await aiSdkChunks(bytes)) as Array<{ type: string; finishReason?: string }>
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' })
    await emulator.idle()
    expect(emulator.requests).toHaveLength(1)
    expect((emulator.requests[0]!.body as { messages: unknown }).messages).toEqual([
      { role: 'user', content: 'Hi' },
    ])
  })

  it('replays a conversation first asked over Chat Completions from the cache: one upstream call, X-Cache HIT', async () => {
    const { emulator, origin } = await stack()
    expect(await streamText(openaiClient(origin))).toBe('Hello from the emulator')

    const response = await post(origin, useChatBody('Hi'))
    expect(response.headers.get('x-cache')).toBe('HIT')
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1')
    const message = await aiSdkMessage(await response.text())
    expect(message?.parts).toMatchObject([
      { type: 'step-start' },
      { type: 'text', text: 'Hello from the emulator' },
    ])
    expect(message?.metadata).toMatchObject({ cached: true })
    await emulator.idle()
    expect(emulator.requests).toHaveLength(1)
  })

  it('answers a body useChat could not have meant with 400 and a JSON error whose text starts with the message', async () => {
    const { emulator, origin } = await stack()
    const response = await post(origin, {
      id: 'chat-1',
      trigger: 'submit-message',
      messages: [{ id: 'm', role: 'user', parts: [{ type: 'text', text: 42 }] }],
    })
    expect(response.status).toBe(400)
    expect(await response.text()).toBe(
      '{"error":"messages[0].parts[0].text must be a string.","type":"invalid_request_error","code":"invalid_request","param":"messages[0].parts[0].text"}',
    )
    expect(emulator.requests).toHaveLength(0)
  })

  it('answers an upstream 429 before the stream with 429, Retry-After and the UI protocol error body', async () => {
    const { emulator, origin } = await stack({}, { retry: false })
    emulator.fault({ type: 'status', status: 429, retryAfter: 3 })
    const response = await post(origin, useChatBody('Hi'))
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('3')
    const body = (await response.json()) as { error: string; type: string }
    expect(body.type).toBe('rate_limit_error')
    expect(typeof body.error).toBe('string')
    expect(body.error.length).toBeGreaterThan(0)
  })

  it('ends a stream the upstream cuts mid-answer with an error chunk and [DONE], which ai 7 reports', async () => {
    const { origin, emulator } = await stack({ tokens: 20 })
    emulator.fault({ type: 'drop', afterTokens: 5 })
    const response = await post(origin, useChatBody('Hi'))
    expect(response.status).toBe(200)
    const bytes = await response.text()
    expect(bytes).toMatch(/data: \{"type":"error","errorText":"[^"]+"\}\n\ndata: \[DONE\]\n\n$/)
    const errors: Error[] = []
    const message = await aiSdkMessage(bytes, (e) => errors.push(e as Error))
    expect(errors).toHaveLength(1)
    expect(message?.parts[1]).toMatchObject({ type: 'text', text: 'tok0 tok1 tok2 tok3 tok4 ' })
  })
})
