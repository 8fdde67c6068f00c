import type { ChatMessage } from '../../shared/chat-types'
import type { Clock } from '../clock'
import { APIError } from '../errors'
import type { Logger } from '../logger'
import type { GenerationParams, Provider, UpstreamEvent } from '../providers/provider'
import { hasBatches, READS_END_ON_ABORT, UpstreamError } from '../providers/provider'
import { isModelNotFound, toAPIError } from './map-upstream-error'
import type { RetryPolicy } from './retry'
import { isRetryable, withRetry } from './retry'

export interface OpenOptions {
  provider: Provider
  /** Tried in order: the requested model, then the fallback (for this request only). */
  models: string[]
  messages: ChatMessage[]
  params: GenerationParams
  /** Sent with every attempt, the fallback's included (`ProviderRequest.sessionAffinity`). */
  sessionAffinity?: string | undefined
  /** The caller's signal: aborting it aborts the upstream request at once. */
  signal: AbortSignal | undefined
  retry: RetryPolicy
  timeoutMs: number
  idleTimeoutMs: number
  clock: Clock
  logger: Logger
  onRetry: () => void
  onFallback: () => void
}

/** Thrown (as the abort reason) when the caller went away; never answered, never retried. */
export class ClientAbort extends Error {
  override readonly name = 'ClientAbort'
  constructor() {
    super('The client closed the request.')
  }
}

/**
 * An open upstream stream whose first event has arrived. `next()` returns events in order (the
 * first one included) and undefined after the end; it throws an APIError for a failure (idle
 * timeout 504, anything else 502) or the caller's abort reason.
 */
export class UpstreamSession {
  readonly model: string
  /** A pending read ends by itself when the session aborts (see READS_END_ON_ABORT). */
  readonly readsEndOnAbort: boolean
  readonly #iterator: AsyncIterator<UpstreamEvent>
  readonly #controller: AbortController
  readonly #unlink: () => void
  readonly #clock: Clock
  readonly #idleTimeoutMs: number
  #first: UpstreamEvent | undefined
  /** Since when we wait for the upstream, or -1 while we do not (the consumer is busy or slow). */
  #waitingSince = -1
  #watchdog: unknown
  #closed = false

  constructor(
    model: string,
    iterator: AsyncIterator<UpstreamEvent>,
    first: UpstreamEvent,
    controller: AbortController,
    unlink: () => void,
    clock: Clock,
    idleTimeoutMs: number,
  ) {
    this.model = model
    this.readsEndOnAbort =
      (iterator as { [READS_END_ON_ABORT]?: AbortSignal })[READS_END_ON_ABORT] === controller.signal
    this.#iterator = iterator
    this.#first = first
    this.#controller = controller
    this.#unlink = unlink
    this.#clock = clock
    this.#idleTimeoutMs = idleTimeoutMs
    if (idleTimeoutMs > 0) this.#arm(idleTimeoutMs)
  }

  // One long-lived timer instead of one per event (events can be 200k per stream). Idle time only
  // counts while we wait for the upstream: a client that reads slowly (backpressure) holds the
  // upstream read back, and that is not the upstream going quiet.
  #arm(ms: number): void {
    this.#watchdog = this.#clock.setTimeout(() => {
      // Aborted from outside (the caller's signal) with nobody reading: released here, not
      // watched for ever.
      if (this.#controller.signal.aborted) {
        this.abort()
        return
      }
      const since = this.#waitingSince
      const idle = since < 0 ? 0 : this.#clock.now() - since
      if (idle >= this.#idleTimeoutMs) {
        this.abort(
          new APIError(`The upstream sent nothing for ${this.#idleTimeoutMs} ms (idleTimeoutMs).`, {
            status: 504,
            type: 'timeout_error',
            code: 'idle_timeout',
          }),
        )
      } else {
        this.#arm(this.#idleTimeoutMs - idle)
      }
    }, ms)
  }

  /** The event that opened the session, once (the hot loop reads it without a promise). */
  take(): UpstreamEvent | undefined {
    const first = this.#first
    this.#first = undefined
    return first
  }

  /**
   * The provider's next events, unwrapped (hot path): its own `nextBatch()` promise when it has
   * one (one promise per network read, not per event), else its next() as a batch of one. The
   * caller must not rely on the promise settling after an abort (`signal` tells it instead).
   */
  readBatch(): Promise<IteratorResult<UpstreamEvent[], unknown>> {
    const iterator = this.#iterator
    return hasBatches(iterator) ? iterator.nextBatch() : iterator.next().then(asBatch)
  }

  /** We now wait for the upstream (idle time counts from here). */
  waiting(): void {
    if (this.#waitingSince < 0) this.#waitingSince = this.#clock.now()
  }

  /** The upstream answered; we no longer wait for it. */
  arrived(): void {
    this.#waitingSince = -1
  }

  /** The stream ended (the iterator is done). */
  settle(): void {
    if (!this.#closed) this.#finish()
  }

  /**
   * After the `finish` event: lets the provider end its body without aborting it, and without
   * anyone waiting for that (a provider slow to close must not hold a complete answer back).
   */
  release(): void {
    const settle = () => this.settle()
    this.#iterator.next().then(settle, settle)
  }

  /** The error the caller should see for a failure of `read()`, aborting the upstream. */
  fail(error: unknown): unknown {
    const reason = this.#controller.signal.aborted ? this.#controller.signal.reason : error
    this.abort(reason)
    return toAPIError(reason, this.model)
  }

  /** Aborted with the reason: a ClientAbort, or an APIError (idle timeout). */
  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /** Aborts the upstream request (client gone, timeout, or the consumer stopped early). */
  abort(reason?: unknown): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason ?? new ClientAbort())
    if (!this.#closed) {
      this.#finish()
      // Let the provider release its reader; errors there are irrelevant now.
      this.#iterator.return?.().catch(() => {})
    }
  }

  #finish(): void {
    this.#closed = true
    this.#clock.clearTimeout(this.#watchdog)
    this.#unlink()
  }
}

