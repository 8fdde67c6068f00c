import { AnswerBuilder } from './answer-builder'
import type { Clock } from './clock'
import type { ValidationError } from './errors'
import { APIError, errorBody } from './errors'
import type { UpstreamEvent } from './providers/provider'
import type { CachedAnswer } from './response-cache'
import { SSE_DONE, SSE_PING, SseEncoder } from './sse-encoder'
import { ClientAbort, type UpstreamSession } from './upstream-session'

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
}

// One encoder for every stream: encode() allocates only the output bytes.
const textEncoder = new TextEncoder()

/** Most characters of SSE text sent as one chunk (the bound on what a pull queues). */
const MAX_BATCH_CHARS = 16 * 1024
/** Microtask turns an already-delivered upstream event needs to come through the provider. */
const SOON_TICKS = 24

/**
 * Tells whether an upstream read settles within SOON_TICKS microtasks, i.e. without waiting for
 * I/O, and hands over its result. One per stream, its callbacks allocated once (hot path).
 */
class SoonPoller {
  #settled = false
  #failed = false
  #result: IteratorResult<UpstreamEvent> | undefined
  #error: unknown
  readonly #onValue = (result: IteratorResult<UpstreamEvent>) => {
    this.#settled = true
    this.#result = result
  }
  readonly #onError = (error: unknown) => {
    this.#settled = true
    this.#failed = true
    this.#error = error
  }

  /** The result when `read` settles soon (throws its error); undefined when it is still pending. */
  async poll(
    read: Promise<IteratorResult<UpstreamEvent>>,
  ): Promise<IteratorResult<UpstreamEvent> | undefined> {
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
 * chunk: a pull turns the upstream events already delivered (at least one, at most 16 KiB of
 * output) into one chunk and enqueues it, so a slow client never makes this queue more than one
 * chunk; the upstream read simply waits. While nothing else is sent, a `: ping` comment goes out
 * every `heartbeatMs`.
 */
export function liveSseStream(options: LiveStreamOptions): ReadableStream<Uint8Array> {
  const { clock, heartbeatMs } = options
  let session: UpstreamSession | undefined
  let encoder: SseEncoder | undefined
  let builder: AnswerBuilder | undefined
  let closed = false
  let started = false
  /** The next event, already asked for by the previous pull (its batch ended before it arrived). */
  let pending: Promise<IteratorResult<UpstreamEvent>> | undefined
  const poller = new SoonPoller()
  let lastSentAt = clock.now()
  let heartbeat: unknown
  let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined

  const send = (controller: ReadableStreamDefaultController<Uint8Array>, text: string) => {
    lastSentAt = clock.now()
    controller.enqueue(textEncoder.encode(text))
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
        // Bytes of this batch: sent before the error event if the upstream fails mid-batch.
        let out = ''
        try {
          if (!session) {
            session = await options.session
            if (closed) return
            watch(session, controller)
            encoder = new SseEncoder(options.id, options.created, session.model)
            builder = new AnswerBuilder(session.model, options.keepAnswer)
          }
          const live = session
          const enc = encoder!
          const acc = builder!
          if (!started) out = enc.role()
          started = true
          let event = live.take()
          let ready: IteratorResult<UpstreamEvent> | undefined
          let next = event ? undefined : (pending ?? live.read())
          pending = undefined
          for (;;) {
            if (!event) {
              let result = ready
              ready = undefined
              if (!result) {
                live.waiting()
                result = await next!
                live.arrived()
              }
              if (closed) return
              if (result.done) {
                live.settle()
                // The provider ends with a finish event; ending without one is a truncation.
                throw new Error('The upstream stream ended without a finish_reason.')
              }
              event = result.value
            }
            acc.add(event)
            switch (event.type) {
              case 'text':
                if (event.text === '') break
                {
                  const waiting = options.onChunk(event.text)
                  if (waiting) await waiting
                }
                out += enc.content(event.text)
                break
              case 'reasoning':
                if (event.text !== '') out += enc.reasoning(event.text)
                break
              case 'tool-call':
                out += enc.toolCalls([event.delta])
                break
              case 'usage':
                break
              case 'finish': {
                out += enc.finish(event.reason)
                if (options.includeUsage && acc.usage) out += enc.usage(acc.usage)
                send(controller, out + SSE_DONE)
                live.release()
                controller.close()
                end('complete')
                options.onComplete(acc.build())
                return
              }
            }
            event = undefined
            next = live.read()
            if (out.length >= MAX_BATCH_CHARS) {
              pending = next
              break
            }
            // Hot path: events the upstream already delivered (many frames arrive in one network
            // read) are batched into this one chunk, so a 200k-token stream is not 200k enqueues,
            // encodes and client reads. Only events that settle within a few microtasks join the
            // batch: nothing waits on the network while holding bytes back (no added latency), and
            // a batch is capped at MAX_BATCH_CHARS, so the queue stays bounded.
            if (out !== '') {
              ready = await poller.poll(next)
              if (closed) return
              if (!ready) {
                pending = next
                break
              }
            }
          }
          send(controller, out)
        } catch (error) {
          if (closed) return
          const visible = options.toError(session ? session.fail(error) : error)
          try {
            send(controller, out + SseEncoder.error(errorBody(visible)))
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
