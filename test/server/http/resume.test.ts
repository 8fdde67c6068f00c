import { afterEach, describe, expect, it, vi } from 'vitest'
import { type CopilotEdgeConfig, createCopilotEdgeHandler } from '../../../src/server'
import { bodyReader, fakeClock } from '../helpers/fake-clock'
import { Channel, fakeProvider, text } from '../helpers/fake-provider'
import { hello, post, URL_ } from '../helpers/post'

const STREAM = { ...hello, stream: true }

function resume(streamId: string, lastEventId?: number, method = 'GET'): Request {
  return new Request(`${URL_}?stream=${streamId}`, {
    method,
    headers: lastEventId === undefined ? {} : { 'Last-Event-ID': String(lastEventId) },
  })
}

/** The SSE events of a body, each with its terminator. */
function events(body: string): string[] {
  return body.split(/(?<=\n\n)/).filter((e) => e !== '')
}

/** A resumable handler, no cache, over an upstream the test feeds through `channel`. */
function live(config: CopilotEdgeConfig = {}) {
  const channel = new Channel()
  const provider = fakeProvider([{ channel }])
  const handler = createCopilotEdgeHandler({ provider, resume: true, cache: false, ...config })
  return { channel, provider, handler }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('resumable streams (config resume)', () => {
  it('announces a stream id and, after any event, replays exactly the events after it', async () => {
    const provider = fakeProvider([{ events: text('Hel', 'lo', ', ', 'world') }])
    const handler = createCopilotEdgeHandler({ provider, resume: true, cache: false })
    const first = await handler(post(STREAM))
    const streamId = first.headers.get('X-CopilotEdge-Stream-Id')
    expect(streamId).toMatch(/^[0-9a-f-]{36}$/)
    const whole = events(await first.text())
    expect(whole.at(-1)).toBe('data: [DONE]\n\n')
    for (let seen = 0; seen < whole.length - 1; seen++) {
      const again = await handler(resume(streamId as string, seen))
      expect(again.status).toBe(200)
      expect(again.headers.get('Content-Type')).toBe('text/event-stream; charset=utf-8')
      expect(events(await again.text())).toEqual(whole.slice(seen))
    }
    expect(provider.calls).toHaveLength(1)
  })

  it('keeps the upstream running when the client drops, and a reconnect tails it live', async () => {
    const { channel, provider, handler } = live()
    channel.push({ type: 'text', text: 'one ' })
    const first = await handler(post(STREAM))
    const streamId = first.headers.get('X-CopilotEdge-Stream-Id') as string
    const reader = bodyReader(first)
    const head = await reader.read()
    await reader.cancel()
    channel.push({ type: 'text', text: 'two ' })
    const lastId = Number(/id: (\d+)\n[^\n]*"content":"one "/.exec(head ?? '')?.[1])
    expect(lastId).toBeGreaterThan(0)
    expect(provider.calls[0]?.aborted).toBe(false)
    const again = await handler(resume(streamId, lastId))
    const tail = bodyReader(again)
    channel.push({ type: 'text', text: 'three' }, { type: 'finish', reason: 'stop' })
    const rest = await tail.rest()
    const contents = [...rest.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1])
    expect(contents).toEqual(['two ', 'three'])
    expect(rest.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(provider.calls).toHaveLength(1)
    expect(provider.calls[0]?.aborted).toBe(false)
  })

  it('aborts the upstream when nobody reads for the grace period', async () => {
    vi.useFakeTimers()
    const { channel, provider, handler } = live({
      resume: { graceMs: 10_000 },
      heartbeatMs: 0,
      clock: fakeClock(),
    })
    channel.push({ type: 'text', text: 'one ' })
    const first = await handler(post(STREAM))
    const reader = bodyReader(first)
    await reader.read()
    await reader.cancel()
    await vi.advanceTimersByTimeAsync(9_999)
    expect(provider.calls[0]?.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(provider.calls[0]?.aborted).toBe(true)
  })

  it('stops at once on DELETE, ending a resumed reader with stream_stopped', async () => {
    const { channel, provider, handler } = live()
    channel.push({ type: 'text', text: 'one ' })
    const first = await handler(post(STREAM))
    const streamId = first.headers.get('X-CopilotEdge-Stream-Id') as string
    const reader = bodyReader(first)
    await reader.read()
    const stop = await handler(resume(streamId, undefined, 'DELETE'))
    expect(stop.status).toBe(204)
    expect(provider.calls[0]?.aborted).toBe(true)
    const rest = await reader.rest()
    expect(rest).toContain('"code":"stream_stopped"')
    expect(rest).not.toContain('[DONE]')
  })

  it('answers 404 for an unknown stream and 410 once it expired, never calling the upstream', async () => {
    vi.useFakeTimers()
    const provider = fakeProvider([{ events: text('hi') }])
    const handler = createCopilotEdgeHandler({
      provider,
      resume: { ttlMs: 60_000 },
      cache: false,
      clock: fakeClock(),
    })
    const unknown = await handler(resume('00000000-0000-4000-8000-000000000000', 1))
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ error: { code: 'stream_not_found' } })
    const first = await handler(post(STREAM))
    const streamId = first.headers.get('X-CopilotEdge-Stream-Id') as string
    await first.text()
    expect((await handler(resume(streamId, 1))).status).toBe(200)
    await vi.advanceTimersByTimeAsync(60_001)
    const expired = await handler(resume(streamId, 1))
    expect(expired.status).toBe(410)
    expect(await expired.json()).toMatchObject({ error: { code: 'stream_expired' } })
    expect(provider.calls).toHaveLength(1)
  })

  it('makes identical concurrent resumable streams one upstream call, each with its own stream id and stop', async () => {
    const channel = new Channel()
    const provider = fakeProvider([{ channel }, { channel: new Channel() }])
    const handler = createCopilotEdgeHandler({ provider, resume: true })
    channel.push({ type: 'text', text: 'one ' })
    const first = await handler(post(STREAM))
    const second = await handler(post(STREAM))
    const ids = [first, second].map((r) => r.headers.get('X-CopilotEdge-Stream-Id'))
    expect(ids[0]).not.toBe(ids[1])
    expect(provider.calls).toHaveLength(1)
    // The first client stops its answer: the second one's goes on to the end.
    expect((await handler(resume(ids[0] as string, undefined, 'DELETE'))).status).toBe(204)
    channel.push({ type: 'text', text: 'two' }, { type: 'finish', reason: 'stop' })
    const [stopped, whole] = await Promise.all([first.text(), second.text()])
    expect(stopped).toContain('"code":"stream_stopped"')
    expect(whole).toContain('"content":"one "')
    expect(whole).toContain('"content":"two"')
    expect(whole.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(provider.calls).toHaveLength(1)
    expect(provider.calls[0]?.aborted).toBe(false)
  })

  it('changes nothing without resume: no stream id, GET is 405 with Allow: POST', async () => {
    const handler = createCopilotEdgeHandler({ provider: fakeProvider([{ events: text('a') }]) })
    const response = await handler(post(STREAM))
    expect(response.headers.get('X-CopilotEdge-Stream-Id')).toBeNull()
    await response.text()
    const get = await handler(resume('x', 1))
    expect(get.status).toBe(405)
    expect(get.headers.get('Allow')).toBe('POST')
  })

  it("answers useChat's reconnect GET: 204 with nothing running, the whole answer while it runs", async () => {
    const { channel, provider, handler } = live()
    const none = await handler(new Request('http://localhost/api/chat/chat-1/stream'))
    expect(none.status).toBe(204)
    channel.push({ type: 'text', text: 'Hello ' })
    const useChatBody = {
      id: 'chat-1',
      trigger: 'submit-message',
      messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Hi' }] }],
    }
    const first = await handler(
      new Request('http://localhost/api/chat', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(useChatBody),
      }),
    )
    const firstReader = bodyReader(first)
    await firstReader.read()
    await firstReader.cancel()
    const again = await handler(new Request('http://localhost/api/chat/chat-1/stream'))
    expect(again.status).toBe(200)
    expect(again.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1')
    channel.push({ type: 'text', text: 'world' }, { type: 'finish', reason: 'stop' })
    const replayed = await again.text()
    const deltas = [...replayed.matchAll(/"type":"text-delta","id":"[^"]+","delta":"([^"]*)"/g)]
    expect(deltas.map((m) => m[1]).join('')).toBe('Hello world')
    expect(replayed.startsWith('data: {"type":"start"')).toBe(true)
    expect(replayed.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(provider.calls).toHaveLength(1)
    const after = await handler(new Request('http://localhost/api/chat/chat-1/stream'))
    expect(after.status).toBe(204)
  })
})
