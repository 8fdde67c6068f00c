/** Cancels a scheduled flush. */
export type CancelFlush = () => void

// One frame at 60 Hz, used where requestAnimationFrame is missing (Node, some workers, old runtimes).
const FRAME_MS = 16

/**
 * Runs `flush` once, later: after `bufferMs` milliseconds, or (when `bufferMs` is undefined) on the
 * next animation frame, falling back to a frame-long timeout where `requestAnimationFrame` is missing.
 */
export function scheduleFlush(flush: () => void, bufferMs: number | undefined): CancelFlush {
  if (bufferMs === undefined && typeof globalThis.requestAnimationFrame === 'function') {
    const frame = globalThis.requestAnimationFrame(flush)
    return () => globalThis.cancelAnimationFrame(frame)
  }
  const timer = setTimeout(flush, bufferMs ?? FRAME_MS)
  return () => clearTimeout(timer)
}
