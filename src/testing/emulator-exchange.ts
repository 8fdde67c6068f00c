// One request's life: abort tracking, paced sleeps on the injectable clock, and the pull-based body
// stream that applies mid-stream faults. Pull-based so a slow reader holds the emulator back: it
// never generates more than one batch of frames ahead of what was read.
import type { Frame } from './emulator-frames'
import { DONE_FRAME, errorFrame, MALFORMED_FRAME } from './emulator-frames'
import type { EmulatorFault, RecordedRequest } from './emulator-types'

export interface ResolvedClock {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  now(): number
}

export type MidStreamFault = Extract<
  EmulatorFault,
  { type: 'drop' | 'stall-mid-stream' | 'malformed' | 'error-frame' }
>

export interface Pacing {
  firstTokenDelayMs: number
  tokenDelayMs: number
}

const encoder = new TextEncoder()
const BATCH_CHARS = 16 * 1024

export class Exchange {
  finished = false
  /** The emulator cut the body on purpose (`drop`): a listening server ends the socket uncleanly. */
  cut = false
  readonly settled: Promise<void>
  private settle!: () => void
  private readonly stopper = new AbortController()
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null

  constructor(
    readonly record: RecordedRequest,
    private readonly signal: AbortSignal,
    private readonly clock: ResolvedClock,
  ) {
    this.settled = new Promise((resolve) => {
      this.settle = resolve
    })
    signal.addEventListener('abort', this.onAbort)
  }

  private readonly onAbort = () => this.abort(this.signal.reason)

  /** The client went away: recorded, timers stopped, and a body being read errors like fetch's. */
  abort(reason: unknown): void {
    if (this.finished) return
    this.record.aborted = true
    this.finish()
    this.stopper.abort()
    try {
      this.controller?.error(reason)
    } catch {
      // Already closed or cancelled.
    }
  }

  finish(how?: 'completed' | 'cut'): void {
    if (this.finished) return
    this.finished = true
    if (how === 'completed') this.record.completed = true
    if (how === 'cut') this.cut = true
    this.signal.removeEventListener('abort', this.onAbort)
    this.settle()
  }

  /** Resolves true after `ms` (never, when undefined), false as soon as the request is aborted. */
  sleep(ms?: number): Promise<boolean> {
    const stop = this.stopper.signal
    if (stop.aborted) return Promise.resolve(false)
    return new Promise((resolve) => {
      let handle: unknown
      const onStop = () => {
        if (handle !== undefined) this.clock.clearTimeout(handle)
        resolve(false)
      }
      stop.addEventListener('abort', onStop, { once: true })
      if (ms !== undefined) {
        handle = this.clock.setTimeout(() => {
          stop.removeEventListener('abort', onStop)
          resolve(true)
        }, ms)
      }
    })
  }

  /** A complete (JSON) answer. */
  respond(response: Response): Response {
    this.record.status = response.status
    this.finish('completed')
    return response
  }

  stream(frames: Iterator<Frame>, fault: MidStreamFault | null, pacing: Pacing): ReadableStream {
    const record = this.record
    let started = false
    let faultPending = fault !== null
    let held: Frame | null = null
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller
        },
        pull: async (controller) => {
          if (this.finished) return
          // Unpaced frames are batched into one chunk of up to BATCH_CHARS: per-chunk costs would
          // otherwise dominate a 200,000-token benchmark. Anything due to pause flushes first.
          let out = ''
          const flush = () => {
            if (out !== '') controller.enqueue(encoder.encode(out))
            out = ''
          }
          if (!started) {
            started = true
            if (pacing.firstTokenDelayMs > 0 && !(await this.sleep(pacing.firstTokenDelayMs)))
              return
          }
          for (;;) {
            let frame = held
            held = null
            if (!frame) {
              const next = frames.next()
              if (next.done) {
                flush()
                controller.close()
                this.finish('completed')
                return
              }
              frame = next.value
            }
            // A fault fires before the token frame that would exceed `afterTokens`, or before the
            // terminal frames when the reply is shorter than that.
            const due =
              frame.kind === 'post' ||
              (frame.kind === 'token' && record.tokensSent >= (fault?.afterTokens ?? 0))
            if (faultPending && fault && due) {
              switch (fault.type) {
                case 'drop':
                  flush()
                  controller.close()
                  this.finish('cut')
                  return
                case 'error-frame':
                  out += errorFrame(
                    fault.code ?? 3040,
                    fault.message ?? 'Capacity temporarily exceeded, please try again.',
                  )
                  flush()
                  controller.close()
                  this.finish()
                  return
                case 'malformed':
                  faultPending = false
                  out += MALFORMED_FRAME
                  held = frame
                  continue
                case 'stall-mid-stream':
                  held = frame
                  if (out !== '') return flush()
                  faultPending = false
                  if (!(await this.sleep(fault.ms))) return
                  continue
              }
            }
            if (frame.kind === 'token') {
              if (record.tokensSent > 0 && pacing.tokenDelayMs > 0) {
                if (out !== '') {
                  held = frame
                  return flush()
                }
                if (!(await this.sleep(pacing.tokenDelayMs))) return
              }
              record.tokensSent++
            }
            out += frame.text
            // Close with [DONE] itself: a reader that stops there has had the whole reply.
            if (frame.text === DONE_FRAME) {
              flush()
              controller.close()
              this.finish('completed')
              return
            }
            if (out.length >= BATCH_CHARS) return flush()
          }
        },
        cancel: (reason) => this.abort(reason),
      },
      // Nothing is generated until a read asks: at most one batch ahead of what was read.
      { highWaterMark: 0 },
    )
  }
}
