import type { AnswerEvent } from './answer-event'

/**
 * The reading end every follower of an answer shares, wherever the events come from (a run in this
 * process, a shared store's log): batches are queued as they arrive, and `read` hands over all that
 * is queued at once, or asks its source to `fill` the queue when it is empty. It closes itself
 * after the `finish` event or the end, so every follower stops the same way.
 */
export class EventQueue {
  #queue: AnswerEvent[]
  #ended = false
  #error: unknown
  #closed = false
  readonly #onClose: () => void

  /** `onClose` runs once, when the reader is done (however it ended). */
  constructor(onClose: () => void, queued: AnswerEvent[] = []) {
    this.#onClose = onClose
    this.#queue = queued
  }

  /** The reader is done: it read the end, or it was closed. */
  get closed(): boolean {
    return this.#closed
  }

  /** No more events will be queued (some may still be waiting to be read). */
  get ended(): boolean {
    return this.#ended
  }

  /** Why the answer ended, if it failed. */
  get error(): unknown {
    return this.#error
  }

  push(events: readonly AnswerEvent[]): void {
    if (this.#ended) return
    for (const event of events) this.#queue.push(event)
  }

  /** The answer is over (with `error` if it failed): read returns what is queued, then ends. */
  end(error?: unknown): void {
    if (this.#ended) return
    this.#ended = true
    this.#error = error
  }

  /**
   * The next events (at least one), or undefined at the end; rejects with the answer's error.
   * `fill` waits until the source has pushed more or ended (it may throw to fail the read).
   */
  async read(fill: () => Promise<unknown>): Promise<AnswerEvent[] | undefined> {
    for (;;) {
      if (this.#closed) return undefined
      if (this.#queue.length > 0) {
        const events = this.#queue
        this.#queue = []
        if (events[events.length - 1]?.type === 'finish') this.close()
        return events
      }
      if (this.#ended) {
        this.close()
        if (this.#error !== undefined) throw this.#error
        return undefined
      }
      await fill()
    }
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#onClose()
  }
}
