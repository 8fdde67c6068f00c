import type { Clock } from '../../clock'
import type { AnswerEvent } from '../../engine/answer-event'
import type { LogState } from '../../engine/answer-log'
import type { PublishOptions, StreamHead, StreamPublisher } from '../../engine/stream-store'
import { logFull, storeError } from '../../engine/stream-store'
import type { APIError, ValidationError } from '../../errors'
import type { StoreCircuit } from '../store-circuit'
import type { RedisCommand } from './redis-client'
import type { StreamKeys } from './redis-stream-keys'

/** Runs a Lua script by its keys and arguments (EVALSHA, loaded on first use). */
export type RunScript = (keys: string[], args: string[]) => Promise<unknown>

/**
 * One entry, the stream's expiry and the leader's lease in one atomic step: a reader never sees an
 * entry without the lease that says its writer is alive, and `end` drops the lease with it.
 * KEYS: stream, lease. ARGV: type, data, stream ttl ms, lease ms ('' = the end: delete the lease).
 */
export const APPEND_SCRIPT = `
redis.call('XADD', KEYS[1], '*', 't', ARGV[1], 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ARGV[4] == '' then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], '1', 'PX', ARGV[4]) end
return 1
`

/**
 * The leader's heartbeat: the lease, the stream, the claimed cache key and the conversation's pointer
 * (each only while it still names this stream) live on. KEYS: stream, lease, inflight or '',
 * conversation or ''. ARGV: stream ttl, lease ms, stream id.
 */
export const REFRESH_SCRIPT = `
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
if KEYS[3] ~= '' and redis.call('GET', KEYS[3]) == ARGV[3] then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
if KEYS[4] ~= '' and redis.call('GET', KEYS[4]) == ARGV[3] then redis.call('PEXPIRE', KEYS[4], ARGV[1]) end
return 1
`

/** Frees a claimed cache key if it still names this stream. KEYS: inflight. ARGV: stream id. */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

export interface PublisherContext {
  send: RedisCommand
  append: RunScript
  refresh: RunScript
  release: RunScript
  circuit: StoreCircuit
  keys: StreamKeys
  leaseMs: number
  clock: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>
  /** Registers the stop handler of a stream; returns its removal. */
  onStop(streamId: string, stop: () => void): () => void
}

const FAILED = Symbol('failed')

/**
 * Writes one answer's log, in order, in the background: the instance's own readers never wait for
 * Redis. The first write that fails ends the shared log for good (no entry after a gap): the lease
 * is no longer refreshed, so readers elsewhere see it lapse and end with `stream_truncated` instead
 * of a silently partial answer.
 */
export class RedisStreamPublisher implements StreamPublisher {
  readonly #context: PublisherContext
  readonly #streamId: string
  readonly #options: PublishOptions
  readonly #stream: string
  readonly #lease: string
  readonly #inflight: string
  readonly #conversation: string
  #chain: Promise<unknown> = Promise.resolve()
  #broken = false
  #ended = false
  #bytes = 0
  /** Events appended since the last write began (written by the next one). */
  #pending: AnswerEvent[] = []
  #timer: unknown
  readonly #unsubscribe: () => void
  readonly written: Promise<void>

