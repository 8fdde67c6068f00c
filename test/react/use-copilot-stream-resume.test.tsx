import { act, render, renderHook, waitFor } from '@testing-library/react'
import { type ReactNode, StrictMode, useEffect } from 'react'
import { SWRConfig } from 'swr'
import { afterEach, describe, expect, it } from 'vitest'
import type { ReconnectTimers } from '../../src/client'
import { CopilotHTTPError, type UseCopilotStreamOptions, useCopilotStream } from '../../src/react'
import { chunk, controlledBody, inMemoryFetch, sseResponse } from '../client/sse-helpers'

const STREAM = { 'x-copilotedge-stream-id': 'abc' }
const RECORD_KEY = 'copilotedge:stream:chat-1'
const event = (n: number, content: string) =>
  `id: ${n}\ndata: ${JSON.stringify(chunk(content))}\n\n`
const done = (n: number) =>
  `id: ${n}\ndata: ${JSON.stringify(chunk(undefined, 'stop'))}\n\ndata: [DONE]\n\n`
const noDelay: ReconnectTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: () => 0,
}

/** A fresh SWR cache per render tree: a remount in a new tree is what a page reload looks like. */
function FreshCache({ children }: { children: ReactNode }) {
  return <SWRConfig value={{ provider: () => new Map() }}>{children}</SWRConfig>
}

function mountChat(
  mock: ReturnType<typeof inMemoryFetch>,
  options: UseCopilotStreamOptions = {},
  wrapper: (props: { children: ReactNode }) => ReactNode = FreshCache,
) {
  const statuses: string[] = []
  let renders = 0
  const view = renderHook(
    () => {
      renders++
      const result = useCopilotStream({
        fetch: mock.fetch,
        reconnect: { timers: noDelay },
        ...options,
      })
      if (statuses.at(-1) !== result.status) statuses.push(result.status)
      return result
    },
    { wrapper },
  )
  return { ...view, statuses, renders: () => renders }
}

interface Seen {
  text: string
  status: string
  effects: number
}

/** A page with the conversation `chat-1`, reporting what it shows and how often its effects ran. */
function ResumingChat(props: { fetch: typeof fetch; seen: Seen }) {
  const { text, status } = useCopilotStream({ id: 'chat-1', fetch: props.fetch })
  props.seen.text = text
  props.seen.status = status
  useEffect(() => {
    props.seen.effects++
  }, [props.seen])
  return null
}

const methods = (mock: ReturnType<typeof inMemoryFetch>) =>
  mock.requests.map((request) => request.init.method)

afterEach(() => {
  sessionStorage.clear()
})

