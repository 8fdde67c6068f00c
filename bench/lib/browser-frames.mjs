// requestAnimationFrame as a browser runs it, for the hook benchmark. jsdom's (pretendToBeVisual)
// calls every callback of a frame in one go; a browser runs a microtask checkpoint after each one
// (HTML "clean up after running script"), and React renders useSyncExternalStore updates in a
// microtask. With jsdom's, ten hooks each flushing on a frame callback of its own would render
// once in all; in Chromium they render ten times. This keeps the benchmark honest about that.

const FRAME_MS = 1000 / 60

/** Replaces globalThis.requestAnimationFrame/cancelAnimationFrame with browser-faithful ones. */
export function installBrowserFrames() {
  const callbacks = new Map()
  let next = 0
  let timer = null
  const origin = performance.now()

  async function runFrame() {
    if (callbacks.size === 0) {
      // Nothing asked for this frame: stop ticking until something is.
      clearInterval(timer)
      timer = null
      return
    }
    const due = [...callbacks.values()]
    callbacks.clear()
    const now = performance.now() - origin
    for (const callback of due) {
      try {
        callback(now)
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
      // The checkpoint: microtasks the callback queued (React's render) run before the next one.
      await Promise.resolve()
      await Promise.resolve()
    }
  }

  globalThis.requestAnimationFrame = (callback) => {
    callbacks.set(++next, callback)
    timer ??= setInterval(runFrame, FRAME_MS)
    return next
  }
  globalThis.cancelAnimationFrame = (handle) => {
    callbacks.delete(handle)
  }
  if (globalThis.window) {
    globalThis.window.requestAnimationFrame = globalThis.requestAnimationFrame
    globalThis.window.cancelAnimationFrame = globalThis.cancelAnimationFrame
  }
}
