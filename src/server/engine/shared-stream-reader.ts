import type { APIError, ValidationError } from '../errors'
import type { AnswerEvent } from './answer-event'
import { EventQueue } from './event-queue'
import type { SharedStream, StoredError, StreamHead } from './stream-store'
import { loadError, streamStopped, streamTruncated } from './stream-store'

/** One entry of a shared answer log, decoded: what every stream store writes, in this order. */
export type LogEntry =
  | { t: 'head'; d: StreamHead }
  | { t: 'open'; d: string }
  | { t: 'ev'; d: AnswerEvent[] }
  | { t: 'end'; d: { state: string; error?: StoredError } }

/** Where a reader's fetches put what they read. */
export interface LogSink {
  take(entry: LogEntry): void
  /** Ends the read: complete without an error, else with it. */
  finish(error: APIError | ValidationError | undefined): void
  /** Finished, or closed by the reader's consumer: nothing more is wanted. */
  readonly done: boolean
}

/** A store's way of reading one answer's log: the only part that differs between stores. */
export interface LogTail {
  /** Reads the next piece of the log into `sink`; throws an APIError when the store fails. */
  fetch(sink: LogSink): Promise<void>
  /** Stops counting as a reader of the answer (its leader may then stop when nobody reads). */
  leave(): void
}

/**
 * What every reader of a shared answer log does, whatever the store: learn the head, wait until the
 * upstream opened, queue the events as they arrive, end with the log's final state, and leave the
 * answer's readers when it ends or is aborted. The store's `LogTail` only fetches; one fetch at a
 * time, shared by whoever waits.
 */
export class SharedStreamReader implements SharedStream, LogSink {
  head: StreamHead | undefined
  model: string
  readonly opened: Promise<void>
  readonly #tail: LogTail
  readonly #queue: EventQueue
  #open = false
  #fetching: Promise<void> | undefined
  #resolveOpened!: () => void
  #rejectOpened!: (error: unknown) => void

  constructor(tail: LogTail, model: string, signal?: AbortSignal) {
    this.#tail = tail
    this.#queue = new EventQueue(() => tail.leave())
    this.model = model
    this.opened = new Promise<void>((resolve, reject) => {
      this.#resolveOpened = resolve
      this.#rejectOpened = reject
    })
    // Nobody may be waiting for it yet; the rejection is handled where it is awaited.
    this.opened.catch(() => {})
    if (signal?.aborted) this.#abortOpening(signal.reason)
    else signal?.addEventListener('abort', () => this.#abortOpening(signal.reason), { once: true })
  }

  get closed(): boolean {
    return this.#queue.closed
  }

  get done(): boolean {
    return this.#queue.ended || this.#queue.closed
  }

  /** Reads until the head is known (a resume needs it before the first event). */
  async readHead(): Promise<StreamHead | undefined> {
    await this.#readUntil(() => this.head !== undefined)
    return this.head
  }

  /** Reads until the upstream opened (or the answer ended, or the reader was aborted). */
  async start(): Promise<this> {
    await this.#readUntil(() => this.#open)
    if (!this.#open) this.#rejectOpened(this.#queue.error ?? streamTruncated())
    return this
  }

  read(): Promise<AnswerEvent[] | undefined> {
    return this.#queue.read(this.#fetch)
  }

  abort(): void {
    this.#abortOpening(undefined)
  }

  take(entry: LogEntry): void {
    switch (entry.t) {
      case 'head':
        this.head = entry.d
        break
      case 'open':
        this.model = entry.d
        this.#open = true
        this.#resolveOpened()
        break
      case 'ev':
        this.#queue.push(entry.d)
        break
      case 'end':
        this.finish(
          entry.d.error
            ? loadError(entry.d.error)
            : entry.d.state === 'complete'
              ? undefined
              : streamStopped(),
        )
        break
    }
  }

  finish(error: APIError | ValidationError | undefined): void {
    if (this.#queue.ended) return
    this.#queue.end(error)
    if (!this.#open) this.#rejectOpened(error ?? streamTruncated())
    this.#tail.leave()
  }

  async #readUntil(done: () => boolean): Promise<void> {
    while (!done() && !this.done) {
      try {
        await this.#fetch()
      } catch (error) {
        this.finish(error as APIError)
      }
    }
  }

  #abortOpening(reason: unknown): void {
    if (!this.#open) this.#rejectOpened(reason ?? streamStopped())
    this.#queue.close()
  }

  /** One fetch, shared by whoever waits (start and read never overlap theirs). */
  readonly #fetch = (): Promise<void> => {
    this.#fetching ??= this.#tail.fetch(this).finally(() => {
      this.#fetching = undefined
    })
    return this.#fetching
  }
}
