import type { ChatCompletion, ChatRequest } from '../shared/chat-types'
import type { CopilotEdgeConfig, ResolvedConfig } from './config'
import { resolveConfig } from './config'
import { AnswerEngine } from './engine/answer-engine'
import type { StreamingResponse } from './engine/streaming-response'
import { createStreamingResponse } from './engine/streaming-response'
import { withGuards } from './http/guards'
import { createHttpHandler } from './http/serve'
import { createLogger } from './logger'
import type { CopilotEdgeMetrics } from './metrics'
import { completionId, toChatCompletion } from './protocols/chat-completions/chat-completion'
import { validateRequest } from './protocols/chat-completions/validate-request'
import type { RequestTelemetry } from './telemetry/request-telemetry'
import { tracedSource } from './telemetry/traced-source'

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

export class CopilotEdge<DefaultStream extends boolean = false> {
  readonly #config: ResolvedConfig
  readonly #engine: AnswerEngine
  /** The HTTP front door behind the abuse guards (rate limit, authorize, CORS), built once. */
  readonly #handler: CopilotEdgeHandler

  /** Never throws for missing credentials: that is answered per request (502), so `next build` works. */
  constructor(config: CopilotEdgeConfig & { stream?: DefaultStream } = {}) {
    this.#config = resolveConfig(config)
    const logger = createLogger(config.logger ?? console, {
      debug: this.#config.debug,
      ...(this.#config.apiKey ? { secret: this.#config.apiKey } : {}),
    })
    this.#engine = new AnswerEngine(this.#config, logger)
    this.#handler = withGuards(config, createHttpHandler(this.#engine, this.#config.protocols), {
      logger,
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
    const engine = this.#engine
    const { clock } = this.#config
    const started = clock.now()
    engine.metrics.requests++
    let trace: RequestTelemetry | undefined
    try {
      const request = validateRequest(body, this.#config)
      const id = completionId()
      const created = Math.floor(started / 1000)
      const fresh = !request.cacheLookup
      const { key, hit } = await engine.lookup(request, fresh)
      trace = engine.telemetry?.request({
        started,
        protocol: 'handle-request',
        request,
        stream: request.stream,
        id,
        cacheHit: key === undefined ? undefined : hit !== undefined,
      })
      let result: ChatCompletion | StreamingResponse
      if (!request.stream) {
        const answer = hit ?? (await engine.complete(request, key, fresh, options.signal, trace))
        trace?.complete(answer)
        result = toChatCompletion(answer, id, created)
      } else {
        const run = hit
          ? engine.replay(hit)
          : await engine.start(request, key, options.signal, undefined, undefined, trace)
        result = createStreamingResponse(
          id,
          created,
          trace ? tracedSource(run, trace, 'client_abort') : run,
        )
      }
      engine.metrics.latency(clock.now() - started)
      return result as HandleRequestResult<B, DefaultStream>
    } catch (error) {
      engine.metrics.errors++
      const visible = engine.toVisible(error)
      trace?.fail(visible, 'client_abort')
      engine.logger.debug('handleRequest failed:', visible)
      throw visible
    }
  }

  /** The Fetch handler. Build it once per module: `export const POST = handler`. */
  createNextHandler(): CopilotEdgeHandler {
    return this.#handler
  }

  getMetrics(): CopilotEdgeMetrics {
    return this.#engine.metrics.snapshot()
  }

  async clearCache(): Promise<void> {
    await this.#engine.clearCache()
  }
}
