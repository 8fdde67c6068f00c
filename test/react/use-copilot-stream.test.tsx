import { act, render, renderHook, waitFor } from '@testing-library/react'
import { type ReactNode, StrictMode, useEffect } from 'react'
import { SWRConfig } from 'swr'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  CopilotHTTPError,
  CopilotStreamError,
  type UseCopilotStreamOptions,
  type UseCopilotStreamResult,
  useCopilotStream,
} from '../../src/react'
import type { ChatMessage } from '../../src/shared/chat-types'
import {
  answeringFetch,
  chunk,
  controlledBody,
  inMemoryFetch,
  sseBody,
  sseResponse,
} from '../client/sse-helpers'

const event = (content: string) => `data: ${JSON.stringify(chunk(content))}\n\n`
const DONE = `data: ${JSON.stringify(chunk(undefined, 'stop'))}\n\ndata: [DONE]\n\n`

/** A fresh SWR cache per test, so shared conversations never leak between tests. */
function FreshCache({ children }: { children: ReactNode }) {
  return <SWRConfig value={{ provider: () => new Map() }}>{children}</SWRConfig>
}

/** A component that reports what the hook returns, under `name`. */
function Chat(props: {
  name: string
  id: string
  fetch: typeof fetch
  seen: Record<string, UseCopilotStreamResult>
}) {
  props.seen[props.name] = useCopilotStream({ id: props.id, fetch: props.fetch })
  return null
}

/** Two components on the conversation `pair`, each shown or not. */
function Pair(props: {
  showA: boolean
  showB: boolean
  fetch: typeof fetch
  seen: Record<string, UseCopilotStreamResult>
}) {
  return (
    <>
      {props.showA ? <Chat name="a" id="pair" fetch={props.fetch} seen={props.seen} /> : null}
      {props.showB ? <Chat name="b" id="pair" fetch={props.fetch} seen={props.seen} /> : null}
    </>
  )
}

interface StrictSeen {
  renders: number
  effects: number
  current?: UseCopilotStreamResult
}

/** Counts its renders and effect runs (StrictMode doubles both) and reports what the hook returns. */
function StrictChat(props: { fetch: typeof fetch; seen: StrictSeen }) {
  props.seen.renders++
  props.seen.current = useCopilotStream({ fetch: props.fetch, id: 'strict' })
  useEffect(() => {
    props.seen.effects++
  }, [props.seen])
  return null
}

