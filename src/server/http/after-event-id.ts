import type { AnswerEvent } from '../engine/answer-event'
import type { APIError, ValidationError } from '../errors'
import type { StreamEncoder } from '../protocols/protocol'

const decoder = new TextDecoder()
const encoder = new TextEncoder()
const ID_LINE = /^id: (\d+)\n/

/**
 * An encoder that drops every SSE event up to and including `lastEventId`: a resumed stream is the
 * answer encoded again from its first event (the same ids, the same bytes), of which the client
 * gets only what it has not seen. Events without an id ([DONE], an error) pass once the client's
 * last id was reached.
 *
 * Written by hand: it filters our own encoder's output (LF framing, one `id:` line first), which
 * no SSE parser library re-serialises byte for byte.
 */
export class AfterEventId implements StreamEncoder {
  readonly #inner: StreamEncoder
  readonly #lastEventId: number
  #passed = false

  constructor(inner: StreamEncoder, lastEventId: number) {
    this.#inner = inner
    this.#lastEventId = lastEventId
    this.#passed = lastEventId <= 0
  }

  get size(): number {
    return this.#inner.size
  }

  start(): void {
    this.#inner.start()
  }

  event(event: AnswerEvent): void {
    this.#inner.event(event)
  }

  error(error: APIError | ValidationError): void {
    this.#inner.error(error)
  }

  take(): Uint8Array {
    const bytes = this.#inner.take()
    if (this.#passed) return bytes
    let kept = ''
    for (const event of decoder.decode(bytes).split(/(?<=\n\n)/)) {
      if (this.#passed) {
        kept += event
        continue
      }
      const id = ID_LINE.exec(event)?.[1]
      if (id !== undefined && Number(id) >= this.#lastEventId) {
        this.#passed = true
        if (Number(id) > this.#lastEventId) kept += event
      }
    }
    return encoder.encode(kept)
  }
}
