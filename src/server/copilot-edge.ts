import type { ChatCompletion, ChatRequest } from '../shared/chat-types'
import { AnswerBuilder } from './answer-builder'
import { cacheKey } from './cache-key'
import { completionId, toChatCompletion } from './chat-completion'
import type { CopilotEdgeConfig, ResolvedConfig } from './config'
import { resolveConfig } from './config'
import { defaultProvider } from './default-provider'
import { APIError, isAbortError, redactError, ValidationError } from './errors'
import { withGuards } from './guards'
import { errorResponse, jsonResponse, methodNotAllowed } from './http-response'
import type { Logger } from './logger'
import { createLogger } from './logger'
import { toAPIError } from './map-upstream-error'
import type { CopilotEdgeMetrics } from './metrics'
import { MetricsRecorder } from './metrics'
import type { Provider } from './providers/provider'
import { readJsonBody } from './read-body'
import type { CachedAnswer } from './response-cache'
import { createMemoryCacheStore, ResponseCache } from './response-cache'
import { safeOnChunk } from './safe-on-chunk'
import { replaySse } from './sse-replay'
import { liveSseStream, SSE_HEADERS } from './sse-response'
import type { StreamingResponse } from './streaming-response'
import { createStreamingResponse } from './streaming-response'
import type { UpstreamSession } from './upstream-session'
import { ClientAbort, openUpstream } from './upstream-session'
import type { ParsedRequest } from './validate-request'
import { validateRequest } from './validate-request'

export interface HandleRequestOptions {
  /** Aborting it aborts the upstream request at once. */
  signal?: AbortSignal
}

/** A Fetch handler: `export const POST = handler` in Next.js, or a Worker's `fetch`. */
export type CopilotEdgeHandler = (request: Request) => Promise<Response>

type Body = ChatRequest | Record<string, unknown>

/**
 * What `handleRequest(body)` resolves to, from the body's `stream` and the config's default (one
 * generic signature rather than overloads, which TypeScript resolves poorly for typed variables).
 */
export type HandleRequestResult<B, DefaultStream extends boolean> = B extends { stream: true }
  ? StreamingResponse
  : B extends { stream: false }
    ? ChatCompletion
    : B extends { stream: boolean }
      ? ChatCompletion | StreamingResponse
      : DefaultStream extends true
        ? StreamingResponse
        : ChatCompletion

const NO_CACHE = /(?:^|,)\s*no-(?:cache|store)\s*(?:,|$)/i

export class CopilotEdge<DefaultStream extends boolean = false> {
  readonly #config: ResolvedConfig
  readonly #logger: Logger
  readonly #metrics = new MetricsRecorder()
  readonly #cache: ResponseCache | undefined
  readonly #onChunk: (text: string) => void | Promise<void>
  #upstream: Provider | undefined
  /** `#serve` behind the abuse guards (rate limit, authorize, CORS), built once: one set of buckets. */
  readonly #handler: CopilotEdgeHandler

