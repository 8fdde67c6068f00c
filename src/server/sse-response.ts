import { AnswerBuilder } from './answer-builder'
import type { Clock } from './clock'
import type { APIError, ValidationError } from './errors'
import { errorBody } from './errors'
import type { CachedAnswer } from './response-cache'
import { SSE_DONE, SSE_PING, SseEncoder } from './sse-encoder'
import type { UpstreamSession } from './upstream-session'

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
}

// One encoder for every stream: encode() allocates only the output bytes.
const textEncoder = new TextEncoder()

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
  /** Runs once when the stream is over, however it ended. */
  onClose: (outcome: 'complete' | 'error' | 'cancelled', error?: unknown) => void
  /** Aborts the upstream (and a pending open) when the client cancels the body. */
  abort: () => void
}

/**
 * The downstream SSE body of a live upstream stream. Pull-based with a high-water mark of one
 * chunk: a pull reads one upstream event (or the few needed to produce bytes) and enqueues it, so
 * a slow client never makes this queue more than one chunk; the upstream read simply waits. While
 * nothing else is sent, a `: ping` comment goes out every `heartbeatMs`.
 */
export function liveSseStream(options: LiveStreamOptions): ReadableStream<Uint8Array> {
  const { clock, heartbeatMs } = options
  let session: UpstreamSession | undefined
  let encoder: SseEncoder | undefined
  let builder: AnswerBuilder | undefined
  let closed = false
  let started = false
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
        try {
          if (!session) {
            session = await options.session
            encoder = new SseEncoder(options.id, options.created, session.model)
            builder = new AnswerBuilder(session.model)
          }
          const enc = encoder!
          const acc = builder!
          let out = started ? '' : enc.role()
          started = true
          for (;;) {
            const event = await session.next()
            if (closed) return
            if (event === undefined) {
              // The provider ends with a finish event; ending without one is a truncation.
              throw new Error('The upstream stream ended without a finish_reason.')
            }
            acc.add(event)
            switch (event.type) {
              case 'text':
                if (event.text === '') break
                {
                  const pending = options.onChunk(event.text)
                  if (pending) await pending
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
                // Let the provider finish its body (it ends right after `finish`) without aborting.
                await session.next().catch(() => undefined)
                controller.close()
                end('complete')
                options.onComplete(acc.build())
                return
              }
            }
            if (out !== '') {
              send(controller, out)
              return
            }
          }
        } catch (error) {
          if (closed) return
          const visible = options.toError(error)
          try {
            send(controller, SseEncoder.error(errorBody(visible)))
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

/** The whole SSE body of a cached answer (or any complete answer), as one string. */
export function replaySse(
  answer: CachedAnswer,
  id: string,
  created: number,
  includeUsage: boolean,
): string {
  const enc = new SseEncoder(id, created, answer.model)
  let out = enc.role()
  if (answer.reasoning) out += enc.reasoning(answer.reasoning)
  if (answer.text) out += enc.content(answer.text)
  if (answer.toolCalls) {
    out += enc.toolCalls(
      answer.toolCalls.map((call, index) => ({
        index,
        id: call.id,
        type: 'function' as const,
        function: { name: call.function.name, arguments: call.function.arguments },
      })),
    )
  }
  out += enc.finish(answer.finishReason)
  if (includeUsage && answer.usage) out += enc.usage(answer.usage)
  return out + SSE_DONE
}

export function encodeText(text: string): Uint8Array<ArrayBuffer> {
  return textEncoder.encode(text)
}
