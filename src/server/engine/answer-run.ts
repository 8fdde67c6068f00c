import type { CachedAnswer } from '../cache/response-cache'
import { type Clock, systemClock } from '../clock'
import type { APIError, ValidationError } from '../errors'
import type { UpstreamEvent } from '../providers/provider'
import { AnswerBuilder } from './answer-builder'
import type { AnswerEvent } from './answer-event'
import { answerEvents } from './answer-event'
import { EventQueue } from './event-queue'
import { ISOLATED_REQUESTS, pollOwnTimer, sharedAnswerIdle } from './isolated-requests'
import type { UpstreamSession } from './upstream-session'
import { ClientAbort } from './upstream-session'

type BatchResult = IteratorResult<UpstreamEvent[], unknown>

/**
 * How often, on workerd, the request that opened an answer looks for a follower. Unhurried: until
 * one joins, its own reads serve every follower; the look is for an opener whose client left
 * without a word. Each look is CPU time billed to that request, for as long as the answer runs.
 */
const FOLLOWER_WATCH_MS = 250

/** How an answer ended, for whoever counts (metrics, logs). */
export type AnswerOutcome = 'complete' | 'error' | 'cancelled'

export interface AnswerRunOptions {
  /** The config's `onChunk` for every content delta (awaited when it returns a promise), if any. */
  onChunk?: ((text: string) => void | Promise<void>) | undefined
  /** Keep the answer's text (somebody needs the whole answer: the cache, a non-stream reply). */
  keepAnswer: boolean
  /**
   * The answer finished with a finish_reason: the complete answer (the caller caches it). A
   * promise it returns (a shared store's write) holds the finish event back until it settled, so
   * the client's next request, on any instance, finds the answer cached.
   */
  onComplete?: (answer: CachedAnswer) => void | Promise<void>
  /** Maps any failure to the error the client sees (redacted). */
  toError: (error: unknown) => APIError | ValidationError
  /** Runs once when the answer is over, however it ended. */
  onClose?: (outcome: AnswerOutcome, error?: unknown) => void
  /** The followers' poll timer on workerd (see isolated-requests); the system clock by default. */
  clock?: Clock
  /** The config's `waitUntil`: on workerd, keeps an answer others read going past its opener. */
  waitUntil?: ((promise: Promise<unknown>) => void) | undefined
  /** The config's `idleTimeoutMs`: on workerd, the longest a follower waits for news (0: none). */
  idleTimeoutMs?: number
}

/** What an answer's reader sees: the run itself, or a reader of a kept answer (`AnswerLog`). */
export interface AnswerSource {
  /** The model that answers. */
  readonly model: string
  /** Whether this reader is done (the answer finished, failed, or the reader was aborted). */
  readonly closed: boolean
  /** The next events (at least one), or undefined at the end; rejects with the visible error. */
  read(): Promise<AnswerEvent[] | undefined>
  /** This reader is gone: for the run itself, the upstream is aborted at once. */
  abort(): void
}

/**
 * THE answer loop: the one place that reads an answer's source and turns it into the normalised
 * `AnswerEvent` sequence every protocol encodes. It owns what every output needs and none should
 * write again: idle and abort (through the session), the finish/truncation check, `onChunk`, the
 * accumulated answer, the cache fill (`onComplete`) and error mapping (`toError`).
 *
 * Consumers call `read()` until it resolves to undefined: the SSE body of every protocol, the
 * non-stream reply (`collect()`) and `handleRequest`'s StreamingResponse.
 *
 * Hot path: one `read()` per provider batch (one network read, typically many tokens), not per
 * event; text, reasoning, usage and finish events are the provider's own objects, passed on.
 */
export class AnswerRun implements AnswerSource {
  readonly model: string
  readonly #session: UpstreamSession | undefined
  readonly #options: AnswerRunOptions
  readonly #builder: AnswerBuilder
  /** A cached answer's events, handed over by the first read. */
  #replay: AnswerEvent[] | undefined
  /** Indexes of tool calls started and not yet ended, in order. */
  #openTools: number[] = []
  #closed = false
  /** Rejects the read in flight when the session is aborted (idle timeout, client gone). */
  #rejectRead: ((reason: unknown) => void) | undefined
  /** Readers of the same answer besides the one that drives it (identical requests coalesced). */
  #followers: Set<RunFollower> | undefined
  /** The driving reader left while followers still read: they drive the run now. */
  #leaderGone = false
  /**
   * On workerd: the opener's request reads the upstream for every reader (#readForAll), and this
   * is the opener's own reading end, fed like a follower's.
   */
  #leader: RunFollower | undefined
  /** #readForAll runs (one reader of the upstream body at a time). */
  #readingForAll = false
  /** A read done on the followers' behalf, shared by all of them. */
  #pulling: Promise<unknown> | undefined

