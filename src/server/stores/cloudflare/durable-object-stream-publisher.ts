import type { Clock } from '../../clock'
import type { AnswerEvent } from '../../engine/answer-event'
import type { LogState } from '../../engine/answer-log'
import type { PublishOptions, StreamHead, StreamPublisher } from '../../engine/stream-store'
import { logFull, storeError } from '../../engine/stream-store'
import type { APIError, ValidationError } from '../../errors'
import type { StoreCircuit } from '../store-circuit'
import { type AppendReply, STREAM_PATHS, type StreamEntry } from './coordinator-streams'

/** Calls one route of one coordinator object (named), answering its JSON. */
export type CallCoordinator = <T>(
  object: string,
  path: string,
  body: Record<string, unknown>,
) => Promise<T>

export interface PublisherContext {
  call: CallCoordinator
  circuit: StoreCircuit
  leaseMs: number
  /** At most one append per this many ms: what arrives meanwhile goes in the next one. */
  flushMs: number
  clock: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>
  /** Keeps the isolate alive for a write that outlives the response (`waitUntil`). */
  keep: <T>(promise: Promise<T>) => Promise<T>
  /** The object that points a conversation at its running stream. */
  conversationObject(conversation: string): string
}

// A log entry is one storage value (128 KiB at most on key-value objects): batches merge up to this.
const MAX_ENTRY_CHARS = 32 * 1024

/**
 * Writes one answer's log into its coordinator object, in order, in the background: the isolate's
 * own readers never wait for it. One request is in flight at a time and at most one starts per
 * `flushMs`; what arrives meanwhile is merged into the next, so a long answer costs about
 * (its duration / flushMs) subrequests, not one per token. Each write renews the lease (and the
 * claim of the cache key); an idle answer sends a heartbeat every third of a lease. A reply may
 * say the answer was stopped (`onStop`) or that its lease lapsed; a failed or lapsed write ends
 * the shared log for good (no entry after a gap): its readers end with `stream_truncated`.
 */
export class DurableObjectStreamPublisher implements StreamPublisher {
  readonly #context: PublisherContext
  readonly #streamId: string
  readonly #object: string
  readonly #options: PublishOptions
  #pending: StreamEntry[]
  #pendingChars = 0
  #inFlight = false
  #broken = false
  #ended = false
  #release = false
  #stopNotified = false
  #bytes = 0
  #lastSentAt = Number.NEGATIVE_INFINITY
  #pointedAt = Number.NEGATIVE_INFINITY
  #flushTimer: unknown
  #tickTimer: unknown
  #settleWritten!: () => void
  #settleDone!: () => void
  readonly written: Promise<void>

  constructor(
    context: PublisherContext,
    streamId: string,
    object: string,
    head: StreamHead,
    options: PublishOptions,
  ) {
    this.#context = context
    this.#streamId = streamId
    this.#object = object
    this.#options = options
    this.written = new Promise((resolve) => {
      this.#settleWritten = resolve
    })
    // The answer's last writes come after its own response ended; on workerd whatever is still
    // pending then is cancelled (its readers elsewhere would lose the end): keep the request alive
    // until the end is written.
    context.keep(
      new Promise<void>((resolve) => {
        this.#settleDone = resolve
      }),
    )
    this.#pending = [{ t: 'head', d: head }]
    this.#point()
    this.#schedule()
    this.#tick()
  }

  opened(model: string): void {
    this.#push({ t: 'open', d: model })
  }

