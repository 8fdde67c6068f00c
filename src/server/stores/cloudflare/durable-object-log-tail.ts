import type { Clock } from '../../clock'
import type { LogEntry, LogSink, LogTail } from '../../engine/shared-stream-reader'
import { streamStoreFailed, streamTruncated } from '../../engine/stream-store'

export interface TailReaderContext {
  leaseMs: number
  clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>
}

/**
 * One answer's log from the coordinator's tail (one streaming response, NDJSON). The object
 * pushes entries as they are appended (nobody polls) and ends the tail with `lapsed` when the
 * writer's lease ran out: that, a tail cut without an end, or silence for three leases (every write
 * and heartbeat sends at least an empty line) ends the read with `stream_truncated`, never a hang.
 * While its tail is open it counts as a reader of the answer (the object counts its tails).
 */
export class DurableObjectLogTail implements LogTail {
  readonly #context: TailReaderContext
  readonly #body: ReadableStreamDefaultReader<Uint8Array>
  readonly #decoder = new TextDecoder()
  #buffer = ''

  constructor(context: TailReaderContext, body: ReadableStream<Uint8Array>) {
    this.#context = context
    this.#body = body.getReader()
  }

  async fetch(sink: LogSink): Promise<void> {
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
      sink.finish(streamTruncated())
      return
    }
    this.#buffer += this.#decoder.decode(chunk.value, { stream: true })
    let newline = this.#buffer.indexOf('\n')
    while (newline !== -1) {
      const text = this.#buffer.slice(0, newline)
      this.#buffer = this.#buffer.slice(newline + 1)
      if (text !== '') {
        const line = JSON.parse(text) as LogEntry | { t: 'lapsed' }
        if (line.t === 'lapsed') sink.finish(streamTruncated())
        else sink.take(line)
      }
      newline = this.#buffer.indexOf('\n')
    }
  }

  /** Closing the tail is leaving: the object stops counting this reader. */
  leave(): void {
    this.#body.cancel().catch(() => {})
  }
}
