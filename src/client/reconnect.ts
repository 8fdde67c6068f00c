// How a resumable stream gets its connection back: capped exponential backoff with full jitter, and
// which failures are worth another GET.
import { CopilotHTTPError, CopilotTruncatedError } from './errors'

/** Time and randomness for the backoff, injectable so tests use fake timers and never sleep. */
export interface ReconnectTimers {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  /** A number in [0, 1), for the jitter. */
  random(): number
}

export interface ReconnectOptions {
  /** Reconnect attempts in a row (without a new event in between) before giving up. Default 5. */
  maxAttempts?: number | undefined
  /** The backoff's first ceiling, doubled per attempt. Default 250 ms. */
  baseDelayMs?: number | undefined
  /** The backoff's highest ceiling. Default 5,000 ms. */
  maxDelayMs?: number | undefined
  /** Default: the global timers and `Math.random`, looked up at each use. */
  timers?: ReconnectTimers | undefined
}

export interface ReconnectPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
  timers: ReconnectTimers
}

// Looked up at call time (not captured at import) so fake timers installed later are honoured.
const globalTimers: ReconnectTimers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
}

/** `false` turns reconnecting off; anything else is the policy with its defaults filled in. */
export function reconnectPolicy(
  options: false | ReconnectOptions | undefined,
): ReconnectPolicy | undefined {
  if (options === false) return undefined
  return {
    maxAttempts: options?.maxAttempts ?? 5,
    baseDelayMs: options?.baseDelayMs ?? 250,
    maxDelayMs: options?.maxDelayMs ?? 5_000,
    timers: options?.timers ?? globalTimers,
  }
}

/** Full jitter: uniform in [0, min(maxDelayMs, baseDelayMs · 2^(attempt−1))). `attempt` counts from 1. */
export function reconnectDelay(policy: ReconnectPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return Math.floor(policy.timers.random() * ceiling)
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(timers: ReconnectTimers, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = () => {
      timers.clearTimeout(handle)
      reject(signal.reason)
    }
    const handle = timers.setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * A lost connection (the body ended early or the network failed) is worth another GET; so is a
 * reconnect answered 408, 429 or 5xx (a proxy or an instance restarting). Anything the server said on
 * purpose (an in-stream error event, a 404 `stream_not_found`, a 410 `stream_expired`) is final.
 */
export function isReconnectable(error: unknown): boolean {
  if (error instanceof CopilotTruncatedError) return true
  if (error instanceof CopilotHTTPError) {
    return error.status === 408 || error.status === 429 || error.status >= 500
  }
  // fetch rejects a network failure with a TypeError ("fetch failed", "Failed to fetch", ...).
  return error instanceof TypeError
}
