import type { Clock } from '../../../src/server'

/**
 * The system clock read through the (vitest-faked) globals, with a fixed jitter draw so retry
 * delays are exact. Use with vi.useFakeTimers().
 */
export function fakeClock(random = 0.5): Clock {
  return {
    now: () => Date.now(),
    setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
    clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
    random: () => random,
  }
}

/** Reads a response body chunk by chunk as text. */
export function bodyReader(response: Response) {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  return {
    async read(): Promise<string | null> {
      const { done, value } = await reader.read()
      return done ? null : decoder.decode(value)
    },
    async rest(): Promise<string> {
      let out = ''
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return out
        out += decoder.decode(value)
      }
    },
    cancel: () => reader.cancel(),
  }
}
