import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  CopilotEdgeCoordinator,
  createCopilotEdgeHandler,
  createDurableObjectStreamStore,
  type DurableObjectNamespaceLike,
  type DurableObjectStreamStoreOptions,
} from '../../../src/server'
import type { AnswerEvent } from '../../../src/server/engine/answer-event'
import type { SharedStream } from '../../../src/server/engine/stream-store'
import { createWorkersAIEmulator } from '../../../src/testing'
import { memoryNamespace } from './cloudflare/memory-namespace'
import { drain, finish, hi, NO_STOP, streamStoreContract } from './stream-store.contract'

// The Durable Object stream store against real CopilotEdgeCoordinator objects in this process
// (storage in memory, reached over fetch as a Worker reaches a stub). Each store is one isolate.

const LEASE_MS = 300

function store(
  namespace: DurableObjectNamespaceLike,
  options: Partial<DurableObjectStreamStoreOptions> = {},
) {
  return createDurableObjectStreamStore({
    namespace,
    leaseMs: LEASE_MS,
    flushMs: 10,
    logger: { warn: () => {} },
    ...options,
  })
}

/** The namespace as one isolate sees it; `die()` and its calls never arrive again. */
function isolate(namespace: DurableObjectNamespaceLike) {
  let dead = false
  const seen: DurableObjectNamespaceLike = {
    idFromName: (name) => namespace.idFromName(name),
    get: (id) => ({
      fetch: (input, init) => (dead ? new Promise(() => {}) : namespace.get(id).fetch(input, init)),
    }),
  }
  return {
    namespace: seen,
    die: () => {
      dead = true
    },
  }
}

afterEach(() => {
  vi.useRealTimers()
})

streamStoreContract('the Durable Object stream store', {
  pair: () => {
    const { namespace } = memoryNamespace()
    return [store(namespace), store(namespace)]
  },
  settleMs: LEASE_MS,
})