  private constructor(
    model: string,
    session: UpstreamSession | undefined,
    options: AnswerRunOptions,
  ) {
    this.model = model
    this.#session = session
    this.#options = options
    this.#builder = new AnswerBuilder(model, options.keepAnswer)
  }

  /** The answer of an open upstream session (its first event has arrived). */
  static live(session: UpstreamSession, options: AnswerRunOptions): AnswerRun {
    const run = new AnswerRun(session.model, session, options)
    // One listener per answer: a provider that ignores its signal cannot hold a read forever.
    if (!session.readsEndOnAbort) {
      session.signal.addEventListener('abort', () => run.#rejectRead?.(session.signal.reason), {
        once: true,
      })
    }
    // On workerd the upstream call lives in the opening request's context, which workerd cancels
    // when that request's client leaves, unless `waitUntil` holds it: held from the start (later,
    // from the client's cancel, was too late), until the answer is over.
    if (ISOLATED_REQUESTS && options.waitUntil) {
      options.waitUntil(new Promise<void>((resolve) => run.onClosed(resolve)))
      run.#watchForFollowers()
    }
    return run
  }

  /** A complete answer (the cache, another instance) as the same event sequence. */
  static replay(answer: CachedAnswer, options: AnswerRunOptions): AnswerRun {
    const run = new AnswerRun(answer.model, undefined, options)
    run.#replay = answerEvents(
      {
        ...answer,
        toolCalls: (answer.toolCalls ?? []).map((call, index) => [index, call] as const),
      },
      answer.finishReason,
    )
    return run
  }

  /** Calls `callback` once the answer is over (at once if it is). */
  onClosed(callback: () => void): void {
    if (this.#closed) callback()
    else this.#closedCallbacks.push(callback)
  }

  readonly #closedCallbacks: Array<() => void> = []

  /**
   * Calls `callback` once a follower waited `idleTimeoutMs` for news (on workerd): nobody should
   * join this answer any more. The request driving it can be gone without a word (workerd did not
   * report its client leaving, or tore its context down), and then the answer never closes.
   */
  onStalled(callback: () => void): void {
    this.#stalledCallbacks.push(callback)
  }

  readonly #stalledCallbacks: Array<() => void> = []

  /** @internal A follower found the answer stalled. */
  stalled(): void {
    for (const callback of this.#stalledCallbacks.splice(0)) callback()
  }

  /** Whether the answer is over (finished, failed or cancelled). */
  get closed(): boolean {
    return this.#closed
  }

  /** The whole answer once it finished (needs `keepAnswer`), else undefined. */
  get answer(): CachedAnswer | undefined {
    return this.#options.keepAnswer && this.#builder.complete ? this.#builder.build() : undefined
  }

  /**
   * The next events (at least one), or undefined once the `finish` event was handed over. Rejects
   * with the error the client should see (`toError`), or the client's abort.
   */
  read(): Promise<AnswerEvent[] | undefined> {
    // On workerd, once others follow, the opener's request reads for all, its client included.
    if (this.#leader !== undefined) return this.#leader.read()
    // The driving reader was told it is gone (its client left) while followers read on: from now
    // on only they read (#readForAll, pull). Its response can still pull once more (on
    // workerd `request.signal` comes before the body's cancel); a read of its own then would
    // overlap theirs on the upstream body, which takes one read at a time.
    if (this.#leaderGone) return Promise.resolve(undefined)
    return this.#readNext()
  }

  /**
   * The next read, whoever drives. Hot path (one call per chunk sent): no async wrapper around
   * #read just for the followers; #read hands every batch (or its failure) to them itself,
   * whoever asked for it (a read begun before they joined included).
   */
  #readNext(): Promise<AnswerEvent[] | undefined> {
    const reading = this.#read()
    this.#reading = reading
    return reading
  }

  /** The last read begun: whoever reads next for the followers waits for it (one read at a time). */
  #reading: Promise<unknown> | undefined

  /** Settles once no read is in flight, and none began while it waited (one read at a time). */
  async #afterReadInFlight(): Promise<void> {
    for (let reading = this.#reading; reading !== undefined; reading = this.#reading) {
      await reading.catch(() => {})
      if (this.#reading === reading) return
    }
  }

  /** What a read returns, handed to the followers first. */
  #hand(events: AnswerEvent[] | undefined): AnswerEvent[] | undefined {
    if (this.#followers !== undefined) for (const f of this.#followers) f.push(events)
    return events
  }

  /**
   * Hot path (one call per chunk sent): no async function and one `then` per upstream read. The
   * loop of "read a batch, fold it in, read again if it gave no event" is #read → #onBatch →
   * #settle → #afterAccept → #read; every failure goes through #onFailure.
   */
  #read(): Promise<AnswerEvent[] | undefined> {
    const replay = this.#replay
    if (replay) {
      this.#replay = undefined
      this.#close('complete')
      return Promise.resolve(this.#hand(replay))
    }
    const session = this.#session
    if (!session || this.#closed) return Promise.resolve(this.#hand(undefined))
    const first = session.take()
    if (first) {
      try {
        return Promise.resolve(this.#settle([first]))
      } catch (error) {
        return Promise.reject(error)
      }
    }
    session.waiting()
    return this.#readBatch(session).then(this.#onBatch, this.#onFailure)
  }

  readonly #onBatch = (
    result: BatchResult,
  ): AnswerEvent[] | undefined | Promise<AnswerEvent[] | undefined> => {
    const session = this.#session as UpstreamSession
    session.arrived()
    if (this.#closed) return this.#hand(undefined)
    if (result.done) {
      session.settle()
      // Providers end with a finish event; ending without one is a truncation.
      return this.#onFailure(new Error('The upstream stream ended without a finish_reason.'))
    }
    return this.#settle(result.value)
  }

  /** A batch folded into the answer: its events, or (none came of it) the next read's. */
  #settle(batch: UpstreamEvent[]): AnswerEvent[] | undefined | Promise<AnswerEvent[] | undefined> {
    let events: AnswerEvent[] | Promise<AnswerEvent[]>
    try {
      events = this.#accept(batch)
    } catch (error) {
      return this.#onFailure(error)
    }
    if (events instanceof Promise) return events.then(this.#afterAccept, this.#onFailure)
    return this.#afterAccept(events)
  }

  readonly #afterAccept = (
    out: AnswerEvent[],
  ): AnswerEvent[] | undefined | Promise<AnswerEvent[] | undefined> =>
    out.length > 0 ? this.#hand(out) : this.#read()

  /** Maps a failure to the visible error (aborting the upstream), hands it to the followers, throws it. */
  readonly #onFailure = (error: unknown): never => {
    const visible = this.#fail(error)
    if (this.#followers !== undefined) for (const f of this.#followers) f.fail(visible)
    throw visible
  }

  /** The whole answer (a non-stream reply). Rejects as `read()` does. */
  async collect(): Promise<CachedAnswer> {
    while ((await this.read()) !== undefined) {}
    return this.#builder.build()
  }

  /**
   * The driving reader is gone (client disconnect, Stop): aborts the upstream at once, unless
   * followers still read the answer (then they drive it, and the last one to leave aborts it).
   */
  abort(): void {
    if (this.#closed) return
    // Its request reads for everyone already: its own reading end closes, and when nobody else
    // reads, the upstream ends at once (this runs in the opener's request, which owns it).
    if (this.#leader !== undefined) {
      this.#leader.abort()
      if (this.#followers?.size === 0) this.#cancel()
      return
    }
    if (this.#followers !== undefined && this.#followers.size > 0) {
      // One departure can be told twice (on workerd: `request.signal`, then the body's cancel):
      // a second reader for the followers would read the upstream body while the first does, and
      // a body takes one read at a time (workerd fails the second; the followers got an error).
      if (this.#leaderGone) return
      this.#leaderGone = true
      // On workerd the upstream body belongs to the request that opened it: no other request can
      // read it, so that request reads on for the followers (alive thanks to `waitUntil`).
      if (ISOLATED_REQUESTS && this.#options.waitUntil) void this.#readForAll()
      return
    }
    this.#cancel()
  }

  /** Nobody reads the answer any more: the upstream is aborted. */
  #cancel(): void {
    this.#session?.abort(new ClientAbort())
    this.#close('cancelled')
  }

  /**
   * Another reader of this running answer (an identical request arriving meanwhile): it gets the
   * answer so far, then every event as the run hands it over. No second upstream call.
   */
  follow(): AnswerSource {
    const follower = new RunFollower(this, this.#builder.snapshot(), this.#options)
    this.#followers ??= new Set()
    this.#followers.add(follower)
    return follower
  }

  /**
   * On workerd (with `waitUntil`) the opener's request looks for followers on its own timer (the
   * upstream body is its I/O: no other request may read it). Once one joined, that request reads
   * the upstream for every reader, its own client included, instead of only when its own response
   * pulls: workerd does not always report a client that left, and then the opener's response
   * stops pulling without a word while its followers wait for news that never comes.
   */
  #watchForFollowers(): void {
    const clock = this.#options.clock ?? systemClock
    const followed = () => this.#closed || (this.#followers?.size ?? 0) > 0
    void pollOwnTimer(clock, followed, 0, FOLLOWER_WATCH_MS).then(() => {
      if (!this.#closed) void this.#readForAll()
    })
  }

  /**
   * On workerd, the opener's request reads the upstream for the followers (its client too, as one
   * of them, while it stays) until the answer ends or the last of them leaves; `waitUntil` keeps
   * it alive past its client.
   */
  async #readForAll(): Promise<void> {
    // Once: a second loop would read the upstream body while the first does.
    if (this.#readingForAll) return
    this.#readingForAll = true
    try {
      // The opener's read in flight, if any, ends first; its reading end (its client still
      // there) takes over from the first read after it.
      await this.#afterReadInFlight()
      if (!this.#leaderGone && !this.#closed) {
        this.#leader = new RunFollower(this, [], this.#options, true)
        this.#followers?.add(this.#leader)
      }
      while (!this.#closed && (this.#followers?.size ?? 0) > 0) await this.#readNext()
    } catch {
      // The read handed its failure to every reader.
    }
    // The last reader left: the upstream is aborted here, in its own request.
    if (!this.#closed) this.#cancel()
  }

  /** @internal A follower needs events and nobody else drives the run: one shared read. */
  pull(): Promise<unknown> {
    if (!this.#leaderGone || ISOLATED_REQUESTS) {
      return new Promise<void>((resolve) => this.#waiters.add(resolve))
    }
    this.#pulling ??= this.#afterReadInFlight()
      .then(() => this.#readNext())
      .then(
        () => {
          this.#pulling = undefined
        },
        () => {
          this.#pulling = undefined
        },
      )
    return this.#pulling
  }

  /** @internal A follower left. */
  unfollow(follower: RunFollower): void {
    this.#followers?.delete(follower)
    if (!this.#leaderGone || this.#followers?.size !== 0) return
    this.#leaderGone = false
    // On workerd the upstream belongs to the opener's request: aborting it from this follower's
    // request throws (I/O of another request), and that throw took the place of the follower's
    // own end (its idle error became a quiet end, as if its client had left). The opener's request
    // ends it itself (#readForAll), or workerd did when it cancelled that request (no
    // `waitUntil`): then the run is only closed, so that no new request joins it.
    if (!ISOLATED_REQUESTS) this.abort()
    else if (!this.#options.waitUntil) this.#close('cancelled')
  }

  /** Followers waiting for the driving reader's next batch. */
  readonly #waiters = new Set<() => void>()

  #readBatch(session: UpstreamSession): Promise<BatchResult> {
    if (session.signal.aborted) return Promise.reject(session.signal.reason)
    if (session.readsEndOnAbort) return session.readBatch()
    return new Promise<BatchResult>((resolve, reject) => {
      this.#rejectRead = reject
      session.readBatch().then(resolve, reject)
    })
  }

  /**
   * Folds a provider batch into the answer and returns its events (the same array when no event
   * needs rewriting). Synchronous unless `onChunk` returns a promise.
   */
  #accept(batch: UpstreamEvent[]): AnswerEvent[] | Promise<AnswerEvent[]> {
    const builder = this.#builder
    const onChunk = this.#options.onChunk
    let out: AnswerEvent[] | undefined
    for (let i = 0; i < batch.length; i++) {
      const event = batch[i] as UpstreamEvent
      builder.add(event)
      switch (event.type) {
        case 'text':
          if (onChunk && event.text !== '') {
            const pending = onChunk(event.text)
            if (pending) return this.#acceptAfter(pending, batch, i, out)
          }
          out?.push(event)
          break
        case 'tool-call':
          out ??= batch.slice(0, i) as AnswerEvent[]
          this.#toolCall(event, out)
          break
        case 'finish':
          out ??= batch.slice(0, i) as AnswerEvent[]
          for (const index of this.#openTools) out.push({ type: 'tool-call-end', index })
          this.#openTools = []
          out.push(event)
          return this.#finish(out)
        default:
          out?.push(event)
      }
    }
    return out ?? (batch as AnswerEvent[])
  }

  /** `#accept` from `i` on, once `onChunk`'s promise for event `i` settled. */
  async #acceptAfter(
    pending: Promise<void>,
    batch: UpstreamEvent[],
    i: number,
    before: AnswerEvent[] | undefined,
  ): Promise<AnswerEvent[]> {
    await pending
    const head = before ?? (batch.slice(0, i) as AnswerEvent[])
    head.push(batch[i] as AnswerEvent)
    if (this.#closed) return head
    const rest = this.#accept(batch.slice(i + 1))
    const tail = rest instanceof Promise ? await rest : rest
    for (const event of tail) head.push(event)
    return head
  }

  #toolCall(event: Extract<UpstreamEvent, { type: 'tool-call' }>, out: AnswerEvent[]): void {
    const { delta } = event
    const args = delta.function?.arguments ?? ''
    if (!this.#openTools.includes(delta.index)) {
      this.#openTools.push(delta.index)
      out.push({
        type: 'tool-call-start',
        index: delta.index,
        id: delta.id ?? '',
        name: delta.function?.name ?? '',
        arguments: args,
      })
    } else if (args !== '') {
      out.push({ type: 'tool-call-delta', index: delta.index, arguments: args })
    }
  }

  /** `out` once the answer is stored (at once when its store is in memory). */
  #finish(out: AnswerEvent[]): AnswerEvent[] | Promise<AnswerEvent[]> {
    this.#session?.release()
    this.#close('complete')
    const stored = this.#options.onComplete?.(this.#builder.build())
    return stored ? stored.then(() => out) : out
  }

  /** The visible error for a failure, aborting the upstream; reported once. */
  #fail(error: unknown): unknown {
    const session = this.#session
    if (session?.signal.reason instanceof ClientAbort) {
      session.abort()
      this.#close('cancelled')
      return session.signal.reason
    }
    const reason = session ? session.fail(error) : error
    const visible = this.#options.toError(reason)
    this.#close('error', visible)
    return visible
  }

  #close(outcome: AnswerOutcome, error?: unknown): void {
    if (this.#closed) return
    this.#closed = true
    this.#rejectRead = undefined
    this.#options.onClose?.(outcome, error)
    for (const callback of this.#closedCallbacks.splice(0)) callback()
  }

  /** @internal Wakes followers waiting for the driving reader. */
  wake(): void {
    const waiters = [...this.#waiters]
    this.#waiters.clear()
    for (const resolve of waiters) resolve()
  }
}

/** A reader of a running answer that another reader drives (see `AnswerRun.follow`). */
class RunFollower implements AnswerSource {
  readonly #run: AnswerRun
  readonly #queue: EventQueue
  readonly #clock: Clock
  readonly #idleTimeoutMs: number
  /** Batches (or the failure) handed to this reader so far (what a polling wait looks for). */
  #handed = 0
  /** In the request that reads the upstream (the opener's own end, see #readForAll): no polling. */
  readonly #ownRequest: boolean

  constructor(
    run: AnswerRun,
    snapshot: AnswerEvent[],
    options: AnswerRunOptions,
    ownRequest = false,
  ) {
    this.#run = run
    this.#ownRequest = ownRequest
    this.#clock = options.clock ?? systemClock
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 0
    this.#queue = new EventQueue(() => run.unfollow(this), snapshot)
  }

  get model(): string {
    return this.#run.model
  }

  get closed(): boolean {
    return this.#queue.closed
  }

  /** @internal The driving reader's batch (undefined: the answer ended). */
  push(events: AnswerEvent[] | undefined): void {
    this.#handed++
    if (events === undefined) this.#queue.end()
    else this.#queue.push(events)
    this.#run.wake()
  }

  /** @internal The answer failed. */
  fail(error: unknown): void {
    this.#handed++
    this.#queue.end(error)
    this.#run.wake()
  }

  read(): Promise<AnswerEvent[] | undefined> {
    return this.#queue.read(this.#fill)
  }

  abort(): void {
    this.#queue.close()
  }

  /**
   * Waits until the driving reader handed over more (see ISOLATED_REQUESTS for workerd). A run
   * closed without telling its followers has nothing more for them.
   */
  readonly #fill = (): Promise<unknown> => {
    if (this.#run.closed) {
      this.#queue.end()
      return Promise.resolve()
    }
    const woken = this.#run.pull()
    if (!ISOLATED_REQUESTS || this.#ownRequest) return woken
    const handed = this.#handed
    return pollOwnTimer(
      this.#clock,
      () => this.#handed !== handed || this.#run.closed || this.closed,
      this.#idleTimeoutMs,
    ).then((news) => {
      if (news !== 'idle') return
      this.#run.stalled()
      this.#queue.end(sharedAnswerIdle(this.#idleTimeoutMs))
    })
  }
}
