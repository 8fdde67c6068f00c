// The behaviour every shared StreamStore must show (coalescing across instances, resume, stop from
// anywhere), run against each implementation: Redis, the Durable Object. Import and call
// `streamStoreContract` from a `.test.ts` file; store-specific cases (leases, keys, storage) stay
// in that file.
import { describe, expect, it, vi } from 'vitest'
import type { AnswerEvent } from '../../../src/server/engine/answer-event'
import type { SharedStream, StreamStore } from '../../../src/server/engine/stream-store'
import { APIError } from '../../../src/server/errors'

export interface StreamStoreSubject {
  /** Two instances (processes, isolates) of one store sharing its state: a fresh namespace each call. */
  pair(): [StreamStore, StreamStore]
  /** How long a store may take to see another instance's reader come or go (heartbeats, leases). */
  settleMs: number
}

export const NO_STOP = { ttlMs: 60_000, maxBytes: 1 << 20, onStop: () => {} }

export const hi: AnswerEvent[] = [
  { type: 'text', text: 'Hel' },
  { type: 'text', text: 'lo' },
]
export const finish: AnswerEvent = { type: 'finish', reason: 'stop' }

/** Everything a shared stream hands over, and how it ended. */
export async function drain(stream: SharedStream) {
  const events: AnswerEvent[] = []
  try {
    for (;;) {
      const batch = await stream.read()
      if (batch === undefined) return { events, error: undefined }
      events.push(...batch)
    }
  } catch (error) {
    return { events, error: error as APIError }
  }
}

/** A follower's read of a stream (`known: false` waits for a stream about to be written). */
async function follow(store: StreamStore, id: string): Promise<SharedStream> {
  return (await store.read(id, { known: false })) as SharedStream
}