function asBatch(result: IteratorResult<UpstreamEvent>): IteratorResult<UpstreamEvent[], unknown> {
  return result.done ? result : { done: false, value: [result.value] }
}

/** Aborts `controller` when `signal` does; returns the undo. */
function link(signal: AbortSignal | undefined, controller: AbortController): () => void {
  if (!signal) return () => {}
  const onAbort = () => controller.abort(new ClientAbort())
  if (signal.aborted) onAbort()
  else signal.addEventListener('abort', onAbort, { once: true })
  return () => signal.removeEventListener('abort', onAbort)
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

async function attempt(options: OpenOptions, model: string): Promise<UpstreamSession> {
  const { clock, timeoutMs } = options
  const controller = new AbortController()
  const unlink = link(options.signal, controller)
  const timer =
    timeoutMs > 0
      ? clock.setTimeout(
          () =>
            controller.abort(
              new APIError(`The upstream sent no first byte within ${timeoutMs} ms (timeoutMs).`, {
                status: 504,
                type: 'timeout_error',
                code: 'timeout',
              }),
            ),
          timeoutMs,
        )
      : undefined
  let iterator: AsyncIterator<UpstreamEvent> | undefined
  try {
    const stream = options.provider.stream({
      model,
      messages: options.messages,
      params: options.params,
      sessionAffinity: options.sessionAffinity,
      signal: controller.signal,
    })
    // The stream, then its first event, raced against the abort as one step: one listener per
    // attempt, not one per step.
    const opened = stream.then((events) => {
      const opening = events[Symbol.asyncIterator]()
      if (controller.signal.aborted) {
        // We stopped waiting before it came (abort, timeout): released, never read.
        opening.return?.().catch(() => {})
        throw controller.signal.reason
      }
      iterator = opening
      return opening.next()
    })
    // A rejection after we stopped waiting (abort, timeout) must not surface as unhandled.
    opened.catch(() => {})
    const first = await raceAbort(opened, controller.signal)
    if (first.done) {
      throw new UpstreamError('The upstream stream ended before its first event.', {
        kind: 'truncated',
      })
    }
    clock.clearTimeout(timer)
    return new UpstreamSession(
      model,
      // Set before its first event was asked for.
      iterator as AsyncIterator<UpstreamEvent>,
      first.value,
      controller,
      unlink,
      clock,
      options.idleTimeoutMs,
    )
  } catch (error) {
    clock.clearTimeout(timer)
    unlink()
    const reason = controller.signal.aborted ? controller.signal.reason : error
    if (!controller.signal.aborted) controller.abort(reason)
    iterator?.return?.().catch(() => {})
    throw reason
  }
}

/**
 * Opens the upstream stream and waits for its first event: retries per model (before the first
 * byte only), then the fallback model for this request when the primary is unavailable or unknown.
 * Rejects with the APIError the caller should see, or the caller's abort.
 */
export async function openUpstream(options: OpenOptions): Promise<UpstreamSession> {
  let lastError: unknown
  let lastModel = options.models[0] ?? ''
  for (let i = 0; i < options.models.length; i++) {
    const model = options.models[i]!
    lastModel = model
    if (i > 0) {
      options.onFallback()
      options.logger.warn(`model ${options.models[i - 1]} unavailable; trying fallback ${model}`)
    }
    try {
      return await withRetry(() => attempt(options, model), {
        policy: options.retry,
        clock: options.clock,
        signal: options.signal,
        onRetry: (error, delayMs, n) => {
          options.onRetry()
          options.logger.debug(
            `attempt ${n} on ${model} failed (${(error as Error).message}); retrying in ${delayMs} ms`,
          )
        },
      })
    } catch (error) {
      lastError = error
      if (options.signal?.aborted) throw options.signal.reason ?? new ClientAbort()
      const unavailable = isRetryable(error) || isModelNotFound(error)
      if (!unavailable) break
    }
  }
  throw toAPIError(lastError, lastModel)
}
