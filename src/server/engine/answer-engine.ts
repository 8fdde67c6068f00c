import { cacheKey } from '../cache/cache-key'
import type { CachedAnswer } from '../cache/response-cache'
import { createMemoryCacheStore, ResponseCache } from '../cache/response-cache'
import type { ResolvedConfig } from '../config'
import { APIError, isAbortError, redactError, ValidationError } from '../errors'
import type { Logger } from '../logger'
import { MetricsRecorder } from '../metrics'
import type { ParsedRequest } from '../protocols/chat-completions/validate-request'
import { defaultProvider } from '../providers/default-provider'
import type { Provider } from '../providers/provider'
import type { RequestTelemetry } from '../telemetry/request-telemetry'
import { Telemetry } from '../telemetry/telemetry'
import { AnswerLog } from './answer-log'
import type { AnswerOutcome, AnswerSource } from './answer-run'
import { AnswerRun } from './answer-run'
import { toAPIError } from './map-upstream-error'
import { ResumeRegistry } from './resume-registry'
import { safeOnChunk } from './safe-on-chunk'
import { sessionAffinity } from './session-affinity'
import type { StreamPublisher } from './stream-store'
import { openUpstream } from './upstream-session'

/** A streaming answer running here, or one this instance follows on another (config `streams`). */
interface RunningAnswer {
  opening: Promise<AnswerRun | AnswerLog>
  /** Aborts the opening once every caller waiting for it has gone. */
  controller: AbortController
  /** Callers waiting for the opening. */
  waiting: number
  /** When this instance leads a shared answer: readers here, and how to give the answer up. */
  shared?: { readers: number; publisher: StreamPublisher; abandon: () => void }
}

/** How long a shared answer's finished log stays readable without `resume` (late followers). */
const SHARED_TTL_MS = 30_000
const SHARED_MAX_BYTES = 8 * 1024 * 1024
/** Ms between checks for readers elsewhere once nobody reads a shared answer here. */
const ABANDON_CHECK_MS = 1_000

/** The cache key of a request (undefined without a cache) and the cached answer, if any. */
export interface Lookup {
  key: string | undefined
  hit: CachedAnswer | undefined
}

/**
 * What every front door (HTTP in any protocol, `handleRequest`) shares: the cache, the upstream
 * with retries and fallback, metrics, and the answer runs. It never sees a protocol.
 */
export class AnswerEngine {
  readonly config: ResolvedConfig
  readonly logger: Logger
  readonly metrics = new MetricsRecorder()
  /** Resumable answers on this instance (config `resume`), or undefined. */
  readonly resume: ResumeRegistry | undefined
  /** OpenTelemetry (config `telemetry`), or undefined: then nothing is traced or measured. */
  readonly telemetry: Telemetry | undefined
  readonly #cache: ResponseCache | undefined
  readonly #onChunk: ((text: string) => void | Promise<void>) | undefined
  #provider: Provider | undefined
  /** Streaming answers running here, by cache key (for coalescing identical requests). */
  readonly #running = new Map<string, RunningAnswer>()