export function streamStoreContract(name: string, subject: StreamStoreSubject): void {
  const waitLong = { timeout: subject.settleMs * 3 }

  describe(`${name} as a StreamStore`, () => {
    it('hands a reader on the other instance every event the leader wrote, in order, then the end', async () => {
      const [leader, other] = subject.pair()
      const id = crypto.randomUUID()
      const writer = leader.publish(id, { model: 'm' }, NO_STOP)
      writer.opened('answering-model')
      writer.append(hi.slice(0, 1))
      await writer.written
      const reader = await follow(other, id)
      writer.append([...hi.slice(1), finish])
      writer.end('complete')
      await reader.opened
      expect(reader.model).toBe('answering-model')
      expect(await drain(reader)).toEqual({ events: [...hi, finish], error: undefined })
    })

    it('lets a follower wait for a stream its leader has not written yet', async () => {
      const [leader, other] = subject.pair()
      const id = crypto.randomUUID()
      const reader = await follow(other, id)
      const writer = leader.publish(id, { model: 'm' }, NO_STOP)
      writer.opened('m')
      writer.append([...hi, finish])
      writer.end('complete')
      expect(await drain(reader)).toEqual({ events: [...hi, finish], error: undefined })
    })

    it('finds a resumable stream by id with its head on the other instance, and nothing for an unknown id', async () => {
      const [leader, other] = subject.pair()
      const id = crypto.randomUUID()
      const encoding = {
        protocol: 'chat-completions' as const,
        answerId: 'chatcmpl-1',
        created: 7,
        decoded: { request: { model: 'm' }, context: undefined },
      } as never
      const writer = leader.publish(id, { model: 'm', encoding }, NO_STOP)
      writer.end('complete')
      await writer.written
      const found = await other.read(id, { known: true })
      expect(found?.head).toEqual({ model: 'm', encoding })
      found?.abort()
      expect(await other.read(crypto.randomUUID(), { known: true })).toBeUndefined()
    })

    it("gives readers the leader's error as the same status, type, message and Retry-After", async () => {
      const [leader, other] = subject.pair()
      const id = crypto.randomUUID()
      const writer = leader.publish(id, { model: 'm' }, NO_STOP)
      writer.opened('m')
      writer.append(hi)
      writer.end(
        'error',
        new APIError('Upstream busy', { status: 429, type: 'rate_limit_error', retryAfter: 3 }),
      )
      const { events, error } = await drain(await follow(other, id))
      expect(events).toEqual(hi)
      expect(error).toBeInstanceOf(APIError)
      expect([error?.status, error?.type, error?.message, error?.retryAfter]).toEqual([
        429,
        'rate_limit_error',
        'Upstream busy',
        3,
      ])
    })

    it('ends the shared log with resume_log_full once it outgrows maxBytes, keeping what fit', async () => {
      const [leader, other] = subject.pair()
      const id = crypto.randomUUID()
      const writer = leader.publish(id, { model: 'm' }, { ...NO_STOP, maxBytes: 64 })
      writer.opened('m')
      writer.append(hi)
      writer.append([{ type: 'text', text: 'x'.repeat(100) }])
      writer.append([finish])
      const { events, error } = await drain(await follow(other, id))
      expect(events).toEqual(hi)
      expect([error?.status, error?.code]).toEqual([502, 'resume_log_full'])
    })

    it('claims a cache key once across instances: the first leads, the next follow its stream; a failed answer frees it', async () => {
      const [a, b] = subject.pair()
      const first = crypto.randomUUID()
      expect(await a.claim('k', first)).toEqual({ role: 'leader' })
      expect(await b.claim('k', crypto.randomUUID())).toEqual({ role: 'follower', streamId: first })
      const writer = a.publish(first, { model: 'm' }, { ...NO_STOP, key: 'k' })
      writer.end('error', new APIError('x', { status: 502, type: 'upstream_error' }))
      await vi.waitFor(async () => expect(await b.claim('k', 'next')).toEqual({ role: 'leader' }))
    })

    it('keeps a completed answer claimed until its lease lapses, so a late identical request follows it', async () => {
      const [leader, late] = subject.pair()
      const id = crypto.randomUUID()
      expect(await leader.claim('k', id)).toEqual({ role: 'leader' })
      const writer = leader.publish(id, { model: 'm' }, { ...NO_STOP, key: 'k' })
      writer.opened('m')
      writer.append([...hi, finish])
      writer.end('complete')
      expect(await late.claim('k', 'late')).toEqual({ role: 'follower', streamId: id })
      expect((await drain(await follow(late, id))).events).toEqual([...hi, finish])
    })

    it('delivers a stop asked on the other instance to the leader, and says false for an unknown stream', async () => {
      const [leader, other] = subject.pair()
      const id = crypto.randomUUID()
      const onStop = vi.fn()
      const writer = leader.publish(id, { model: 'm' }, { ...NO_STOP, onStop })
      await writer.written
      // Asked again until heard: a leader may start listening just after its first write.
      await vi.waitFor(async () => {
        expect(await other.stop(id)).toBe(true)
        expect(onStop).toHaveBeenCalled()
      }, waitLong)
      expect(await other.stop(crypto.randomUUID())).toBe(false)
      writer.end('stopped')
    })

    it('tells the leader whether readers on other instances still read its answer', async () => {
      const [leader, other] = subject.pair()
      const id = crypto.randomUUID()
      const writer = leader.publish(id, { model: 'm' }, NO_STOP)
      writer.opened('m')
      await writer.written
      expect(await writer.remoteReaders()).toBe(false)
      const reader = await follow(other, id)
      await reader.opened
      await vi.waitFor(async () => expect(await writer.remoteReaders()).toBe(true), waitLong)
      reader.abort()
      await vi.waitFor(async () => expect(await writer.remoteReaders()).toBe(false), waitLong)
      writer.end('complete')
    })

    it("finds a conversation's running stream on the other instance (useChat's reconnect) until it ends", async () => {
      const [leader, other] = subject.pair()
      const id = crypto.randomUUID()
      const writer = leader.publish(id, { model: 'm' }, { ...NO_STOP, conversation: 'c' })
      await vi.waitFor(async () => expect(await other.live('c')).toBe(id))
      writer.end('complete')
      await vi.waitFor(async () => expect(await other.live('c')).toBeUndefined())
    })
  })
}