  /** Never throws for missing credentials: that is answered per request (502), so `next build` works. */
  constructor(config: CopilotEdgeConfig & { stream?: DefaultStream } = {}) {
    this.#config = resolveConfig(config)
    this.#logger = createLogger(config.logger ?? console, {
      debug: this.#config.debug,
      ...(this.#config.apiKey ? { secret: this.#config.apiKey } : {}),
    })
    this.#onChunk = safeOnChunk(this.#config.onChunk, this.#logger)
    const cache = this.#config.cache
    if (cache) {
      const store = cache.store ?? createMemoryCacheStore(cache)
      this.#cache = new ResponseCache(store, cache.ttl, (error) =>
        this.#logger.warn('cache store failed; treating as a miss:', error),
      )
    }
    this.#handler = withGuards(config, (request) => this.#serve(request), {
      logger: this.#logger,
      now: () => this.#config.clock.now(),
    })
  }

  /**
   * Answers one chat request. Non-streaming: an OpenAI `chat.completion`. Streaming (the request's
   * `stream: true`, or the config's `stream` unless the request says `stream: false`): a
   * StreamingResponse, returned once the upstream's first event arrived. Throws ValidationError
   * (bad input) or APIError (upstream failure, with `status`).
   */
  async handleRequest<B extends Body>(
    body: B,
    options: HandleRequestOptions = {},
  ): Promise<HandleRequestResult<B, DefaultStream>> {
    const started = this.#config.clock.now()
    this.#metrics.requests++
    try {
      const request = validateRequest(body, this.#config)
      const id = completionId()
      const created = Math.floor(started / 1000)
      const { key, hit } = await this.#lookup(request, !request.cacheLookup)
      let result: ChatCompletion | StreamingResponse
      if (hit) {
        result = request.stream
          ? this.#streamingResponse(request, key, id, created, hit)
          : toChatCompletion(hit, id, created)
      } else if (!request.stream) {
        const answer = await this.#complete(request, key, !request.cacheLookup, options.signal)
        result = toChatCompletion(answer, id, created)
      } else {
        const session = await this.#open(request, options.signal)
        result = this.#streamingResponse(request, key, id, created, session)
      }
      this.#metrics.latency(this.#config.clock.now() - started)
      return result as HandleRequestResult<B, DefaultStream>
    } catch (error) {
      this.#metrics.errors++
      const visible = this.#toVisible(error)
      this.#logger.debug('handleRequest failed:', visible)
      throw visible
    }
  }

  /** The Fetch handler (`POST` only). Build it once per module: `export const POST = handler`. */
  createNextHandler(): CopilotEdgeHandler {
    return this.#handler
  }

  getMetrics(): CopilotEdgeMetrics {
    return this.#metrics.snapshot()
  }

  async clearCache(): Promise<void> {
    await this.#cache?.clear()
  }

  /**
   * The HTTP pipeline, in order: method → body → validation → cache → upstream → response.
   * Guards (rate limit, authorize, CORS) belong at the very start, before the body is read.
   */
  async #serve(httpRequest: Request): Promise<Response> {
    const { clock } = this.#config
    const started = clock.now()
    this.#metrics.requests++
    if (httpRequest.method !== 'POST') {
      this.#metrics.errors++
      return methodNotAllowed(httpRequest.method)
    }
    // Aborted by the client's disconnect or by cancelling the response body.
    const abort = new AbortController()
    const onClientAbort = () => abort.abort(new ClientAbort())
    httpRequest.signal?.addEventListener('abort', onClientAbort, { once: true })
    let live = false
    try {
      const body = await readJsonBody(httpRequest, this.#config.limits.maxBodyBytes)
      const request = validateRequest(body, this.#config)
      const fresh =
        !request.cacheLookup || NO_CACHE.test(httpRequest.headers.get('cache-control') ?? '')
      const id = completionId()
      const created = Math.floor(started / 1000)
      const { key, hit } = await this.#lookup(request, fresh)
      const headers = (cache: 'HIT' | 'MISS', model?: string): Record<string, string> => {
        const latency = `${Math.round(clock.now() - started)}ms`
        if (this.#config.debug) {
          this.#logger.debug(
            `${request.stream ? 'stream' : 'json'} ${cache} model=${model ?? request.model} first byte ${latency}`,
          )
        }
        return {
          'X-Cache': cache,
          ...(model ? { 'X-CopilotEdge-Model': model } : {}),
          'X-CopilotEdge-Latency': latency,
        }
      }

      if (hit) {
        this.#metrics.latency(clock.now() - started)
        if (!request.stream) {
          return jsonResponse(toChatCompletion(hit, id, created), 200, headers('HIT', hit.model))
        }
        const bytes = replaySse(hit, id, created, request.includeUsage)
        return new Response(bytes, { headers: { ...SSE_HEADERS, ...headers('HIT', hit.model) } })
      }

      if (!request.stream) {
        const answer = await this.#complete(request, key, fresh, abort.signal)
        this.#metrics.latency(clock.now() - started)
        return jsonResponse(
          toChatCompletion(answer, id, created),
          200,
          headers('MISS', answer.model),
        )
      }

      // Wait for the first upstream event so a failure before it gets a truthful status; past
      // heartbeatMs, start the 200 SSE response and keep the connection alive with pings instead.
      const opening = this.#open(request, abort.signal)
      opening.catch(() => {})
      const session = await this.#firstByteOrHeartbeat(opening)
      const stream = liveSseStream({
        session: session ?? opening,
        id,
        created,
        includeUsage: request.includeUsage,
        keepAnswer: key !== undefined,
        heartbeatMs: this.#config.heartbeatMs,
        clock,
        onChunk: this.#onChunk,
        onComplete: (answer) => {
          if (key !== undefined) this.#cache?.set(key, answer)
        },
        toError: (error) => this.#toVisible(error, request.model) as APIError | ValidationError,
        onClose: (outcome, error) => {
          this.#metrics.activeStreams--
          httpRequest.signal?.removeEventListener('abort', onClientAbort)
          if (outcome === 'error') {
            this.#metrics.errors++
            this.#logger.debug('stream ended with an error:', error)
          }
        },
        abort: () => abort.abort(new ClientAbort()),
      })
      live = true
      this.#metrics.activeStreams++
      this.#metrics.latency(clock.now() - started)
      return new Response(stream, {
        headers: { ...SSE_HEADERS, ...headers('MISS', session?.model) },
      })
    } catch (error) {
      this.#metrics.errors++
      if (abort.signal.aborted) {
        // The client is gone; nobody reads this answer.
        return jsonResponse(
          {
            error: {
              message: 'Client closed request.',
              type: 'invalid_request_error',
              code: 'client_closed_request',
              param: null,
            },
          },
          499,
        )
      }
      const visible = this.#toVisible(error)
      if (visible instanceof ValidationError || visible instanceof APIError) {
        this.#logger.debug(`answered ${visible.status}:`, visible.message)
        return errorResponse(visible)
      }
      this.#logger.error('unexpected failure:', visible)
      return jsonResponse(
        {
          error: {
            message: 'Internal error.',
            type: 'server_error',
            code: 'internal_error',
            param: null,
          },
        },
        500,
      )
    } finally {
      if (!live) httpRequest.signal?.removeEventListener('abort', onClientAbort)
    }
  }

  /** Resolves to the session when it opens within heartbeatMs, else undefined (start pinging). */
  async #firstByteOrHeartbeat(
    opening: Promise<UpstreamSession>,
  ): Promise<UpstreamSession | undefined> {
    const { heartbeatMs, clock } = this.#config
    if (heartbeatMs <= 0) return opening
    let timer: unknown
    const late = new Promise<undefined>((resolve) => {
      timer = clock.setTimeout(() => resolve(undefined), heartbeatMs)
    })
    try {
      return await Promise.race([opening, late])
    } finally {
      clock.clearTimeout(timer)
    }
  }

  /** Looks the request up (unless `fresh`), counting hits and misses. */
  async #lookup(
    request: ParsedRequest,
    fresh: boolean,
  ): Promise<{ key: string | undefined; hit: CachedAnswer | undefined }> {
    if (!this.#cache) return { key: undefined, hit: undefined }
    const key = cacheKey(request.model, request.messages, request.params)
    const hit = fresh ? undefined : await this.#cache.get(key)
    if (hit) this.#metrics.cacheHits++
    else this.#metrics.cacheMisses++
    return { key, hit }
  }

  /** A complete answer for a non-stream request; identical concurrent ones share one upstream call. */
  #complete(
    request: ParsedRequest,
    key: string | undefined,
    fresh: boolean,
    signal: AbortSignal | undefined,
  ): Promise<CachedAnswer> {
    const run = async (runSignal: AbortSignal | undefined) => {
      const session = await this.#open(request, runSignal)
      const builder = new AnswerBuilder(session.model)
      for (;;) {
        const event = await session.next()
        if (event === undefined) break
        builder.add(event)
        if (event.type === 'text' && event.text !== '') {
          const pending = this.#onChunk(event.text)
          if (pending) await pending
        }
        if (event.type === 'finish') {
          session.release()
          break
        }
      }
      if (!builder.complete) throw new Error('The upstream stream ended without a finish_reason.')
      const answer = builder.build()
      if (key !== undefined) this.#cache?.set(key, answer)
      return answer
    }
    if (this.#cache && key !== undefined && !fresh) return this.#cache.dedupe(key, signal, run)
    return run(signal)
  }

  #open(request: ParsedRequest, signal: AbortSignal | undefined): Promise<UpstreamSession> {
    const config = this.#config
    const models = [request.model]
    if (config.fallback && config.fallback !== request.model) models.push(config.fallback)
    return openUpstream({
      provider: this.#provider(),
      models,
      messages: request.messages,
      params: request.params,
      signal,
      retry: config.retry,
      timeoutMs: config.timeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
      clock: config.clock,
      logger: this.#logger,
      onRetry: () => this.#metrics.retries++,
      onFallback: () => this.#metrics.fallbacks++,
    })
  }

  #streamingResponse(
    request: ParsedRequest,
    key: string | undefined,
    id: string,
    created: number,
    source: UpstreamSession | CachedAnswer,
  ): StreamingResponse {
    return createStreamingResponse({
      id,
      created,
      source,
      onChunk: this.#onChunk,
      onComplete: (answer) => {
        if (key !== undefined) this.#cache?.set(key, answer)
      },
      toError: (error) => this.#toVisible(error, request.model),
      onClose: (outcome, error) => {
        if (outcome === 'error') {
          this.#metrics.errors++
          this.#logger.debug('stream ended with an error:', error)
        }
      },
    })
  }

  /** Built on first use and kept (a misconfiguration is retried on each request). */
  #provider(): Provider {
    this.#upstream ??= defaultProvider(this.#config)
    return this.#upstream
  }

  /** What the caller sees: our own errors as they are, any other failure as an APIError. */
  #toVisible(error: unknown, model = this.#config.model): unknown {
    if (isAbortError(error)) return error
    const visible =
      error instanceof ValidationError || error instanceof APIError
        ? error
        : toAPIError(error, model)
    return visible instanceof ValidationError || visible instanceof APIError
      ? redactError(visible, this.#config.apiKey)
      : visible
  }
}
