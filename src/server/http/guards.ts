import { type CorsConfig, createCors } from './cors'
import {
  createRateLimiter,
  type RateLimitConfig,
  type RateLimitDecision,
  retryAfterSeconds,
} from './rate-limit'

/** Decides whether a request may use the endpoint: `false` → 401, a `Response` is sent as is. */
export type Authorize = (request: Request) => boolean | Response | Promise<boolean | Response>

/** The abuse guards' part of the handler config. All are off unless configured. */
export interface GuardsConfig {
  /** Per-client token bucket. Default `false`: a library must not turn callers away by surprise. */
  rateLimit?: RateLimitConfig | false
  /**
   * Runs after the rate limit (so it is itself protected from floods), before the body is read. It
   * must not consume the body: to look at it, read `request.clone()`.
   */
  authorize?: Authorize
  /** Default `false`: same-origin only, as browsers enforce without CORS headers. */
  cors?: CorsConfig | false
}

export interface GuardOptions {
  /** Where a throwing `authorize` is reported. Default `console`. */
  logger?: { error(...args: unknown[]): void }
  /** The rate limiter's clock when `rateLimit.now` is not given (the engine passes its own). */
  now?: () => number
}

type Handler = (request: Request) => Promise<Response>

/**
 * Wraps the handler with the abuse guards, cheapest first and before the body is read:
 * CORS preflight → rate limit → `authorize` → the handler; CORS headers go on every answer, errors
 * and SSE included. Preflights are neither limited nor authorised (browsers send no credentials).
 * Cache hits count against the rate limit: the limit runs before anything else, so a flood is
 * turned away at the cheapest point, and a caller's quota never depends on what the cache holds.
 * With no guard configured the handler is returned as is.
 */
export function withGuards(
  config: GuardsConfig,
  handler: Handler,
  options: GuardOptions = {},
): Handler {
  const logger = options.logger ?? console
  const limiter = config.rateLimit
    ? createRateLimiter(options.now ? { now: options.now, ...config.rateLimit } : config.rateLimit)
    : null
  const cors = config.cors ? createCors(config.cors) : null
  const authorize = config.authorize
  if (!limiter && !cors && !authorize) return handler

  const guarded: Handler = async (request) => {
    if (limiter) {
      let decision: RateLimitDecision
      try {
        decision = await limiter.check(request)
      } catch (error) {
        // A failing store (Redis down) or key function must not take the endpoint down with it:
        // the request goes through, loudly. Like the response cache, the limiter fails open.
        logger.error('rate limit check failed; letting the request through:', errorText(error))
        decision = { allowed: true, key: null, remaining: 0 }
      }
      if (!decision.allowed) {
        const seconds = retryAfterSeconds(decision.retryAfterMs)
        return errorResponse(
          429,
          {
            message: `Rate limit exceeded: try again in ${seconds} s.`,
            type: 'rate_limit_error',
            code: 'rate_limited',
          },
          { 'Retry-After': String(seconds) },
        )
      }
    }
    if (authorize) {
      let verdict: boolean | Response
      try {
        verdict = await authorize(request)
      } catch (error) {
        logger.error('authorize threw; answering 500:', errorText(error))
        return errorResponse(500, {
          message: 'The server could not check authorization.',
          type: 'server_error',
          code: 'authorize_failed',
        })
      }
      if (verdict instanceof Response) return verdict
      if (verdict !== true) {
        return errorResponse(
          401,
          { message: 'Unauthorized.', type: 'invalid_request_error', code: 'unauthorized' },
          { 'WWW-Authenticate': 'Bearer' },
        )
      }
      if (request.bodyUsed) {
        // The handler could only answer "empty body" or worse: say what is actually wrong.
        logger.error(
          'authorize read the request body; it must read `request.clone()` instead. Answering 500.',
        )
        return errorResponse(500, {
          message: 'The server could not check authorization.',
          type: 'server_error',
          code: 'authorize_failed',
        })
      }
    }
    return handler(request)
  }

  if (!cors) return guarded
  return async (request) => {
    const preflight = cors.preflight(request)
    if (preflight) return preflight
    return cors.apply(request, await guarded(request))
  }
}

function errorResponse(
  status: number,
  error: { message: string; type: string; code: string },
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ error: { ...error, param: null } }), {
    status,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      ...headers,
    },
  })
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}
