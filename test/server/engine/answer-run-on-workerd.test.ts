import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { bodyReader, fakeClock } from '../helpers/fake-clock'
import { Channel, fakeProvider, text } from '../helpers/fake-provider'
import { hello, post } from '../helpers/post'

// An answer shared by identical requests on workerd (navigator.userAgent 'Cloudflare-Workers'),
// run on Node: there a follower looks for news from its own timer, the upstream is the opener's
// request's I/O, and the opener can be gone without a word (workerd did not report its client
// leaving, or tore its context down). In those tests the opener's body is never read again.

const streamHello = { ...hello, stream: true }
const IDLE_MS = 1_000

/** The handler as workerd would load it: the engine reads the user agent once, at import. */
async function workerdHandler(
  provider: ReturnType<typeof fakeProvider>,
  waitUntil?: (promise: Promise<unknown>) => void,
) {
  vi.stubGlobal('navigator', { userAgent: 'Cloudflare-Workers' })
  vi.resetModules()
  const { createCopilotEdgeHandler } = await import('../../../src/server')
  return createCopilotEdgeHandler({
    provider,
    clock: fakeClock(),
    idleTimeoutMs: IDLE_MS,
    heartbeatMs: 0,
    waitUntil,
  })
}

/**
 * The handler with `waitUntil` (the promises it was given in `held`) on an upstream that has sent
 * 'first ' and waits for the test to push more.
 */
async function withWaitUntil() {
  const channel = new Channel()
  channel.push({ type: 'text', text: 'first ' })
  const provider = fakeProvider([{ channel }])
  const held: Promise<unknown>[] = []
  const handler = await workerdHandler(provider, (promise) => held.push(promise))
  return { channel, provider, held, handler }
}

describe('an answer shared by identical requests on workerd', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
    vi.unstubAllGlobals()
    vi.resetModules()
  })

  it('ends its follower with the idle error, and the next identical request asks anew: a whole answer', async () => {
    const stuck = new Channel()
    stuck.push({ type: 'text', text: 'first ' })
    const provider = fakeProvider([{ channel: stuck }, { events: text('a whole ', 'answer') }])
    const handler = await workerdHandler(provider)

    // The opener: its response exists, its body is never read (its client left, unreported).
    const opener = await handler(post(streamHello))
    expect(opener.status).toBe(200)

    const follower = bodyReader(await handler(post(streamHello)))
    const followed = follower.rest()
    await vi.advanceTimersByTimeAsync(IDLE_MS + 50)
    const text1 = await followed
    expect(text1).toContain('"content":"first "')
    expect(text1).toMatch(/"code":"idle_timeout"/)
    expect(text1).toContain('waitUntil')

    // Not joined to the stalled answer again: a new upstream call, and the whole answer.
    const next = bodyReader(await handler(post(streamHello)))
    const rest = next.rest()
    // Long enough for a joined stalled answer to end in the idle error too.
    await vi.advanceTimersByTimeAsync(IDLE_MS + 50)
    const text2 = await rest
    expect(provider.calls).toHaveLength(2)
    expect(text2).toContain('"content":"a whole "')
    expect(text2).toContain('"content":"answer"')
    expect(text2.endsWith('data: [DONE]\n\n')).toBe(true)
  })

  it("with waitUntil, the opener's request reads on for its follower: a whole answer, 1 upstream call", async () => {
    const { channel, provider, held, handler } = await withWaitUntil()

    const opener = await handler(post(streamHello))
    expect(opener.status).toBe(200)
    const follower = bodyReader(await handler(post(streamHello)))
    const followed = follower.rest()
    await vi.advanceTimersByTimeAsync(50)
    channel.push(...text('second ', 'third'))
    // Past idleTimeoutMs: a follower left waiting for the silent opener would get the idle error.
    await vi.advanceTimersByTimeAsync(IDLE_MS + 50)
    const body = await followed
    expect(body).not.toContain('idle_timeout')
    expect(body).toContain('"content":"first "')
    expect(body).toContain('"content":"second "')
    expect(body).toContain('"content":"third"')
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(provider.calls).toHaveLength(1)

    // The opener's client, reading at last (it was only slow), gets the whole answer too, and the
    // promise given to waitUntil settles: the answer is over.
    const opened = await bodyReader(opener).rest()
    expect(opened.match(/"content":"(first |second |third)"/g)).toHaveLength(3)
    expect(opened.endsWith('data: [DONE]\n\n')).toBe(true)
    await expect(Promise.all(held)).resolves.toBeDefined()
  })

  // The opener's request looks for followers every 250 ms, then reads for every reader.
  it.each([
    ['before', 50],
    ['after', 300],
  ])(
    'with waitUntil, the upstream is aborted once the opener and its follower have both left, and not before (the opener leaves %s its request reads for both)',
    async (_when, ms) => {
      const { channel, provider, held, handler } = await withWaitUntil()

      const opener = bodyReader(await handler(post(streamHello)))
      const follower = bodyReader(await handler(post(streamHello)))
      expect(await follower.read()).toContain('"content":"first "')
      await vi.advanceTimersByTimeAsync(ms)

      await opener.cancel()
      channel.push({ type: 'text', text: 'second ' })
      await vi.advanceTimersByTimeAsync(50)
      expect(await follower.read()).toContain('"content":"second "')
      expect(provider.calls[0]?.aborted).toBe(false)

      await follower.cancel()
      channel.push({ type: 'text', text: 'third ' })
      await vi.advanceTimersByTimeAsync(50)
      expect(provider.calls[0]?.aborted).toBe(true)
      expect(provider.calls).toHaveLength(1)
      await expect(Promise.all(held)).resolves.toBeDefined()
    },
  )

  it('with waitUntil, the opener leaving after its follower aborts the upstream at once', async () => {
    const { provider, handler } = await withWaitUntil()

    const opener = bodyReader(await handler(post(streamHello)))
    const follower = bodyReader(await handler(post(streamHello)))
    expect(await follower.read()).toContain('"content":"first "')
    // Past the opener's look for followers: its request reads for both.
    await vi.advanceTimersByTimeAsync(300)

    await follower.cancel()
    await vi.advanceTimersByTimeAsync(50)
    expect(provider.calls[0]?.aborted).toBe(false)
    // Nothing more comes from the upstream: the opener's leaving alone ends it.
    await opener.cancel()
    await vi.advanceTimersByTimeAsync(0)
    expect(provider.calls[0]?.aborted).toBe(true)
  })
})
