import type { Clock } from '../clock'
import type { APIError, ValidationError } from '../errors'
import type { Decoded, ProtocolName } from '../protocols/protocol'
import type { AnswerEvent } from './answer-event'
import type { AnswerSource } from './answer-run'
import { ISOLATED_REQUESTS, pollOwnTimer, sharedAnswerIdle } from './isolated-requests'
import type { StreamPublisher } from './stream-store'
import { logFull, streamStopped } from './stream-store'

/** A log kept for resume: it has its encoding. */
export type ResumableLog = AnswerLog & { readonly encoding: AnswerEncoding }

/** How a logged answer ended. */
export type LogState = 'live' | 'complete' | 'error' | 'stopped'

/** What a resumed reader's encoder needs to write the same bytes as the original response. */
export interface AnswerEncoding {
  /** The protocol of the original response (a resumed reader gets the same). */
  protocol: ProtocolName
  /** The answer's id (`chatcmpl-…`) and `created`, as the original response sent them. */
  answerId: string
  created: number
  /** The decoded request (its protocol options, e.g. `include_usage`). */
  decoded: Decoded
}

export interface AnswerLogOptions {
  clock: Clock
  /** Ms the answer keeps running while nobody reads it; then its upstream is aborted. */
  graceMs: number
  /** Bytes of events kept; an answer that outgrows it is aborted with an error. */
  maxBytes: number
  /** Runs once when the answer is over (to schedule the log's expiry). */
  onEnd?: (state: LogState) => void
  /** Where the log is shared with other instances (config `streams`), if anywhere. */
  mirror?: StreamPublisher | undefined
  /** Asked when the grace period ends: true keeps the answer running (readers elsewhere). */
  keepAlive?: (() => Promise<boolean>) | undefined
  /** The config's `idleTimeoutMs`: on workerd, the longest a reader waits for news (0: none). */
  idleTimeoutMs?: number
}

/** Rough bytes of an event as kept (strings are UTF-16). */
function eventSize(event: AnswerEvent): number {
  switch (event.type) {
    case 'text':
    case 'reasoning':
      return 32 + event.text.length * 2
    case 'tool-call-start':
      return 64 + (event.id.length + event.name.length + event.arguments.length) * 2
    case 'tool-call-delta':
      return 32 + event.arguments.length * 2
    default:
      return 64
  }
}

/**
 * One answer's events, kept for its readers: the answer runs on its own (a pump reads the
 * `AnswerRun` into the log whether or not anybody reads), and any number of readers tail it from
 * any position: the original response, a client that reconnects after a dropped connection, a
 * second tab. A disconnect only detaches a reader; when none is left, the answer keeps running for
 * `graceMs`, then its upstream is aborted. `stop()` aborts it at once and ends every reader.
 */
export class AnswerLog {
  /** The model that answers (the requested one until the upstream opened). */
  model: string
  /** Resolves when the upstream answered (the first event is in), rejects with its visible error. */
  readonly opened: Promise<void>
  readonly events: AnswerEvent[] = []
  /** How a resumed reader encodes it (kept for resume); undefined for a follower's local copy. */
  readonly encoding: AnswerEncoding | undefined
  #bytes = 0
  #state: LogState = 'live'
  #error: APIError | ValidationError | undefined
  #run: AnswerSource | undefined
  readonly #options: AnswerLogOptions
  /** Readers waiting for the next event (each resolves its own pending read). */
  readonly #waiting = new Set<() => void>()
  #readers = 0
  #grace: unknown

