import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ConversationStore, type RunOptions } from '../../src/react/conversation-store'
import { chunk, controlledBody, inMemoryFetch, sseResponse } from '../client/sse-helpers'

const event = (content: string) => `data: ${JSON.stringify(chunk(content))}\n\n`

/** Lets the stream machinery (promises and stream reads, all microtasks) catch up. */
async function settle() {
  for (let i = 0; i < 50; i++) await Promise.resolve()
}

async function streaming(options: Omit<RunOptions, 'fetch'>) {
  const mock = inMemoryFetch()
  const store = new ConversationStore([])
  const published: string[] = []
  store.subscribe(() => published.push(`${store.getSnapshot().status}:${store.getSnapshot().text}`))
  const sent = store.send('Hi', () => ({ ...options, fetch: mock.fetch }))
  const body = controlledBody()
  mock.respond(sseResponse(body.stream))
  await settle()
  published.length = 0
  return { store, body, published, sent }
}

describe('ConversationStore buffering', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
    vi.unstubAllGlobals()
  })

  it('publishes streamed text at most once per bufferMs, with every chunk since the last flush', async () => {
    const onChunk = vi.fn()
    const { body, published } = await streaming({ bufferMs: 100, onChunk })
    body.push(event('a') + event('b'))
    await settle()
    body.push(event('c'))
    await settle()
    expect(onChunk).toHaveBeenCalledTimes(3) // unbuffered
    expect(published).toEqual([])
    vi.advanceTimersByTime(99)
    expect(published).toEqual([])
    vi.advanceTimersByTime(1)
    expect(published).toEqual(['streaming:abc'])
    body.push(event('d'))
    await settle()
    vi.advanceTimersByTime(50)
    expect(published).toEqual(['streaming:abc'])
    vi.advanceTimersByTime(50)
    expect(published).toEqual(['streaming:abc', 'streaming:abcd'])
  })

  it('publishes a terminal state at once, without waiting for the buffer', async () => {
    const { body, published, sent } = await streaming({ bufferMs: 10_000 })
    body.push(`${event('x')}${event('y')}data: [DONE]\n\n`)
    body.close()
    expect(await sent).toBe('xy')
    expect(published).toEqual(['done:xy'])
    vi.advanceTimersByTime(10_000)
    expect(published).toEqual(['done:xy']) // the cancelled flush never fires
  })

  it('publishes stop() at once with the partial text, including chunks not yet flushed', async () => {
    const { store, body, published, sent } = await streaming({})
    body.push(event('par') + event('tial'))
    await settle()
    store.stop()
    expect(published).toEqual(['aborted:partial'])
    expect(await sent).toBeNull()
    expect(body.cancelled).toBe(true)
  })

  it('flushes once per animation frame by default', async () => {
    const { body, published } = await streaming({})
    body.push(event('a') + event('b'))
    await settle()
    expect(published).toEqual([])
    vi.advanceTimersToNextFrame()
    expect(published).toEqual(['streaming:ab'])
  })

  it('falls back to a 16 ms timeout where requestAnimationFrame is missing', async () => {
    vi.stubGlobal('requestAnimationFrame', undefined)
    const { body, published } = await streaming({})
    body.push(event('a'))
    await settle()
    vi.advanceTimersByTime(15)
    expect(published).toEqual([])
    vi.advanceTimersByTime(1)
    expect(published).toEqual(['streaming:a'])
  })

  it('keeps the state object identical between flushes, so no extra renders happen', async () => {
    const { store, body } = await streaming({ bufferMs: 100 })
    const before = store.getSnapshot()
    body.push(event('a'))
    await settle()
    expect(store.getSnapshot()).toBe(before)
    vi.advanceTimersByTime(100)
    expect(store.getSnapshot()).not.toBe(before)
  })
})
