import type { AnswerSource } from './answer-run'

/** What `handleRequest` returns for a streaming request. */
export interface StreamingResponse {
  id: string
  object: 'chat.completion.chunk'
  created: number
  /** The model that answers (the fallback, when the primary was unavailable). */
  model: string
  streaming: true
  /**
   * The content deltas. Each read of this property starts from the first delta, so iterating
   * after `getFullResponse()` (or a second time) replays the text; the upstream is read once.
   */
  stream: AsyncGenerator<string, void, unknown>
  /** The full text, whatever was iterated before. Rejects as the stream would (APIError). */
  getFullResponse(): Promise<string>
}

/**
 * Reads the upstream once into a list of deltas that any number of readers walk from the start.
 * Reads are pulled by the readers (nothing is read ahead of the furthest one), and only one read
 * is in flight at a time.
 */
class DeltaTee {
  readonly deltas: string[] = []
  done = false
  error: unknown
  #reading: Promise<void> | undefined
  readonly #read: () => Promise<string[] | undefined>

  constructor(read: () => Promise<string[] | undefined>) {
    this.#read = read
  }

  /** Appends at least one delta or ends; shared between concurrent readers. */
  more(): Promise<void> {
    this.#reading ??= this.#read().then(
      (delta) => {
        this.#reading = undefined
        if (delta === undefined) this.done = true
        else for (const text of delta) this.deltas.push(text)
      },
      (error: unknown) => {
        this.#reading = undefined
        this.done = true
        this.error = error
      },
    )
    return this.#reading
  }

  async *iterate(): AsyncGenerator<string, void, unknown> {
    for (let i = 0; ; ) {
      if (i < this.deltas.length) {
        yield this.deltas[i++]!
        continue
      }
      if (this.done) {
        if (this.error !== undefined) throw this.error
        return
      }
      await this.more()
    }
  }

  async full(): Promise<string> {
    while (!this.done) await this.more()
    if (this.error !== undefined) throw this.error
    return this.deltas.join('')
  }
}

/**
 * The seed's StreamingResponse over an answer run: `stream` yields its content deltas (each read of
 * the property starts over; the run is read once), `getFullResponse()` the whole text.
 */
export function createStreamingResponse(
  id: string,
  created: number,
  run: AnswerSource,
): StreamingResponse {
  const tee = new DeltaTee(async () => {
    for (;;) {
      const events = await run.read()
      if (events === undefined) return undefined
      const texts: string[] = []
      for (const event of events) {
        if (event.type === 'text' && event.text !== '') texts.push(event.text)
      }
      if (texts.length > 0) return texts
    }
  })
  return {
    id,
    object: 'chat.completion.chunk',
    created,
    model: run.model,
    streaming: true,
    get stream() {
      return tee.iterate()
    },
    getFullResponse: () => tee.full(),
  }
}
