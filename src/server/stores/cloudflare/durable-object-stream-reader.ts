import type { Clock } from '../../clock'
import type { AnswerEvent } from '../../engine/answer-event'
import { EventQueue } from '../../engine/event-queue'
import type { SharedStream, StoredError, StreamHead } from '../../engine/stream-store'
import {
  loadError,
  streamStopped,
  streamStoreFailed,
  streamTruncated,
} from '../../engine/stream-store'
import type { APIError, ValidationError } from '../../errors'
import type { StreamEntry } from './coordinator-streams'

export interface TailReaderContext {
  leaseMs: number
  clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>
}

type Line = StreamEntry | { t: 'lapsed'; d?: undefined }

/**
 * Reads one answer's log from the coordinator's tail (one streaming response, NDJSON), as an
 * `AnswerSource`: the events as the leader wrote them, then the end. The object pushes entries
 * as they are appended (nobody polls) and ends the tail with `lapsed` when the writer's lease
 * ran out: that, a tail cut without an end, or silence for three leases (every write and
 * heartbeat sends at least an empty line) ends the read with `stream_truncated`, never a hang.
 * While its tail is open it counts as a reader of the answer (the object counts its tails).
 */
export class DurableObjectStreamReader implements SharedStream {
  head: StreamHead | undefined
  model: string
  readonly opened: Promise<void>
  readonly #context: TailReaderContext
  readonly #body: ReadableStreamDefaultReader<Uint8Array>
  readonly #queue = new EventQueue(() => this.#leave())
  readonly #decoder = new TextDecoder()
  #buffer = ''
  #open = false
  #fetching: Promise<void> | undefined
  #resolveOpened!: () => void
  #rejectOpened!: (error: unknown) => void

  constructor(
    context: TailReaderContext,
    body: ReadableStream<Uint8Array>,
    model: string,
    signal?: AbortSignal,
  ) {
    this.#context = context
    this.#body = body.getReader()
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

  /** Reads until the head is known (a resume needs it before the first event). */
  async readHead(): Promise<StreamHead | undefined> {
    while (!this.head && !this.#queue.ended && !this.#queue.closed) await this.#guarded()
    return this.head
  }

  /** Reads until the upstream opened (or the answer ended, or the reader was aborted). */
  async start(): Promise<this> {
    while (!this.#open && !this.#queue.ended && !this.#queue.closed) await this.#guarded()
    if (!this.#open) this.#rejectOpened(this.#queue.error ?? streamTruncated())
    return this
  }

  read(): Promise<AnswerEvent[] | undefined> {
    return this.#queue.read(this.#fetch)
  }

  abort(): void {
    this.#abortOpening(undefined)
  }

  #abortOpening(reason: unknown): void {
    if (!this.#open) this.#rejectOpened(reason ?? streamStopped())
    this.#queue.close()
  }

  async #guarded(): Promise<void> {
    try {
      await this.#fetch()
    } catch (error) {
      this.#finish(error as APIError)
    }
  }

  /** One read of the tail, shared by whoever waits (start and read never overlap theirs). */
  readonly #fetch = (): Promise<void> => {
    this.#fetching ??= this.#fetchOnce().finally(() => {
      this.#fetching = undefined
    })
    return this.#fetching
  }

  async #fetchOnce(): Promise<void> {
    const { clock, leaseMs } = this.#context
    let timer: unknown
    const silence = new Promise<'silent'>((resolve) => {
      timer = clock.setTimeout(() => resolve('silent'), leaseMs * 3)
    })
    let chunk: ReadableStreamReadResult<Uint8Array> | 'silent'
    try {
      chunk = await Promise.race([this.#body.read(), silence])
    } catch (error) {
      throw streamStoreFailed(error)
    } finally {
      clock.clearTimeout(timer)
    }
    if (chunk === 'silent' || chunk.done) {
      // The object went quiet or the tail was cut without an end: the answer cannot be completed.
      this.#finish(streamTruncated())
      return
    }
    this.#buffer += this.#decoder.decode(chunk.value, { stream: true })
    let newline = this.#buffer.indexOf('\n')
    while (newline !== -1) {
      const text = this.#buffer.slice(0, newline)
      this.#buffer = this.#buffer.slice(newline + 1)
      if (text !== '') this.#take(JSON.parse(text) as Line)
      newline = this.#buffer.indexOf('\n')
    }
  }

  #take(line: Line): void {
    switch (line.t) {
      case 'head':
        this.head = line.d as StreamHead
        break
      case 'open':
        this.model = line.d as string
        this.#open = true
        this.#resolveOpened()
        break
      case 'ev':
        this.#queue.push(line.d as AnswerEvent[])
        break
      case 'end': {
        const end = line.d as { state: string; error?: StoredError }
        this.#finish(
          end.error ? loadError(end.error) : end.state === 'complete' ? undefined : streamStopped(),
        )
        break
      }
      case 'lapsed':
        this.#finish(streamTruncated())
        break
    }
  }

  #finish(error: APIError | ValidationError | undefined): void {
    if (this.#queue.ended) return
    this.#queue.end(error)
    if (!this.#open) this.#rejectOpened(error ?? streamTruncated())
    this.#leave()
  }

  /** Closing the tail is leaving: the object stops counting this reader. */
  #leave(): void {
    this.#body.cancel().catch(() => {})
  }
}