describe('useCopilotStream with resumable streams', () => {
  it('shows reconnecting while a dropped stream reconnects, then finishes the text without a duplicated token', async () => {
    const mock = inMemoryFetch()
    const { result, statuses } = mountChat(mock, { bufferMs: 0 })
    let sent!: Promise<string | null>
    act(() => {
      sent = result.current.send('Hi')
    })
    const first = controlledBody()
    await act(async () => mock.respond(sseResponse(first.stream, { headers: STREAM })))
    act(() => first.push(event(0, 'Hel') + event(1, 'lo')))
    await waitFor(() => expect(result.current.text).toBe('Hello'))

    await act(async () => first.fail(new TypeError('network connection lost')))
    await waitFor(() => expect(mock.requests).toHaveLength(2))
    expect(result.current.status).toBe('reconnecting')
    expect(result.current.isStreaming).toBe(true)
    expect(result.current.text).toBe('Hello') // the partial text stays on screen
    const get = mock.requests[1]
    expect(get?.init.method).toBe('GET')
    expect(get?.url).toBe('/api/copilot?stream=abc')
    expect(new Headers(get?.init.headers).get('last-event-id')).toBe('1')

    // The server may send an event again: it is shown once.
    await act(async () => {
      mock.respond(sseResponse(event(1, 'lo') + event(2, ' world') + done(3), { headers: STREAM }))
      expect(await sent).toBe('Hello world')
    })
    expect(result.current.text).toBe('Hello world')
    expect(result.current.messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello world' },
    ])
    expect(statuses).toEqual([
      'idle',
      'connecting',
      'streaming',
      'reconnecting',
      'streaming',
      'done',
    ])
    expect(methods(mock)).toEqual(['POST', 'GET'])
    expect(sessionStorage.getItem(RECORD_KEY)).toBeNull()
  })

  it('remembers the stream of an id and, mounted again after a reload, continues the text where it was', async () => {
    const mock = inMemoryFetch()
    const before = mountChat(mock, { id: 'chat-1', bufferMs: 0 })
    act(() => {
      void before.result.current.send('Tell me a story')
    })
    const first = controlledBody()
    await act(async () => mock.respond(sseResponse(first.stream, { headers: STREAM })))
    act(() => first.push(event(0, 'Once ') + event(1, 'upon')))
    await waitFor(() => expect(before.result.current.text).toBe('Once upon'))
    expect(JSON.parse(sessionStorage.getItem(RECORD_KEY) ?? 'null')).toEqual({
      streamId: 'abc',
      lastEventId: '1',
      history: [{ role: 'user', content: 'Tell me a story' }],
      text: 'Once upon',
    })

    // The page goes away: the connection drops, but the server is not told to stop.
    before.unmount()
    expect(mock.requests[0]?.signal.aborted).toBe(true)
    expect(first.cancelled).toBe(true)
    expect(methods(mock)).toEqual(['POST'])

    // A new page (a fresh SWR cache) with the same conversation id.
    const after = mountChat(mock, { id: 'chat-1', bufferMs: 0 })
    await waitFor(() => expect(mock.requests).toHaveLength(2))
    expect(after.result.current.status).toBe('reconnecting')
    expect(after.result.current.text).toBe('Once upon')
    const get = mock.requests[1]
    expect(get?.init.method).toBe('GET')
    expect(get?.url).toBe('/api/copilot?stream=abc')
    expect(new Headers(get?.init.headers).get('last-event-id')).toBe('1')

    const rest = controlledBody()
    await act(async () => mock.respond(sseResponse(rest.stream, { headers: STREAM })))
    expect(after.result.current.status).toBe('streaming')
    await act(async () => {
      rest.push(event(2, ' a time') + done(3))
      rest.close()
    })
    await waitFor(() => expect(after.result.current.status).toBe('done'))
    expect(after.result.current.text).toBe('Once upon a time')
    expect(after.result.current.messages).toEqual([
      { role: 'user', content: 'Tell me a story' },
      { role: 'assistant', content: 'Once upon a time' },
    ])
    expect(after.statuses).toEqual(['idle', 'reconnecting', 'streaming', 'done'])
    expect(methods(mock)).toEqual(['POST', 'GET']) // the prompt was sent once
    expect(sessionStorage.getItem(RECORD_KEY)).toBeNull()
  })

  it('resumes with one GET under StrictMode (mount, unmount, mount)', async () => {
    sessionStorage.setItem(
      RECORD_KEY,
      JSON.stringify({ streamId: 'abc', lastEventId: '4', history: [], text: 'So far' }),
    )
    const mock = inMemoryFetch()
    const seen: Seen = { text: '', status: '', effects: 0 }
    // render (not renderHook's wrapper): here StrictMode really runs effects twice.
    render(
      <StrictMode>
        <FreshCache>
          <ResumingChat fetch={mock.fetch} seen={seen} />
        </FreshCache>
      </StrictMode>,
    )
    expect(seen.effects).toBe(2)
    await waitFor(() => expect(seen.status).toBe('reconnecting'))
    await act(async () => {
      mock.respond(sseResponse(event(5, ', and more') + done(6), { headers: STREAM }))
    })
    await waitFor(() => expect(seen.status).toBe('done'))
    expect(seen.text).toBe('So far, and more')
    expect(methods(mock)).toEqual(['GET'])
  })

  it('stop() on a resumable stream sends the DELETE stop and forgets the stream', async () => {
    const mock = inMemoryFetch()
    const { result } = mountChat(mock, { id: 'chat-1', bufferMs: 0 })
    let sent!: Promise<string | null>
    act(() => {
      sent = result.current.send('Hi')
    })
    const body = controlledBody()
    await act(async () => mock.respond(sseResponse(body.stream, { headers: STREAM })))
    act(() => body.push(event(0, 'Partial')))
    await waitFor(() => expect(result.current.text).toBe('Partial'))
    expect(sessionStorage.getItem(RECORD_KEY)).not.toBeNull()

    act(() => result.current.stop())
    expect(result.current.status).toBe('aborted')
    await act(async () => {
      expect(await sent).toBeNull()
    })
    expect(mock.requests.map((request) => `${request.init.method} ${request.url}`)).toEqual([
      'POST /api/copilot',
      'DELETE /api/copilot?stream=abc',
    ])
    expect(sessionStorage.getItem(RECORD_KEY)).toBeNull()
    expect(result.current.text).toBe('Partial')
  })

  it('a remembered stream the server has expired ends in error (410), keeps the partial text and is forgotten', async () => {
    sessionStorage.setItem(
      RECORD_KEY,
      JSON.stringify({
        streamId: 'old',
        lastEventId: '2',
        history: [{ role: 'user', content: 'Q' }],
        text: 'Half an',
      }),
    )
    const mock = inMemoryFetch()
    const { result, statuses } = mountChat(mock, { id: 'chat-1' })
    await waitFor(() => expect(mock.requests).toHaveLength(1))
    await act(async () => {
      mock.respond(
        new Response(
          JSON.stringify({
            error: {
              message: 'Stream expired',
              type: 'invalid_request_error',
              code: 'stream_expired',
            },
          }),
          { status: 410, headers: { 'content-type': 'application/json' } },
        ),
      )
    })
    await waitFor(() => expect(result.current.status).toBe('error'))
    expect(result.current.error).toBeInstanceOf(CopilotHTTPError)
    expect((result.current.error as CopilotHTTPError).code).toBe('stream_expired')
    expect(result.current.messages).toEqual([
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: 'Half an' },
    ])
    expect(statuses).toEqual(['idle', 'reconnecting', 'error'])
    expect(sessionStorage.getItem(RECORD_KEY)).toBeNull()
  })

  it('without an id, unmount stops a resumable stream (nothing could resume it)', async () => {
    const mock = inMemoryFetch()
    const { result, unmount } = mountChat(mock, { bufferMs: 0 })
    act(() => {
      void result.current.send('Hi')
    })
    const body = controlledBody()
    await act(async () => mock.respond(sseResponse(body.stream, { headers: STREAM })))
    act(() => body.push(event(0, 'x')))
    await waitFor(() => expect(result.current.text).toBe('x'))
    unmount()
    expect(methods(mock)).toEqual(['POST', 'DELETE'])
    expect(sessionStorage.length).toBe(0)
  })
})