  constructor(config: ResolvedConfig, logger: Logger) {
    this.config = config
    this.logger = logger
    this.#onChunk = config.onChunk ? safeOnChunk(config.onChunk, logger) : undefined
    this.telemetry = config.telemetry
      ? new Telemetry(
          config.telemetry,
          config.provider?.name ?? 'workers-ai',
          config.clock,
          () => {
            const looked = this.metrics.cacheHits + this.metrics.cacheMisses
            return looked === 0 ? undefined : this.metrics.cacheHits / looked
          },
          config.apiKey,
        )
      : undefined
    this.resume = config.resume
      ? new ResumeRegistry(config.resume, config.clock, config.streams, config.idleTimeoutMs)
      : undefined
    const cache = config.cache
    if (cache) {
      const store = cache.store ?? createMemoryCacheStore(cache)
      this.#cache = new ResponseCache(store, cache.ttl, (error) =>
        logger.warn('cache store failed; treating as a miss:', error),
      )
    }
  }

  /** Looks the request up (unless `fresh`), counting hits and misses. */
  async lookup(request: ParsedRequest, fresh: boolean): Promise<Lookup> {
    if (!this.#cache) return { key: undefined, hit: undefined }
    const key = cacheKey(request.model, request.messages, request.params)
    const hit = fresh ? undefined : await this.#cache.get(key)
    if (hit) this.metrics.cacheHits++
    else this.metrics.cacheMisses++
    return { key, hit }
  }

  /**
   * Opens the upstream (retries, fallback) and resolves to the live answer once its first event
   * arrived. Rejects with the visible error, or the caller's abort. `onClose` runs once the
   * answer is over, however it ended (not when the open itself fails).
   */
  async start(
    request: ParsedRequest,
    key: string | undefined,
    signal: AbortSignal | undefined,
    onClose?: (outcome: AnswerOutcome, error?: unknown) => void,
    keepAnswer = key !== undefined,
    trace?: RequestTelemetry,
  ): Promise<AnswerRun> {
    const { config } = this
    const models = [request.model]
    if (config.fallback && config.fallback !== request.model) models.push(config.fallback)
    let session: Awaited<ReturnType<typeof openUpstream>>
    try {
      session = await openUpstream({
        provider: this.#upstream(),
        models,
        messages: request.messages,
        params: request.params,
        sessionAffinity: config.sessionAffinity ? sessionAffinity(request) : undefined,
        signal,
        retry: config.retry,
        timeoutMs: config.timeoutMs,
        idleTimeoutMs: config.idleTimeoutMs,
        clock: config.clock,
        logger: this.logger,
        onRetry: () => {
          this.metrics.retries++
          trace?.retry()
        },
        onFallback: () => {
          this.metrics.fallbacks++
          trace?.fallback()
        },
      })
    } catch (error) {
      throw this.toVisible(error, request.model)
    }
    return AnswerRun.live(session, {
      clock: config.clock,
      waitUntil: config.waitUntil,
      idleTimeoutMs: config.idleTimeoutMs,
      onChunk: this.#onChunk,
      keepAnswer,
      onComplete: (answer) => {
        if (answer.usage) this.metrics.usage(answer.usage)
        return key === undefined ? undefined : this.#cache?.set(key, answer)
      },
      toError: (error) => this.toVisible(error, session.model) as APIError | ValidationError,
      onClose: (outcome, error) => {
        if (outcome === 'error') {
          this.metrics.errors++
          this.logger.debug('answer ended with an error:', error)
        }
        onClose?.(outcome, error)
      },
    })
  }

  /**
   * The answer to a streaming request: a new run, or (same cache key, not `fresh`) a reader of
   * the identical request's answer already running here, or (config `streams`) on another
   * instance: N identical concurrent streams are one upstream call. A reader leaving never aborts
   * an answer others still read, here or elsewhere; the last one does.
   */
  async stream(
    request: ParsedRequest,
    key: string | undefined,
    fresh: boolean,
    signal: AbortSignal | undefined,
    trace?: RequestTelemetry,
  ): Promise<AnswerSource> {
    if (key === undefined || fresh) {
      return this.start(request, key, signal, undefined, undefined, trace)
    }
    let shared = this.#running.get(key)
    const follower = shared !== undefined
    if (!shared) {
      // Not tied to one caller's signal: the answer may outlive it (followers). Until it opens,
      // it is aborted when every caller waiting for it has gone; after, by its readers.
      const controller = new AbortController()
      const created: RunningAnswer = { opening: undefined as never, controller, waiting: 0 }
      const forget = () => {
        if (this.#running.get(key) === created) this.#running.delete(key)
      }
      const opening = this.config.streams
        ? this.#openShared(request, key, created, forget, trace)
        : this.start(request, key, controller.signal, undefined, undefined, trace)
      created.opening = opening
      shared = created
      this.#running.set(key, created)
      opening.then((run) => {
        if (!(run instanceof AnswerRun)) return
        run.onClosed(forget)
        // A stalled answer is not joined again: the next identical request asks anew.
        run.onStalled(forget)
      }, forget)
    }
    const entry = shared
    entry.waiting++
    const leave = () => {
      if (--entry.waiting === 0) entry.controller.abort(signal?.reason)
    }
    signal?.addEventListener('abort', leave, { once: true })
    let run: AnswerRun | AnswerLog
    try {
      run = await entry.opening
    } finally {
      signal?.removeEventListener('abort', leave)
    }
    if (run instanceof AnswerLog) {
      // Followed on another instance: every reader here tails the one local copy.
      if (run.state === 'error' || run.state === 'stopped') {
        if (this.#running.get(key) === entry) this.#running.delete(key)
        return this.stream(request, key, fresh, signal, trace)
      }
      const reader = run.reader(0)
      if (signal?.aborted) reader.abort()
      else signal?.addEventListener('abort', () => reader.abort(), { once: true })
      return reader
    }
    if (follower && run.closed) {
      // It ended before this reader got to it (on workerd a follower resumes a turn later): a
      // complete answer is this reader's too, not a new upstream call; anything else is asked again.
      const answer = run.answer
      if (answer === undefined) return this.stream(request, key, fresh, signal, trace)
      this.metrics.coalesced++
      trace?.coalesced()
      return this.replay(answer)
    }
    let source: AnswerSource = follower ? run.follow() : run
    if (follower) {
      this.metrics.coalesced++
      trace?.coalesced()
    }
    if (entry.shared) source = this.#counted(source, entry.shared)
    if (signal?.aborted) source.abort()
    else signal?.addEventListener('abort', () => source.abort(), { once: true })
    return source
  }

  /**
   * The first of identical streaming requests here, with a stream store: leads the answer (runs
   * it and publishes its events), follows the instance that already leads it, or (store down)
   * runs it locally.
   */
  async #openShared(
    request: ParsedRequest,
    key: string,
    entry: RunningAnswer,
    forget: () => void,
    trace: RequestTelemetry | undefined,
  ): Promise<AnswerRun | AnswerLog> {
    const streams = this.config.streams as NonNullable<ResolvedConfig['streams']>
    const { signal } = entry.controller
    const streamId = crypto.randomUUID()
    const claim = await streams.claim(key, streamId)
    const maxBytes = this.config.resume ? this.config.resume.maxBytes : SHARED_MAX_BYTES
    if (claim?.role === 'follower') {
      const remote = await streams.read(claim.streamId, { known: false, signal })
      if (remote) {
        this.metrics.coalesced++
        trace?.coalesced()
        const log = new AnswerLog(
          remote.opened.then(() => remote),
          request.model,
          undefined,
          {
            clock: this.config.clock,
            idleTimeoutMs: this.config.idleTimeoutMs,
            // The last reader here leaving stops only this instance's tail, never the leader.
            graceMs: 0,
            maxBytes,
            onEnd: forget,
          },
        )
        await log.opened
        return log
      }
    }
    if (claim?.role !== 'leader')
      return this.start(request, key, signal, undefined, undefined, trace)
    const publisher = streams.publish(
      streamId,
      { model: request.model },
      { key, ttlMs: SHARED_TTL_MS, maxBytes, onStop: () => {} },
    )
    let run: AnswerRun
    try {
      run = await this.start(request, key, signal, undefined, undefined, trace)
    } catch (error) {
      const visible = this.toVisible(error, request.model)
      if (visible instanceof APIError || visible instanceof ValidationError) {
        publisher.end('error', visible)
      } else publisher.end('stopped')
      throw error
    }
    publisher.opened(run.model)
    const feed = run.follow()
    entry.shared = { readers: 0, publisher, abandon: () => feed.abort() }
    void this.#publish(feed, publisher)
    return run
  }

  /** Writes what the run hands over to the shared log, until the answer is over. */
  async #publish(feed: AnswerSource, publisher: StreamPublisher): Promise<void> {
    let finished = false
    try {
      for (;;) {
        const events = await feed.read()
        if (events === undefined) break
        publisher.append(events)
        if (events[events.length - 1]?.type === 'finish') finished = true
      }
      publisher.end(finished ? 'complete' : 'stopped')
    } catch (error) {
      if (error instanceof APIError || error instanceof ValidationError) {
        publisher.end('error', error)
      } else publisher.end('stopped')
    }
  }

  /**
   * A reader of an answer this instance leads for others: when the last reader here has gone,
   * the answer is given up (its upstream aborted) once no instance reads it either.
   */
  #counted(source: AnswerSource, shared: NonNullable<RunningAnswer['shared']>): AnswerSource {
    shared.readers++
    let gone = false
    const check = async (): Promise<void> => {
      if (shared.readers > 0) return
      if (await shared.publisher.remoteReaders()) {
        this.config.clock.setTimeout(() => void check(), ABANDON_CHECK_MS)
      } else if (shared.readers === 0) shared.abandon()
    }
    return {
      get model() {
        return source.model
      },
      get closed() {
        return source.closed
      },
      read: () => source.read(),
      abort: () => {
        source.abort()
        if (gone) return
        gone = true
        if (--shared.readers === 0) void check()
      },
    }
  }

  /** A cached answer as a run (no upstream, no onChunk). */
  replay(answer: CachedAnswer): AnswerRun {
    return AnswerRun.replay(answer, {
      keepAnswer: false,
      toError: (error) => this.toVisible(error, answer.model) as APIError | ValidationError,
    })
  }

  /** The complete answer; identical concurrent requests (not `fresh`) share one upstream call. */
  async complete(
    request: ParsedRequest,
    key: string | undefined,
    fresh: boolean,
    signal: AbortSignal | undefined,
    trace?: RequestTelemetry,
  ): Promise<CachedAnswer> {
    let ran = false
    const run = async (runSignal: AbortSignal | undefined) => {
      ran = true
      return (await this.start(request, key, runSignal, undefined, true, trace)).collect()
    }
    if (!this.#cache || key === undefined || fresh) return run(signal)
    const answer = await this.#cache.dedupe(key, signal, run)
    // An identical request's call answered this one.
    if (!ran) trace?.coalesced()
    return answer
  }

  clearCache(): void | Promise<void> {
    return this.#cache?.clear()
  }

  /** What the caller sees: our own errors as they are (redacted), any other failure an APIError. */
  toVisible(error: unknown, model = this.config.model): unknown {
    if (isAbortError(error)) return error
    const visible =
      error instanceof ValidationError || error instanceof APIError
        ? error
        : toAPIError(error, model)
    return visible instanceof ValidationError || visible instanceof APIError
      ? redactError(visible, this.config.apiKey)
      : visible
  }

  /** Built on first use and kept (a misconfiguration is retried on each request). */
  #upstream(): Provider {
    this.#provider ??= defaultProvider(this.config)
    return this.#provider
  }
}
