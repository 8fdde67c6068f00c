// The behaviour every CacheStore must show, run against each implementation (memory, Redis; KV and
// the Durable Object later). Import and call `cacheStoreContract` from a `.test.ts` file.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CachedAnswer, CacheStore } from '../../../src/server'

export interface CacheStoreSubject {
  store: CacheStore
  /** The per-entry byte bound the store was made with. */
  maxBytes: number
  /** A TTL the expiry case can wait out (fake timers for memory, real time for a remote store). */
  ttlMs: number
  /** Lets `ms` pass on the store's clock. */
  elapse(ms: number): Promise<void>
  close?(): Promise<void>
}

const answer = (text: string): CachedAnswer => ({
  model: '@cf/meta/llama-3.1-8b-instruct',
  text,
  finishReason: 'stop',
})

export function cacheStoreContract(name: string, make: () => Promise<CacheStoreSubject>): void {
  describe(`${name} as a CacheStore`, () => {
    let subject: CacheStoreSubject
    beforeEach(async () => {
      subject = await make()
    })
    afterEach(async () => {
      await subject.close?.()
    })

    it('misses a key it never stored', async () => {
      expect(await subject.store.get('never-stored')).toBeUndefined()
    })

    it('gives back exactly the answer it stored, tool calls, usage and non-ASCII text included', async () => {
      const full: CachedAnswer = {
        model: '@cf/openai/gpt-oss-20b',
        text: 'Grüße, 世界 🌍 "quoted" \\ and\nnewlines',
        reasoning: 'thought about it',
        toolCalls: [
          { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
        ],
        finishReason: 'tool_calls',
        usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
      }
      await subject.store.set('k', full, 60_000)
      expect(await subject.store.get('k')).toEqual(full)
    })

    it('keeps the latest answer written under a key', async () => {
      await subject.store.set('k', answer('first'), 60_000)
      await subject.store.set('k', answer('second'), 60_000)
      expect((await subject.store.get('k'))?.text).toBe('second')
    })

    it('serves an answer until its TTL passes, then misses', async () => {
      await subject.store.set('short', answer('soon gone'), subject.ttlMs)
      await subject.store.set('long', answer('stays'), 60_000)
      await subject.elapse(Math.floor(subject.ttlMs / 2))
      expect((await subject.store.get('short'))?.text).toBe('soon gone')
      await subject.elapse(subject.ttlMs)
      expect(await subject.store.get('short')).toBeUndefined()
      expect((await subject.store.get('long'))?.text).toBe('stays')
    })

    it('skips an answer larger than its byte bound and keeps smaller ones', async () => {
      await subject.store.set('big', answer('x'.repeat(subject.maxBytes)), 60_000)
      await subject.store.set('small', answer('fits'), 60_000)
      expect(await subject.store.get('big')).toBeUndefined()
      expect((await subject.store.get('small'))?.text).toBe('fits')
    })

    it('forgets every answer on clear', async () => {
      for (let i = 0; i < 25; i++) await subject.store.set(`k${i}`, answer(`a${i}`), 60_000)
      await subject.store.clear()
      for (let i = 0; i < 25; i++) expect(await subject.store.get(`k${i}`)).toBeUndefined()
    })
  })
}
