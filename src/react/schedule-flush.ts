/** Cancels a scheduled flush. */
export type CancelFlush = () => void

// One frame at 60 Hz, used where requestAnimationFrame is missing (Node, some workers, old runtimes).
const FRAME_MS = 16

/** The timers a FlushScheduler ticks with. Read at each use, so fakes installed later apply. */
export interface FlushTimers {
  requestAnimationFrame?: ((callback: () => void) => unknown) | undefined
  cancelAnimationFrame?: ((handle: never) => void) | undefined
  setTimeout: (callback: () => void, ms: number) => unknown
  clearTimeout: (handle: never) => void
}

/** The global timers, looked up at call time (fake timers installed after import still apply). */
const globalTimers = (): FlushTimers => ({
  requestAnimationFrame:
    typeof globalThis.requestAnimationFrame === 'function'
      ? (callback) => globalThis.requestAnimationFrame(callback)
      : undefined,
  cancelAnimationFrame: (handle) => globalThis.cancelAnimationFrame(handle),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle),
})

/** The flushes waiting for one tick, and how to cancel that tick. */
interface Batch {
  flushes: Set<() => void>
  cancel: () => void
}

/**
 * Runs every flush due on the same tick from one callback: all the conversations streaming in a page
 * publish in one task, so React renders them in one pass. A callback per conversation (what each
 * store did before) costs one render each: a browser runs a microtask checkpoint after every
 * animation-frame callback and Node after every timer, and React renders useSyncExternalStore
 * updates in a microtask. Flushes are grouped by `bufferMs`; `undefined` means the next frame.
 */
export class FlushScheduler {
  private readonly batches = new Map<number | undefined, Batch>()

  constructor(private readonly timers: () => FlushTimers = globalTimers) {}

  /**
   * Runs `flush` once, later: after at most `bufferMs` milliseconds (with the other flushes of that
   * `bufferMs`), or when undefined on the next animation frame, falling back to a frame-long timeout
   * where `requestAnimationFrame` is missing.
   */
  schedule(flush: () => void, bufferMs: number | undefined): CancelFlush {
    let batch = this.batches.get(bufferMs)
    if (!batch) {
      batch = this.arm(bufferMs)
      this.batches.set(bufferMs, batch)
    }
    const own = batch
    own.flushes.add(flush)
    return () => {
      // A stopped stream leaves the batch; the last one out cancels the tick, so no timer outlives
      // the streams that wanted it.
      if (!own.flushes.delete(flush) || own.flushes.size > 0) return
      own.cancel()
      if (this.batches.get(bufferMs) === own) this.batches.delete(bufferMs)
    }
  }

  private arm(bufferMs: number | undefined): Batch {
    const batch: Batch = { flushes: new Set(), cancel: () => {} }
    const tick = () => {
      if (this.batches.get(bufferMs) === batch) this.batches.delete(bufferMs)
      for (const flush of batch.flushes) {
        try {
          flush()
        } catch (error) {
          report(error) // one conversation's failure must not keep the others' text back
        }
      }
      batch.flushes.clear()
    }
    const timers = this.timers()
    const { requestAnimationFrame, cancelAnimationFrame } = timers
    if (bufferMs === undefined && requestAnimationFrame && cancelAnimationFrame) {
      const frame = requestAnimationFrame(tick)
      batch.cancel = () => cancelAnimationFrame(frame as never)
    } else {
      const timer = timers.setTimeout(tick, bufferMs ?? FRAME_MS)
      batch.cancel = () => timers.clearTimeout(timer as never)
    }
    return batch
  }
}

function report(error: unknown): void {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(error)
  else
    setTimeout(() => {
      throw error
    })
}

/** The one scheduler every `useCopilotStream` of the page shares. */
export const sharedFlushScheduler = new FlushScheduler()
