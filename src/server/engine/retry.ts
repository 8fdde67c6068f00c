import type { Clock } from '../clock'
import { sleep } from '../clock'
import { UpstreamError } from '../providers/provider'

export interface RetryPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
  maxRetryAfterMs: number
}

const RETRYABLE_STATUS = new Set([408, 409, 429])

/** Only 408/409/429/5xx answers and network failures are worth another attempt. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof UpstreamError)) return false
  if (error.kind === 'network') return true
  if (error.kind !== 'http' || error.status === undefined) return false
  return RETRYABLE_STATUS.has(error.status) || error.status >= 500
}

/** Full jitter: uniform in [0, min(maxDelayMs, baseDelayMs·2^retry)), retry counted from 0. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry)
  return Math.floor(random() * ceiling)
}

export interface RetryOptions {
  policy: RetryPolicy
  clock: Clock
  /** Aborting stops the waiting at once and rethrows the abort reason. */
  signal?: AbortSignal | undefined
  onRetry?: (error: unknown, delayMs: number, attempt: number) => void
}

/**
 * Runs `attempt` up to `maxAttempts` times. Between attempts it waits the upstream's `Retry-After`
 * exactly when it sent one (however long, up to `maxRetryAfterMs`; longer gives up at once so the
 * caller gets the 429 and the Retry-After), else the jittered backoff.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { policy, clock, signal } = options
  for (let n = 1; ; n++) {
    try {
      return await attempt(n)
    } catch (error) {
      if (n >= policy.maxAttempts || !isRetryable(error) || signal?.aborted) throw error
      const retryAfter = (error as UpstreamError).retryAfterMs
      if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs) throw error
      const delay = retryAfter ?? backoffDelay(n - 1, policy, clock.random)
      options.onRetry?.(error, delay, n)
      await sleep(clock, delay, signal)
    }
  }
}