/** Starts a send whose fetch the test answers with a body it writes by hand. */
function harness(options: UseCopilotStreamOptions = {}) {
  const mock = inMemoryFetch()
  const statuses: string[] = []
  const view = renderHook(
    (props: UseCopilotStreamOptions) => {
      const result = useCopilotStream({ fetch: mock.fetch, ...props })
      if (statuses.at(-1) !== result.status) statuses.push(result.status)
      return result
    },
    { initialProps: options, wrapper: FreshCache },
  )
  return { ...view, mock, statuses }
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('useCopilotStream', () => {
  it('goes idle → connecting → streaming → done and ends with the full reply in messages and text', async () => {
    const { result, mock, statuses } = harness({ api: '/api/chat', body: { model: '@cf/m' } })
    expect(result.current.status).toBe('idle')
    expect(result.current.isStreaming).toBe(false)

    let sent!: Promise<string | null>
    act(() => {
      sent = result.current.send('Hello?')
    })
    expect(result.current.status).toBe('connecting')
    expect(result.current.isStreaming).toBe(true)
    expect(result.current.messages).toEqual([{ role: 'user', content: 'Hello?' }])
    expect(mock.requests[0]?.url).toBe('/api/chat')
    expect(mock.requests[0]?.body).toEqual({
      model: '@cf/m',
      messages: [{ role: 'user', content: 'Hello?' }],
      stream: true,
    })

    const body = controlledBody()
    await act(async () => mock.respond(sseResponse(body.stream)))
    await waitFor(() => expect(result.current.status).toBe('streaming'))

    act(() => body.push(event('Hi ') + event('there')))
    await waitFor(() => expect(result.current.text).toBe('Hi there'))
    expect(result.current.status).toBe('streaming')

    await act(async () => {
      body.push(DONE)
      body.close()
      expect(await sent).toBe('Hi there')
    })
    expect(result.current.status).toBe('done')
    expect(result.current.isStreaming).toBe(false)
    expect(result.current.error).toBeUndefined()
    expect(result.current.messages).toEqual([
      { role: 'user', content: 'Hello?' },
      { role: 'assistant', content: 'Hi there' },
    ])
    expect(statuses).toEqual(['idle', 'connecting', 'streaming', 'done'])
  })

  it('appends to the history on the next send, and send({ messages }) replaces it', async () => {
    const { fetch, requests } = answeringFetch(() => sseResponse(sseBody(['ok'])))
    const initialMessages: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }]
    const { result } = renderHook(() => useCopilotStream({ fetch, initialMessages }), {
      wrapper: FreshCache,
    })
    expect(result.current.messages).toEqual(initialMessages)
    await act(async () => {
      await result.current.send('one')
    })
    await act(async () => {
      await result.current.send('two')
    })
    expect(requests[1]?.body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'two' },
    ])
    const exactly: ChatMessage[] = [{ role: 'user', content: 'fresh start' }]
    await act(async () => {
      await result.current.send({ messages: exactly })
    })
    expect(requests[2]?.body.messages).toEqual(exactly)
    expect(result.current.messages).toEqual([...exactly, { role: 'assistant', content: 'ok' }])

    act(() => result.current.reset())
    expect(result.current.messages).toEqual(initialMessages)
    expect(result.current.status).toBe('idle')
    expect(result.current.text).toBe('')
  })

  it('stop() mid-stream aborts the fetch, keeps the partial text and sets status aborted', async () => {
    const { result, mock } = harness()
    const body = controlledBody()
    let sent!: Promise<string | null>
    act(() => {
      sent = result.current.send('Tell me a story')
    })
    await act(async () => mock.respond(sseResponse(body.stream)))
    act(() => body.push(event('Once upon ')))
    await waitFor(() => expect(result.current.text).toBe('Once upon '))

    act(() => result.current.stop())
    expect(result.current.status).toBe('aborted')
    expect(mock.requests[0]?.signal.aborted).toBe(true)
    await act(async () => {
      expect(await sent).toBeNull()
    })
    expect(body.cancelled).toBe(true)
    expect(result.current.status).toBe('aborted')
    expect(result.current.text).toBe('Once upon ')
    expect(result.current.messages.at(-1)).toEqual({ role: 'assistant', content: 'Once upon ' })
    expect(result.current.error).toBeUndefined()
  })

  it('an error mid-stream sets status error, keeps the partial text and calls onError once', async () => {
    const onError = vi.fn()
    const onFinish = vi.fn()
    const { result, mock } = harness({ onError, onFinish })
    const body = controlledBody()
    let sent!: Promise<string | null>
    act(() => {
      sent = result.current.send('Hi')
    })
    await act(async () => mock.respond(sseResponse(body.stream)))
    await act(async () => {
      body.push(event('Partial '))
      body.push(
        'data: {"error":{"message":"Upstream dropped","type":"upstream_error","code":"upstream_disconnected"}}\n\n',
      )
      body.close()
      expect(await sent).toBeNull()
    })
    expect(result.current.status).toBe('error')
    expect(result.current.error).toBeInstanceOf(CopilotStreamError)
    expect(result.current.error?.message).toBe('Upstream dropped')
    expect(result.current.text).toBe('Partial ')
    expect(result.current.messages.at(-1)).toEqual({ role: 'assistant', content: 'Partial ' })
    expect(onError).toHaveBeenCalledTimes(1)
    expect(onError).toHaveBeenCalledWith(result.current.error)
    expect(onFinish).not.toHaveBeenCalled()
  })

  it('an HTTP error sets status error with the server message and adds no assistant message', async () => {
    const onError = vi.fn()
    const errorBody = {
      error: {
        message: 'Too many requests',
        type: 'rate_limit_error',
        code: 'rate_limited',
        param: null,
      },
    }
    const { fetch } = answeringFetch(
      () =>
        new Response(JSON.stringify(errorBody), {
          status: 429,
          headers: { 'content-type': 'application/json' },
        }),
    )
    const { result } = renderHook(() => useCopilotStream({ fetch, onError }), {
      wrapper: FreshCache,
    })
    await act(async () => {
      expect(await result.current.send('Hi')).toBeNull()
    })
    expect(result.current.status).toBe('error')
    expect(result.current.error).toBeInstanceOf(CopilotHTTPError)
    expect(result.current.error).toMatchObject({ status: 429, message: 'Too many requests' })
    expect(result.current.messages).toEqual([{ role: 'user', content: 'Hi' }])
    expect(onError).toHaveBeenCalledTimes(1)
  })

  it('calls onResponse with the HTTP response (for an X-Cache badge) and onFinish with the text', async () => {
    const { fetch } = answeringFetch(() =>
      sseResponse(sseBody(['cached answer']), { headers: { 'x-cache': 'HIT' } }),
    )
    const onResponse = vi.fn<(response: Response) => void>()
    const onFinish = vi.fn()
    const { result } = renderHook(() => useCopilotStream({ fetch, onResponse, onFinish }), {
      wrapper: FreshCache,
    })
    await act(async () => {
      await result.current.send('Hi')
    })
    expect(onResponse).toHaveBeenCalledTimes(1)
    expect(onResponse.mock.calls[0]?.[0].headers.get('x-cache')).toBe('HIT')
    expect(onFinish).toHaveBeenCalledTimes(1)
    expect(onFinish).toHaveBeenCalledWith('cached answer', result.current.messages)
  })

  it('never rejects send when a callback throws: the error goes to reportError, like a listener error', async () => {
    const { fetch } = answeringFetch(() => sseResponse(sseBody(['fine'])))
    const bug = new Error('bug in onFinish')
    const reportError = vi.fn()
    vi.stubGlobal('reportError', reportError)
    try {
      const onFinish = () => {
        throw bug
      }
      const { result } = renderHook(() => useCopilotStream({ fetch, onFinish }), {
        wrapper: FreshCache,
      })
      await act(async () => {
        expect(await result.current.send('Hi')).toBe('fine')
      })
      expect(result.current.status).toBe('done')
      expect(reportError).toHaveBeenCalledWith(bug)
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('a send while a stream runs aborts that stream first, keeping its partial reply in the history', async () => {
    const { result, mock } = harness()
    const first = controlledBody()
    let firstSend!: Promise<string | null>
    act(() => {
      firstSend = result.current.send('first')
    })
    await act(async () => mock.respond(sseResponse(first.stream)))
    act(() => first.push(event('inter')))
    await waitFor(() => expect(result.current.text).toBe('inter'))

    let secondSend!: Promise<string | null>
    act(() => {
      secondSend = result.current.send('second')
    })
    expect(mock.requests[0]?.signal.aborted).toBe(true)
    expect(mock.requests[1]?.body.messages).toEqual([
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'inter' },
      { role: 'user', content: 'second' },
    ])
    expect(result.current.status).toBe('connecting')
    await act(async () => {
      expect(await firstSend).toBeNull()
    })
    expect(result.current.status).toBe('connecting') // the aborted stream does not overwrite it

    await act(async () => {
      mock.respond(sseResponse(event('fresh') + DONE))
      expect(await secondSend).toBe('fresh')
    })
    expect(result.current.status).toBe('done')
    expect(result.current.text).toBe('fresh')
  })

  it('aborts the stream when the component unmounts', async () => {
    const { result, mock, unmount } = harness()
    act(() => {
      void result.current.send('Hi')
    })
    const body = controlledBody()
    await act(async () => mock.respond(sseResponse(body.stream)))
    unmount()
    expect(mock.requests[0]?.signal.aborted).toBe(true)
    await waitFor(() => expect(body.cancelled).toBe(true))
  })

  it('uses the latest callbacks and options, not the ones captured when send was called', async () => {
    const oldChunk = vi.fn()
    const newChunk = vi.fn()
    const oldFinish = vi.fn()
    const newFinish = vi.fn()
    const { result, mock, rerender } = harness({ onChunk: oldChunk, onFinish: oldFinish })
    const body = controlledBody()
    let sent!: Promise<string | null>
    act(() => {
      sent = result.current.send('Hi')
    })
    await act(async () => mock.respond(sseResponse(body.stream)))
    act(() => body.push(event('a')))
    await waitFor(() => expect(oldChunk).toHaveBeenCalledTimes(1))

    rerender({ onChunk: newChunk, onFinish: newFinish })
    await act(async () => {
      body.push(event('b') + DONE)
      body.close()
      await sent
    })
    expect(oldChunk).toHaveBeenCalledTimes(1)
    expect(newChunk).toHaveBeenCalledTimes(1)
    expect(newChunk.mock.calls[0]?.[0]).toBe('b')
    expect(oldFinish).not.toHaveBeenCalled()
    expect(newFinish).toHaveBeenCalledWith('ab', expect.any(Array))
  })

  it('lets two components with the same id see the same conversation, and a third id stay apart', async () => {
    const { fetch } = answeringFetch(() => sseResponse(sseBody(['shared ', 'reply'])))
    const seen: Record<string, UseCopilotStreamResult> = {}
    render(
      <FreshCache>
        <Chat name="a" id="support" fetch={fetch} seen={seen} />
        <Chat name="b" id="support" fetch={fetch} seen={seen} />
        <Chat name="c" id="other" fetch={fetch} seen={seen} />
      </FreshCache>,
    )
    await act(async () => {
      await seen.a?.send('Hello from A')
    })
    const expected = [
      { role: 'user', content: 'Hello from A' },
      { role: 'assistant', content: 'shared reply' },
    ]
    expect(seen.a?.messages).toEqual(expected)
    expect(seen.b?.messages).toBe(seen.a?.messages)
    expect(seen.b?.text).toBe('shared reply')
    expect(seen.b?.status).toBe('done')
    expect(seen.c?.messages).toEqual([])
    expect(seen.c?.status).toBe('idle')

    // B continues the same conversation; A sees it.
    await act(async () => {
      await seen.b?.send('And from B')
    })
    expect(seen.a?.messages).toHaveLength(4)
    expect(seen.a?.messages[2]).toEqual({ role: 'user', content: 'And from B' })
  })

  it('keeps a shared stream running while another component still shows it, and aborts it after the last unmount', async () => {
    const mock = inMemoryFetch()
    const seen: Record<string, UseCopilotStreamResult> = {}
    const view = render(<Pair showA showB fetch={mock.fetch} seen={seen} />, {
      wrapper: FreshCache,
    })
    act(() => {
      void seen.a?.send('Hi')
    })
    const body = controlledBody()
    await act(async () => mock.respond(sseResponse(body.stream)))
    view.rerender(<Pair showA={false} showB fetch={mock.fetch} seen={seen} />)
    expect(mock.requests[0]?.signal.aborted).toBe(false)
    act(() => body.push(event('still here')))
    await waitFor(() => expect(seen.b?.text).toBe('still here'))
    view.rerender(<Pair showA={false} showB={false} fetch={mock.fetch} seen={seen} />)
    expect(mock.requests[0]?.signal.aborted).toBe(true)
  })

  it('never calls the global SWR fetcher for its internal keys', async () => {
    const globalFetcher = vi.fn(async () => 'should not be used')
    const { fetch } = answeringFetch(() => sseResponse(sseBody(['x'])))
    const { result } = renderHook(() => useCopilotStream({ id: 'chat', fetch }), {
      wrapper: ({ children }) => (
        <SWRConfig value={{ provider: () => new Map(), fetcher: globalFetcher }}>
          {children}
        </SWRConfig>
      ),
    })
    await act(async () => {
      await result.current.send('Hi')
    })
    expect(result.current.text).toBe('x')
    expect(globalFetcher).not.toHaveBeenCalled()
  })

  it('sends once under StrictMode and still aborts on unmount (no leaked subscriptions)', async () => {
    const mock = inMemoryFetch()
    const seen: StrictSeen = { renders: 0, effects: 0 }
    // render (not renderHook's wrapper, whose effects run once): StrictMode really mounts, unmounts
    // and mounts again here, so the hook's retain/release must balance.
    const { unmount } = render(
      <StrictMode>
        <FreshCache>
          <StrictChat fetch={mock.fetch} seen={seen} />
        </FreshCache>
      </StrictMode>,
    )
    expect(seen.renders).toBeGreaterThan(1) // StrictMode did double-render
    expect(seen.effects).toBe(2) // and double-ran the effects
    act(() => {
      void seen.current?.send('Hi')
    })
    expect(mock.requests).toHaveLength(1)
    const body = controlledBody()
    await act(async () => mock.respond(sseResponse(body.stream)))
    act(() => body.push(event('strict')))
    await waitFor(() => expect(seen.current?.text).toBe('strict'))
    expect(mock.requests).toHaveLength(1)
    expect(mock.requests[0]?.signal.aborted).toBe(false)
    unmount()
    expect(mock.requests[0]?.signal.aborted).toBe(true)
  })
})
