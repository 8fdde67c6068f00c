import { AnswerBuilder } from './answer-builder'
import type { Clock } from './clock'
import type { ValidationError } from './errors'
import { APIError, errorBody } from './errors'
import type { UpstreamEvent } from './providers/provider'
import type { CachedAnswer } from './response-cache'
import { SseBatch } from './sse-batch'
import { SSE_DONE, SSE_PING, SseEncoder } from './sse-encoder'
import { ClientAbort, type UpstreamSession } from './upstream-session'

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
}

// One encoder for every stream: encode() allocates only the output bytes.
const textEncoder = new TextEncoder()

/** Most bytes of SSE sent as one chunk, give or take one event (the bound on what a pull queues). */
const MAX_BATCH_BYTES = 16 * 1024
/** Microtask turns an already-delivered upstream read needs to come through the provider. */
const SOON_TICKS = 24

type BatchResult = IteratorResult<UpstreamEvent[], unknown>

/**
 * Tells whether an upstream read settles within SOON_TICKS microtasks, i.e. without waiting for
 * I/O, and hands over its result. One per stream, its callbacks allocated once (hot path).
 */
class SoonPoller {
  #settled = false
  #failed = false
  #result: BatchResult | undefined
  #error: unknown
  readonly #onValue = (result: BatchResult) => {
    this.#settled = true
    this.#result = result
  }
  readonly #onError = (error: unknown) => {
    this.#settled = true
    this.#failed = true
    this.#error = error
  }

  /** The result when `read` settles soon (throws its error); undefined when it is still pending. */
  async poll(read: Promise<BatchResult>): Promise<BatchResult | undefined> {
    this.#settled = false
    this.#failed = false
    read.then(this.#onValue, this.#onError)
    for (let i = 0; i < SOON_TICKS && !this.#settled; i++) await undefined
    if (!this.#settled) return undefined
    if (this.#failed) throw this.#error
    return this.#result
  }
}

export interface LiveStreamOptions {
  /** The open session, or the promise of one when the response starts before the first byte. */
  session: UpstreamSession | Promise<UpstreamSession>
  id: string
  created: number
  includeUsage: boolean
  heartbeatMs: number
  clock: Clock
  /** Called with each content delta before it is sent; awaited when it returns a promise. */
  onChunk: (text: string) => void | Promise<void>
  /** The stream finished with a finish_reason: the complete answer (the caller caches it). */
  onComplete: (answer: CachedAnswer) => void
  /** Maps any failure to the error the client sees. Abort when the client is gone. */
  toError: (error: unknown) => APIError | ValidationError
  /** Keep the answer's text (for the cache); otherwise only usage and finish are tracked. */
  keepAnswer: boolean
  /** Runs once when the stream is over, however it ended. */
  onClose: (outcome: 'complete' | 'error' | 'cancelled', error?: unknown) => void
  /** Aborts the upstream (and a pending open) when the client cancels the body. */
  abort: () => void
}

/**
 * The downstream SSE body of a live upstream stream. Pull-based with a high-water mark of one
 * chunk: a pull turns the upstream events already delivered (at least one, about 16 KiB of output
 * at most) into one chunk and enqueues it, so a slow client never makes this queue more than one
 * chunk; what is left of the provider's last batch (one network read's events) waits for the
 * next pull, and the upstream read simply waits. While nothing else is sent, a `: ping` comment
 * goes out every `heartbeatMs`.
 */
export function liveSseStream(options: LiveStreamOptions): ReadableStream<Uint8Array> {
  const { clock, heartbeatMs } = options
  let session: UpstreamSession | undefined
  let encoder: SseEncoder | undefined
  let bytes: SseBatch | undefined
  let builder: AnswerBuilder | undefined
  let closed = false
  let started = false
  /** The provider's last batch, sent from `index` on (a pull stops at MAX_BATCH_BYTES). */
  let events: UpstreamEvent[] = []
  let index = 0
  /** The next batch, already asked for by the previous pull (its chunk went before it arrived). */
  let pending: Promise<BatchResult> | undefined
  const poller = new SoonPoller()
  let lastSentAt = clock.now()
  let heartbeat: unknown
  let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined

  const send = (controller: ReadableStreamDefaultController<Uint8Array>, text: string) => {
    sendBytes(controller, textEncoder.encode(text))
  }
  const sendBytes = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    chunk: Uint8Array,
  ) => {
    lastSentAt = clock.now()
    controller.enqueue(chunk)
  }
  const end = (outcome: 'complete' | 'error' | 'cancelled', error?: unknown) => {
    if (closed) return
    closed = true
    clock.clearTimeout(heartbeat)
    options.onClose(outcome, error)
  }
  // The hot loop awaits the provider's promises directly, so an idle timeout or a client abort
  // is acted on here, at once, whether or not the provider settles its pending read.
  const watch = (
    live: UpstreamSession,
    controller: ReadableStreamDefaultController<Uint8Array>,
  ) => {
    live.signal.addEventListener(
      'abort',
      () => {
        if (closed) return
        const reason = live.signal.reason
        if (reason instanceof ClientAbort) {
          end('cancelled')
        } else if (reason instanceof APIError) {
          try {
            send(controller, SseEncoder.error(errorBody(options.toError(reason))))
            controller.close()
          } catch {
            // The client is already gone.
          }
          end('error', reason)
        }
      },
      { once: true },
    )
  }
  // One re-arming timer: a ping only when heartbeatMs passed since the last bytes, and only when
  // the client has room (a ping never grows a queue the client is not reading).
  const arm = (ms: number) => {
    heartbeat = clock.setTimeout(() => {
      if (closed || !controllerRef) return
      const quiet = clock.now() - lastSentAt
      if (quiet >= heartbeatMs) {
        if ((controllerRef.desiredSize ?? 0) > 0) send(controllerRef, SSE_PING)
        else lastSentAt = clock.now()
        arm(heartbeatMs)
      } else {
        arm(heartbeatMs - quiet)
      }
    }, ms)
  }

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controllerRef = controller
        // Started before the first byte: say something at once so the client sees the stream live.
        if (options.session instanceof Promise) {
          send(controller, SSE_PING)
        }
        if (heartbeatMs > 0) arm(heartbeatMs)
      },
      async pull(controller) {
        if (closed) return
        // This chunk's bytes: sent before the error event if the upstream fails mid-batch.
        let out: SseBatch | undefined
        try {
          if (!session) {
            session = await options.session
            if (closed) return
            watch(session, controller)
            encoder = new SseEncoder(options.id, options.created, session.model)
            bytes = new SseBatch(encoder)
            builder = new AnswerBuilder(session.model, options.keepAnswer)
          }
          const live = session
          const enc = encoder!
          const acc = builder!
          out = bytes!
          if (!started) {
            out.write(enc.role())
            const first = live.take()
            if (first) {
              events = [first]
              index = 0
            }
          }
          started = true
          for (;;) {
            if (index >= events.length) {
              const read = pending ?? live.readBatch()
              pending = undefined
              let result: BatchResult | undefined
              if (out.size > 0) {
                // Hot path: events the upstream already delivered (many frames arrive in one
                // network read, and the provider hands them over as one batch) join this chunk,
                // so a 200k-token stream is not 200k enqueues and client reads. Only reads that
                // settle within a few microtasks join: nothing waits on the network while
                // holding bytes back (no added latency).
                result = await poller.poll(read)
                if (closed) return
                if (!result) {
                  pending = read
                  break
                }
              } else {
                live.waiting()
                result = await read
                live.arrived()
                if (closed) return
              }
              if (result.done) {
                live.settle()
                // The provider ends with a finish event; ending without one is a truncation.
                throw new Error('The upstream stream ended without a finish_reason.')
              }
              events = result.value
              index = 0
              continue
            }
            const event = events[index++] as UpstreamEvent
            acc.add(event)
            switch (event.type) {
              case 'text':
                if (event.text === '') break
                {
                  const waiting = options.onChunk(event.text)
                  if (waiting) await waiting
                }
                out.content(event.text)
                break
              case 'reasoning':
                if (event.text !== '') out.write(enc.reasoning(event.text))
                break
              case 'tool-call':
                out.write(enc.toolCalls([event.delta]))
                break
              case 'usage':
                break
              case 'finish': {
                out.write(enc.finish(event.reason))
                if (options.includeUsage && acc.usage) out.write(enc.usage(acc.usage))
                out.write(SSE_DONE)
                sendBytes(controller, out.take())
                live.release()
                controller.close()
                end('complete')
                options.onComplete(acc.build())
                return
              }
            }
            // The bound on a chunk: the rest of the batch waits for the next pull.
            if (out.size >= MAX_BATCH_BYTES) break
          }
          sendBytes(controller, out.take())
        } catch (error) {
          if (closed) return
          const visible = options.toError(session ? session.fail(error) : error)
          try {
            const text = SseEncoder.error(errorBody(visible))
            if (out) {
              out.write(text)
              sendBytes(controller, out.take())
            } else {
              send(controller, text)
            }
            controller.close()
          } catch {
            // The client is already gone.
          }
          end('error', error)
        }
      },
      cancel() {
        options.abort()
        end('cancelled')
      },
    },
    { highWaterMark: 1 },
  )
}
