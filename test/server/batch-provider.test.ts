import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Provider, UpstreamBatchIterator, UpstreamEvent } from '../../src/server'
import { createCopilotEdgeHandler } from '../../src/server'
import { bodyReader, fakeClock } from './helpers/fake-clock'
import { fakeProvider } from './helpers/fake-provider'
import { hello, normalise, post } from './helpers/post'

const streamHello = { ...hello, stream: true }

interface BatchScript {
  /** Handed over one per nextBatch() (or event by event through next()). */
  batches: UpstreamEvent[][]
  /**
   * After the batches: never settle until aborted (an upstream that stalls mid-stream), or, with
   * 'ignoring its signal', never settle at all (a provider that does not listen to its signal).
   */
  stall?: boolean | 'ignoring its signal'
}

/** A provider whose iterator offers nextBatch(), recording how many batches were asked for. */
function batchProvider(script: BatchScript) {
  const state = {
    asked: 0,
    aborted: false,
    returned: false,
    signal: undefined as AbortSignal | undefined,
  }
  const provider: Provider = {
    name: 'batches',
    async stream(request) {
      state.signal = request.signal
      const queue = script.batches.map((batch) => [...batch])
      let current: UpstreamEvent[] = []
      const ended = async (): Promise<IteratorResult<never, undefined>> => {
        if (!script.stall) return { done: true, value: undefined }
        if (script.stall === 'ignoring its signal') return new Promise(() => {})
        return new Promise((_, reject) => {
          const fail = () => {
            state.aborted = true
            reject(request.signal.reason)
          }
          if (request.signal.aborted) fail()
          else request.signal.addEventListener('abort', fail, { once: true })
        })
      }
      const iterator: UpstreamBatchIterator & AsyncIterable<UpstreamEvent> = {
        async next() {
          if (current.length === 0) current = queue.shift() ?? []
          const event = current.shift()
          return event ? { done: false, value: event } : ended()
        },
        async nextBatch() {
          state.asked++
          const batch = current.length > 0 ? current : queue.shift()
          current = []
          return batch ? { done: false, value: batch } : ended()
        },
        async return() {
          state.returned = true
          return { done: true, value: undefined }
        },
        [Symbol.asyncIterator]() {
          return this
        },
      }
      return iterator
    },
  }
  return { provider, state }
}

const texts = (from: number, count: number): UpstreamEvent[] =>
  Array.from({ length: count }, (_, i) => ({ type: 'text', text: `t${from + i} ` }))

describe('a provider that hands over batches (nextBatch)', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('sends the same bytes as the same events one by one from a plain async iterable', async () => {
    const events: UpstreamEvent[] = [
      ...texts(0, 5),
      { type: 'reasoning', text: 'hm' },
      ...texts(5, 300),
      { type: 'usage', usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
      { type: 'finish', reason: 'stop' },
    ]
    const batched = batchProvider({
      batches: [events.slice(0, 1), events.slice(1, 7), events.slice(7, 200), events.slice(200)],
    })
    const plain = fakeProvider([{ events }])
    const ask = { ...streamHello, stream_options: { include_usage: true } }
    const viaBatches = await createCopilotEdgeHandler({ provider: batched.provider })(post(ask))
    const oneByOne = await createCopilotEdgeHandler({ provider: plain })(post(ask))
    const expected = normalise(await oneByOne.text())
    expect(normalise(await viaBatches.text())).toBe(expected)
    expect(expected).toMatch(/"content":"t304 ".*\n\ndata: \[DONE\]\n\n$/s)
  })

  it('splits one large batch over several chunks of about 16 KiB, asking for no more batches meanwhile', async () => {
    const { provider, state } = batchProvider({
      batches: [texts(0, 1), [...texts(1, 3000), { type: 'finish', reason: 'stop' }]],
    })
    const response = await createCopilotEdgeHandler({ provider, clock: fakeClock() })(
      post(streamHello),
    )
    const reader = response.body!.getReader()
    const sizes: number[] = []
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      sizes.push(value.byteLength)
      // The client holds back: the engine reads no batch beyond the one it is sending.
      await vi.advanceTimersByTimeAsync(10)
      expect(state.asked).toBe(1)
    }
    expect(sizes.length).toBeGreaterThan(5)
    for (const size of sizes) expect(size).toBeLessThan(16 * 1024 + 1024)
  })

  it('still times out (idleTimeoutMs) when the upstream stalls after a batch', async () => {
    const { provider, state } = batchProvider({ batches: [texts(0, 1), texts(1, 3)], stall: true })
    const handler = createCopilotEdgeHandler({
      provider,
      clock: fakeClock(),
      idleTimeoutMs: 3000,
      heartbeatMs: 0,
    })
    const response = await handler(post(streamHello))
    const body = bodyReader(response)
    const rest = body.rest()
    await vi.advanceTimersByTimeAsync(2999)
    expect(state.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    const text = await rest
    expect(text).toContain('"content":"t3 "')
    expect(text).toMatch(/"code":"idle_timeout"}}\n\n$/)
    expect(state.aborted).toBe(true)
  })

  it('still times out (idleTimeoutMs) when a provider that ignores its signal stalls', async () => {
    const { provider, state } = batchProvider({
      batches: [texts(0, 1), texts(1, 3)],
      stall: 'ignoring its signal',
    })
    const handler = createCopilotEdgeHandler({
      provider,
      clock: fakeClock(),
      idleTimeoutMs: 3000,
      heartbeatMs: 0,
    })
    const body = bodyReader(await handler(post(streamHello)))
    const rest = body.rest()
    await vi.advanceTimersByTimeAsync(3000)
    // The engine's own race ends the read: the stream ends with the error, the iterator is closed.
    const text = await rest
    expect(text).toContain('"content":"t3 "')
    expect(text).toMatch(/"code":"idle_timeout"}}\n\n$/)
    expect(state.returned).toBe(true)
  })

  it('aborts the upstream when the client cancels mid-stream', async () => {
    const { provider, state } = batchProvider({ batches: [texts(0, 1), texts(1, 3)], stall: true })
    const response = await createCopilotEdgeHandler({ provider, clock: fakeClock() })(
      post(streamHello),
    )
    const body = bodyReader(response)
    await body.read()
    await body.cancel()
    await vi.advanceTimersByTimeAsync(0)
    // The client left while its next chunk waited unread: no read was pending, the signal says it.
    expect(state.signal?.aborted).toBe(true)
    expect(state.returned).toBe(true)
  })

  it('answers handleRequest from batches, text and all', async () => {
    const { provider } = batchProvider({
      batches: [texts(0, 2), [...texts(2, 3), { type: 'finish', reason: 'stop' }]],
    })
    const handler = createCopilotEdgeHandler({ provider })
    const response = await handler(post(hello))
    const json = await response.json()
    expect(json.choices[0].message.content).toBe('t0 t1 t2 t3 t4 ')
  })
})