  constructor(
    context: PublisherContext,
    streamId: string,
    head: StreamHead,
    options: PublishOptions,
  ) {
    this.#context = context
    this.#streamId = streamId
    this.#options = options
    this.#stream = context.keys.stream(streamId)
    this.#lease = context.keys.lease(streamId)
    this.#inflight = options.key === undefined ? '' : context.keys.inflight(options.key)
    this.#conversation =
      options.conversation === undefined ? '' : context.keys.conversation(options.conversation)
    this.#unsubscribe = context.onStop(streamId, options.onStop)
    this.#write('head', JSON.stringify(head))
    // The conversation's latest answer is this one (a newer question replaces an older pointer).
    if (this.#conversation !== '') {
      this.#enqueue(() =>
        context.send(['SET', this.#conversation, streamId, 'PX', this.#liveTtl()]),
      )
    }
    // The chain never rejects: settled once the head is written or could not be.
    this.written = this.#chain.then(() => {})
    this.#tick()
  }

  opened(model: string): void {
    this.#write('open', model)
  }

  append(events: AnswerEvent[]): void {
    if (this.#ended || this.#broken) return
    // Events that come while a write is in flight go out together in the next entry: one round
    // trip per write, not per upstream batch, so a fast upstream never queues thousands of writes.
    const flushQueued = this.#pending.length > 0
    for (const event of events) this.#pending.push(event)
    if (flushQueued) return
    this.#enqueue(() => {
      const batch = this.#pending
      this.#pending = []
      let data = JSON.stringify(batch)
      if (this.#bytes + data.length > this.#options.maxBytes) {
        // Readers elsewhere get what fit, then the error the local log gives; the local answer is
        // not ours to end. Measured event by event only here, off the hot path.
        const fit: AnswerEvent[] = []
        let bytes = this.#bytes + 2
        for (const event of batch) {
          bytes += JSON.stringify(event).length + 1
          if (bytes > this.#options.maxBytes) break
          fit.push(event)
        }
        this.end('error', logFull(this.#options.maxBytes))
        if (fit.length === 0) return Promise.resolve()
        data = JSON.stringify(fit)
      }
      this.#bytes += data.length
      return this.#context.append(
        [this.#stream, this.#lease],
        ['ev', data, this.#liveTtl(), String(this.#context.leaseMs)],
      )
    })
  }

  end(state: Exclude<LogState, 'live'>, error?: APIError | ValidationError): void {
    if (this.#ended) return
    this.#ended = true
    this.#context.clock.clearTimeout(this.#timer)
    this.#unsubscribe()
    const data = JSON.stringify(error ? { state, error: storeError(error) } : { state })
    this.#enqueue(() =>
      this.#context.append([this.#stream, this.#lease], ['end', data, this.#ttl(), '']),
    )
    // A failed or stopped answer is not one to follow: the next identical request asks again.
    if (state !== 'complete' && this.#inflight !== '') {
      this.#enqueue(() => this.#context.release([this.#inflight], [this.#streamId]))
    }
    // useChat's reconnect finds running answers only (a finished one it already has).
    if (this.#conversation !== '') {
      this.#enqueue(() => this.#context.release([this.#conversation], [this.#streamId]))
    }
  }

  async remoteReaders(): Promise<boolean> {
    const { send, circuit, keys, clock } = this.#context
    const readers = keys.readers(this.#streamId)
    const count = await circuit.run(
      async () => {
        await send(['ZREMRANGEBYSCORE', readers, '-inf', String(clock.now())])
        return Number(await send(['ZCARD', readers]))
      },
      () => 0,
    )
    return count > 0
  }

  #ttl(): string {
    return String(Math.max(1, Math.ceil(this.#options.ttlMs)))
  }

  #write(type: string, data: string): void {
    if (this.#ended) return
    const lease = String(this.#context.leaseMs)
    this.#enqueue(() =>
      this.#context.append([this.#stream, this.#lease], [type, data, this.#liveTtl(), lease]),
    )
  }

  /** While live, the stream outlives its lease: a reader always finds the entries before a lapse. */
  #liveTtl(): string {
    return String(Math.max(Math.ceil(this.#options.ttlMs), this.#context.leaseMs * 3))
  }

  #tick(): void {
    const { leaseMs, clock } = this.#context
    this.#timer = clock.setTimeout(
      () => {
        if (this.#ended || this.#broken) return
        this.#enqueue(() =>
          this.#context.refresh(
            [this.#stream, this.#lease, this.#inflight, this.#conversation],
            [this.#liveTtl(), String(leaseMs), this.#streamId],
          ),
        )
        this.#tick()
      },
      Math.max(1, Math.floor(leaseMs / 3)),
    )
  }

  /**
   * Writes are not bounded by the circuit's timeout: a slow write is still a write (cutting it off
   * would end a live answer's log for readers elsewhere). Only a store known to be down is skipped.
   */
  #enqueue(write: () => Promise<unknown>): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#broken) return
      const result =
        this.#context.circuit.state === 'closed' ? await write().catch(() => FAILED) : FAILED
      if (result === FAILED) {
        this.#broken = true
        this.#context.clock.clearTimeout(this.#timer)
      }
    })
  }
}