  constructor(
    opening: Promise<AnswerSource>,
    model: string,
    encoding: AnswerEncoding | undefined,
    options: AnswerLogOptions,
  ) {
    this.model = model
    this.encoding = encoding
    this.#options = options
    this.opened = opening.then((run) => {
      this.#run = run
      this.model = run.model
      options.mirror?.opened(run.model)
      // Stopped (or abandoned past the grace period) while the upstream was still opening.
      if (this.#state !== 'live') run.abort()
    })
    this.opened.then(
      () => this.#pump(),
      (error: unknown) => this.#end('error', error as APIError | ValidationError),
    )
  }

  /** Whether the upstream answered (readers can start at once). */
  get isOpen(): boolean {
    return this.#run !== undefined
  }

  get state(): LogState {
    return this.#state
  }

  get error(): APIError | ValidationError | undefined {
    return this.#error
  }

  /** A reader of the events from `from` on (0: the whole answer). */
  reader(from = 0): AnswerSource {
    return new LogReader(this, from)
  }

  /** The explicit stop: aborts the upstream now and ends every reader with a `stream_stopped` error. */
  stop(): void {
    if (this.#state !== 'live') return
    this.#run?.abort()
    this.#end('stopped', streamStopped())
  }

  /** @internal A reader attached (cancels the grace period). */
  attach(): void {
    this.#readers++
    this.#options.clock.clearTimeout(this.#grace)
  }

  /** @internal A reader went away; the last one starts the grace period. */
  detach(): void {
    this.#readers--
    if (this.#readers > 0 || this.#state !== 'live') return
    const { clock, graceMs } = this.#options
    clock.clearTimeout(this.#grace)
    this.#grace = clock.setTimeout(async () => {
      if (this.#readers > 0 || this.#state !== 'live') return
      // Read on other instances: keep it running, and ask again after another grace period.
      if (await this.#options.keepAlive?.()) {
        this.#readers++
        this.detach()
        return
      }
      if (this.#readers === 0 && this.#state === 'live') {
        this.#run?.abort()
        this.#end('stopped')
      }
    }, graceMs)
  }

  /**
   * @internal Resolves when the log grows past `seen` events or ends; on workerd, looked for from
   * the reader's own timer, and rejects after `idleTimeoutMs` without news.
   */
  changed(seen: number): Promise<void> {
    if (!ISOLATED_REQUESTS) return new Promise((resolve) => this.#waiting.add(resolve))
    const { clock, idleTimeoutMs = 0 } = this.#options
    return pollOwnTimer(
      clock,
      () => this.events.length !== seen || this.#state !== 'live',
      idleTimeoutMs,
    ).then((news) => {
      if (news === 'idle') throw sharedAnswerIdle(idleTimeoutMs)
    })
  }

  async #pump(): Promise<void> {
    const run = this.#run as AnswerSource
    const mirror = this.#options.mirror
    try {
      for (;;) {
        const events = await run.read()
        if (events === undefined || this.#state !== 'live') break
        for (const event of events) {
          this.events.push(event)
          this.#bytes += eventSize(event)
        }
        if (this.#bytes > this.#options.maxBytes) {
          run.abort()
          this.#end('error', logFull(this.#options.maxBytes))
          return
        }
        mirror?.append(events)
        this.#wake()
        if (events[events.length - 1]?.type === 'finish') {
          this.#end('complete')
          return
        }
      }
      // The run ended without a finish only when it was aborted (by us: stop or grace).
      this.#end('stopped')
    } catch (error) {
      this.#end('error', error as APIError | ValidationError)
    }
  }

  #end(state: Exclude<LogState, 'live'>, error?: APIError | ValidationError): void {
    if (this.#state !== 'live') return
    this.#state = state
    this.#error = error
    this.#options.clock.clearTimeout(this.#grace)
    this.#wake()
    this.#options.mirror?.end(state, error)
    this.#options.onEnd?.(state)
  }

  #wake(): void {
    const waiting = [...this.#waiting]
    this.#waiting.clear()
    for (const resolve of waiting) resolve()
  }
}

/** Tails a log from a position, as an `AnswerSource` (what the SSE body encodes). */
class LogReader implements AnswerSource {
  readonly #log: AnswerLog
  #at: number
  #closed = false

  constructor(log: AnswerLog, from: number) {
    this.#log = log
    this.#at = from
    log.attach()
  }

  get model(): string {
    return this.#log.model
  }

  get closed(): boolean {
    return this.#closed
  }

  async read(): Promise<AnswerEvent[] | undefined> {
    const log = this.#log
    for (;;) {
      if (this.#closed) return undefined
      if (this.#at < log.events.length) {
        const events = log.events.slice(this.#at)
        this.#at = log.events.length
        if (events[events.length - 1]?.type === 'finish') this.#close()
        return events
      }
      if (log.state !== 'live') {
        this.#close()
        if (log.error) throw log.error
        return undefined
      }
      try {
        await log.changed(log.events.length)
      } catch (error) {
        this.#close()
        throw error
      }
    }
  }

  /** This reader is gone (its client disconnected): the answer goes on for the others. */
  abort(): void {
    this.#close()
  }

  #close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#log.detach()
  }
}