  append(events: AnswerEvent[]): void {
    if (this.#ended || this.#broken) return
    const chars = JSON.stringify(events).length
    this.#bytes += chars
    if (this.#bytes > this.#options.maxBytes) {
      // Readers elsewhere get the error the local log gives; the local answer is not ours to end.
      this.end('error', logFull(this.#options.maxBytes))
      return
    }
    const last = this.#pending[this.#pending.length - 1]
    if (last?.t === 'ev' && this.#pendingChars + chars <= MAX_ENTRY_CHARS) {
      for (const event of events) (last.d as AnswerEvent[]).push(event)
      this.#pendingChars += chars
    } else {
      this.#push({ t: 'ev', d: [...events] })
      this.#pendingChars = chars
    }
  }

  end(state: Exclude<LogState, 'live'>, error?: APIError | ValidationError): void {
    if (this.#ended) return
    this.#push({ t: 'end', d: error ? { state, error: storeError(error) } : { state } })
    this.#ended = true
    // A failed or stopped answer is not one to follow: the next identical request asks again.
    this.#release = state !== 'complete'
    this.#context.clock.clearTimeout(this.#tickTimer)
    // useChat's reconnect finds running answers only (a finished one it already has).
    if (this.#options.conversation !== undefined) this.#point(true)
  }

  async remoteReaders(): Promise<boolean> {
    const { call, circuit } = this.#context
    return circuit.run(
      async () =>
        (
          await call<{ readers: number }>(this.#object, STREAM_PATHS.readers, {
            id: this.#streamId,
          })
        ).readers > 0,
      () => false,
    )
  }

  #push(entry: StreamEntry): void {
    if (this.#ended || this.#broken) return
    this.#pending.push(entry)
    this.#schedule()
  }

  #liveTtl(): number {
    return Math.max(Math.ceil(this.#options.ttlMs), this.#context.leaseMs * 3)
  }

  /** Sends the pending entries now, or once `flushMs` since the last send has passed. */
  #schedule(): void {
    if (this.#inFlight || this.#broken || this.#flushTimer !== undefined) return
    if (this.#pending.length === 0) return
    const { clock, flushMs } = this.#context
    const wait = this.#lastSentAt + flushMs - clock.now()
    if (wait > 0) {
      this.#flushTimer = clock.setTimeout(() => {
        this.#flushTimer = undefined
        this.#schedule()
      }, wait)
      return
    }
    this.#send()
  }

  #send(): void {
    const { call, circuit, clock, leaseMs, keep } = this.#context
    const entries = this.#pending
    this.#pending = []
    this.#pendingChars = 0
    const last = entries.at(-1)?.t === 'end'
    this.#inFlight = true
    this.#lastSentAt = clock.now()
    // Only a store known to be down is skipped: a slow write is still a write (cutting it off
    // would end a live answer's log for readers elsewhere).
    const write =
      circuit.state === 'closed'
        ? call<AppendReply>(this.#object, STREAM_PATHS.append, {
            id: this.#streamId,
            entries,
            leaseMs,
            ttlMs: last ? Math.max(1, Math.ceil(this.#options.ttlMs)) : this.#liveTtl(),
            ...(this.#options.key === undefined ? {} : { key: this.#options.key }),
            ...(last && this.#release ? { release: true } : {}),
          })
        : Promise.reject(new Error('the stream store is down'))
    keep(write)
      .then(
        (reply) => {
          if (reply.lapsed) this.#break()
          if (reply.stopped && !this.#stopNotified && !this.#ended) {
            this.#stopNotified = true
            this.#options.onStop()
          }
        },
        () => this.#break(),
      )
      .finally(() => {
        this.#inFlight = false
        this.#settleWritten()
        if (last) this.#settleDone()
        this.#schedule()
      })
  }

  #break(): void {
    this.#settleDone()
    this.#broken = true
    this.#pending = []
    this.#context.clock.clearTimeout(this.#tickTimer)
    this.#context.clock.clearTimeout(this.#flushTimer)
  }

  /** Every third of a lease: a heartbeat if nothing was sent since, and the pointer renewed. */
  #tick(): void {
    const { leaseMs, clock } = this.#context
    const every = Math.max(1, Math.floor(leaseMs / 3))
    this.#tickTimer = clock.setTimeout(() => {
      if (this.#ended || this.#broken) return
      if (!this.#inFlight && clock.now() - this.#lastSentAt >= every) this.#send()
      if (clock.now() - this.#pointedAt > this.#liveTtl() / 2) this.#point()
      this.#tick()
    }, every)
  }

  /** Points the conversation at this stream (or clears it): renewed every half of its ttl. */
  #point(clear = false): void {
    const conversation = this.#options.conversation
    if (conversation === undefined || this.#broken) return
    const { call, circuit, clock, keep, conversationObject } = this.#context
    this.#pointedAt = clock.now()
    if (circuit.state !== 'closed') return
    keep(
      call(conversationObject(conversation), STREAM_PATHS.point, {
        id: conversation,
        streamId: this.#streamId,
        ttlMs: this.#liveTtl(),
        ...(clear ? { clear: true } : {}),
      }),
    ).catch(() => {})
  }
}