describe('the Durable Object stream store', () => {
  it('batches a fast answer: one write in flight, the rest merged into the next (not one per token)', async () => {
    const { namespace, calls } = memoryNamespace()
    const id = crypto.randomUUID()
    const writer = store(namespace, { flushMs: 50 }).publish(id, { model: 'm' }, NO_STOP)
    writer.opened('m')
    const tokens = Array.from(
      { length: 500 },
      (_, i): AnswerEvent => ({ type: 'text', text: `${i} ` }),
    )
    for (const token of tokens) writer.append([token])
    writer.append([finish])
    writer.end('complete')
    const { events } = await drain(
      (await store(namespace).read(id, { known: false })) as SharedStream,
    )
    expect(events).toEqual([...tokens, finish])
    // The head alone, then everything else in one write.
    expect(calls.filter((c) => c.path === '/v1/stream/append')).toHaveLength(2)
  })

  it('ends a tailing reader with stream_truncated once the leader stopped renewing its lease, not a hang', async () => {
    vi.useFakeTimers()
    const { namespace } = memoryNamespace()
    const leader = isolate(namespace)
    const id = crypto.randomUUID()
    const s = store(leader.namespace)
    expect(await s.claim('k', id)).toEqual({ role: 'leader' })
    const writer = s.publish(id, { model: 'm' }, { ...NO_STOP, key: 'k' })
    writer.opened('m')
    writer.append(hi)
    await vi.advanceTimersByTimeAsync(20)
    const other = store(namespace)
    const claim = await other.claim('k', crypto.randomUUID())
    expect(claim).toEqual({ role: 'follower', streamId: id })
    const reader = (await other.read(id, { known: false })) as SharedStream
    await reader.opened
    // Heartbeats keep it alive while the leader lives...
    await vi.advanceTimersByTimeAsync(LEASE_MS * 3)
    expect(reader.closed).toBe(false)
    // ...then its isolate dies: nothing renews the lease.
    leader.die()
    const drained = drain(reader)
    await vi.advanceTimersByTimeAsync(LEASE_MS + 50)
    const { events, error } = await drained
    expect(events).toEqual(hi)
    expect([error?.status, error?.code]).toEqual([502, 'stream_truncated'])
    // And the key is free: the next identical request leads.
    expect(await other.claim('k', 'next')).toEqual({ role: 'leader' })
  })

  it('deletes a finished log from storage once its ttl passed (the alarm), and no longer finds it', async () => {
    vi.useFakeTimers()
    const { namespace, objects } = memoryNamespace()
    const id = crypto.randomUUID()
    const writer = store(namespace).publish(id, { model: 'm' }, { ...NO_STOP, ttlMs: 5_000 })
    writer.opened('m')
    writer.append([...hi, finish])
    writer.end('complete')
    await vi.advanceTimersByTimeAsync(50)
    const object = objects.get(`copilotedge:v1:stream:${id}`)
    expect([...(object?.storage.data.keys() ?? [])]).toHaveLength(5)
    const alarm = object?.storage.alarm as number
    expect(alarm - Date.now()).toBeGreaterThan(4_000)
    await vi.advanceTimersByTimeAsync(alarm - Date.now())
    await object?.coordinator.alarm()
    expect(object?.storage.data.size).toBe(0)
    expect(await store(namespace).read(id, { known: true })).toBeUndefined()
  })

  it('answers locally (claim undefined) while the object is unreachable, logging the outage once', async () => {
    const { namespace, state } = memoryNamespace()
    state.down = true
    const warn = vi.fn()
    const s = store(namespace, { logger: { warn } })
    expect(await s.claim('k', 'a')).toBeUndefined()
    expect(await s.claim('k', 'b')).toBeUndefined()
    expect(await s.stop('x')).toBe(false)
    expect(await s.read('x', { known: true })).toBeUndefined()
    expect(await s.live('c')).toBeUndefined()
    expect(warn).toHaveBeenCalledTimes(1)
    expect(String(warn.mock.calls[0]?.[0])).toContain('Durable Object stream store failed')
  })

  it('stores no prompt text: a resumable answer through the handler keeps its events, not the question', async () => {
    const emulator = createWorkersAIEmulator({ reply: () => 'Replied' })
    const { namespace, objects } = memoryNamespace()
    const handler = createCopilotEdgeHandler({
      apiKey: emulator.apiToken,
      accountId: emulator.accountId,
      baseURL: emulator.baseURL,
      fetch: emulator.fetchImpl,
      cache: false,
      resume: true,
      streams: store(namespace),
    })
    const secret = 'my secret question 7f3a'
    const response = await handler(
      new Request('http://x/api/copilot', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: secret }], stream: true }),
      }),
    )
    const streamId = response.headers.get('x-copilotedge-stream-id') as string
    expect(await response.text()).toContain('data: [DONE]')
    const storage = objects.get(`copilotedge:v1:stream:${streamId}`)?.storage
    await vi.waitFor(() =>
      expect(storage?.data.get(`m:${streamId}`)).toMatchObject({ state: 'ended' }),
    )
    const stored = JSON.stringify([...(storage?.data ?? [])])
    expect(stored).toContain('Replied')
    expect(stored).not.toContain(secret)
  })

  it('the coordinator answers a malformed stream call with a 400, never a 500', async () => {
    const coordinator = new CopilotEdgeCoordinator({ storage: {} as never })
    const post = (path: string, body: string) =>
      coordinator.fetch(new Request(`https://c${path}`, { method: 'POST', body }))
    expect((await post('/v1/stream/append', '{"id":"s"}')).status).toBe(400)
    expect((await post('/v1/stream/claim', '{"id":"s","key":"k"}')).status).toBe(400)
    expect((await post('/v1/stream/read', '{"key":"k"}')).status).toBe(400)
    expect((await post('/v1/stream/nothing', '{"id":"s"}')).status).toBe(404)
  })
})
