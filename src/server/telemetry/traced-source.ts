import type { AnswerEvent } from '../engine/answer-event'
import type { AnswerSource } from '../engine/answer-run'
import type { Cancellation, RequestTelemetry } from './request-telemetry'

/**
 * A streamed answer's reader that tells the request's telemetry what passes: the first batch
 * (time to first chunk), usage and finish (the end), a failure, or the client leaving. Put in
 * front of the answer only when telemetry is on; per batch it looks at the last two events (and,
 * with `recordContent`, collects the text).
 */
class TracedSource implements AnswerSource {
  readonly #inner: AnswerSource
  readonly #trace: RequestTelemetry
  readonly #cancellation: Cancellation

  constructor(inner: AnswerSource, trace: RequestTelemetry, cancellation: Cancellation) {
    this.#inner = inner
    this.#trace = trace
    this.#cancellation = cancellation
  }

  get model(): string {
    return this.#inner.model
  }

  get closed(): boolean {
    return this.#inner.closed
  }

  async read(): Promise<AnswerEvent[] | undefined> {
    let events: AnswerEvent[] | undefined
    try {
      events = await this.#inner.read()
    } catch (error) {
      this.#trace.fail(error, this.#cancellation, this.#inner.model)
      throw error
    }
    // The answer hands over `finish` before it ends: ending without it is a reader cancelled.
    if (events === undefined) this.#trace.cancel(this.#cancellation, this.#inner.model)
    else this.#trace.events(events, this.#inner.model)
    return events
  }

  abort(): void {
    this.#trace.cancel(this.#cancellation, this.#inner.model)
    this.#inner.abort()
  }
}

/** `source` (or the promise of it) read through the request's telemetry. */
export function tracedSource<S extends AnswerSource | Promise<AnswerSource>>(
  source: S,
  trace: RequestTelemetry,
  cancellation: Cancellation,
): S {
  if (!(source instanceof Promise))
    return new TracedSource(source, trace, cancellation) as unknown as S
  return source.then(
    (opened) => new TracedSource(opened, trace, cancellation),
    (error: unknown) => {
      trace.fail(error, cancellation)
      throw error
    },
  ) as unknown as S
}
