import { AnswerBuilder } from './answer-builder'
import type { CachedAnswer } from './response-cache'
import type { UpstreamSession } from './upstream-session'

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
  readonly #read: () => Promise<string | undefined>

  constructor(read: () => Promise<string | undefined>) {
    this.#read = read
  }

  /** Appends at least one delta or ends; shared between concurrent readers. */
  more(): Promise<void> {
    this.#reading ??= this.#read().then(
      (delta) => {
        this.#reading = undefined
        if (delta === undefined) this.done = true
        else this.deltas.push(delta)
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

export interface StreamingResponseOptions {
  id: string
  created: number
  /** A live upstream, or a complete answer (from the cache). */
  source: UpstreamSession | CachedAnswer
  onChunk: (text: string) => void | Promise<void>
  onComplete: (answer: CachedAnswer) => void
  toError: (error: unknown) => unknown
  onClose: (outcome: 'complete' | 'error', error?: unknown) => void
}

export function createStreamingResponse(options: StreamingResponseOptions): StreamingResponse {
  const { source } = options
  let tee: DeltaTee
  if ('next' in source) {
    const builder = new AnswerBuilder(source.model)
    tee = new DeltaTee(async () => {
      try {
        for (;;) {
          const event = await source.next()
          if (event === undefined) {
            if (!builder.complete)
              throw new Error('The upstream stream ended without a finish_reason.')
            options.onClose('complete')
            options.onComplete(builder.build())
            return undefined
          }
          builder.add(event)
          if (event.type === 'text' && event.text !== '') {
            const pending = options.onChunk(event.text)
            if (pending) await pending
            return event.text
          }
          if (event.type === 'finish') {
            source.release()
            options.onClose('complete')
            options.onComplete(builder.build())
            return undefined
          }
        }
      } catch (error) {
        const visible = options.toError(error)
        options.onClose('error', visible)
        throw visible
      }
    })
  } else {
    tee = new DeltaTee(async () => undefined)
    if (source.text !== '') tee.deltas.push(source.text)
    tee.done = true
  }
  return {
    id: options.id,
    object: 'chat.completion.chunk',
    created: options.created,
    model: source.model,
    streaming: true,
    get stream() {
      return tee.iterate()
    },
    getFullResponse: () => tee.full(),
  }
}
