import type { CacheStore } from './cache/response-cache'
import type { Clock } from './clock'
import { systemClock } from './clock'
import type { ResolvedResumeConfig, ResumeConfig } from './engine/resume-registry'
import { resolveResume } from './engine/resume-registry'
import type { StreamStore } from './engine/stream-store'
import type { CompressionSetting } from './http/compress-sse'
import type { GuardsConfig } from './http/guards'
import type { Logger } from './logger'
import type { ProtocolName } from './protocols/protocol'
import type { Provider } from './providers/provider'
import type { TelemetryConfig } from './telemetry/telemetry-config'

export const DEFAULT_MODEL = '@cf/meta/llama-3.1-8b-instruct'
export const DEFAULT_BASE_URL = 'https://api.cloudflare.com/client/v4'

export interface CacheConfig {
  /** Time to live of an answer, ms. Default 60_000. `0` turns caching off. */
  ttl?: number
  /** Most answers kept in memory. Default 1000. `0` turns caching off. */
  maxEntries?: number
  /** Most bytes of answers kept in memory (UTF-16 estimate). Default 16 MiB. `0` turns caching off. */
  maxBytes?: number
  /** A shared store (Redis, Workers KV) instead of the in-memory LRU. */
  store?: CacheStore
}

export interface RetryConfig {
  /** Attempts per model, the first included. Default 3. `0` or `1` means no retries. */
  maxAttempts?: number
  /** Backoff base, ms: attempt n waits random(0, min(maxDelayMs, baseDelayMs·2ⁿ)). Default 250. */
  baseDelayMs?: number
  /** Backoff cap, ms. Default 4000. */
  maxDelayMs?: number
  /** Longest upstream `Retry-After` waited for, ms; longer answers 429 at once. Default 10_000. */
  maxRetryAfterMs?: number
}

export interface LimitsConfig {
  /** Request body bytes. Default 1 MiB. */
  maxBodyBytes?: number
  /** Messages per request. Default 500. */
  maxMessages?: number
  /** Characters per message. Default 100_000. */
  maxMessageChars?: number
}

export interface GatewayConfig {
  id: string
  cacheTtl?: number
  skipCache?: boolean
}

/** The abuse guards (`rateLimit`, `authorize`, `cors`, all off by default) are in `GuardsConfig`. */
export interface CopilotEdgeConfig extends GuardsConfig {
  /** Cloudflare API token. Default: env `CLOUDFLARE_API_TOKEN`. */
  apiKey?: string
  /** Cloudflare account id. Default: env `CLOUDFLARE_ACCOUNT_ID`. */
  accountId?: string
  /** Default model. Default `@cf/meta/llama-3.1-8b-instruct`. */
  model?: string
  /** Models a request may name. Default `[model, fallback]`. */
  models?: string[]
  /** Model tried for one request when `model` is unavailable after its retries. */
  fallback?: string
  /** Stream when the request does not say. Default false. */
  stream?: boolean
  /** Called with every content delta, in order; awaited when it returns a promise. */
  onChunk?: (chunk: string) => void | Promise<void>
  /** Debug logging through `logger`. Default false. */
  debug?: boolean
  /** Where logs go (debug only when `debug`). Default `console`. The API key is redacted. */
  logger?: Logger
  /** Response cache, or `false` for none. */
  cache?: CacheConfig | false
  /** Retries before the first byte, or `false` for none. */
  retry?: RetryConfig | false
  /** Ms until the upstream's first event, per attempt. Default 30_000. `0`: no limit. */
  timeoutMs?: number
  /** Ms allowed between upstream events once streaming. Default 30_000. `0`: no limit. */
  idleTimeoutMs?: number
  /**
   * Ms between `: ping` comments while nothing else is sent. Default 5_000: under the 10 s idle
   * limit of Bun and of many proxies. `0`: none.
   */
  heartbeatMs?: number
  /** Request size limits (a `0` turns that limit off). */
  limits?: LimitsConfig
  /**
   * Workers AI REST base. Default: env `COPILOTEDGE_BASE_URL` (e.g. `npx copilotedge emulator`),
   * else `https://api.cloudflare.com/client/v4`.
   */
  baseURL?: string
  /** Cloudflare AI Gateway for the default provider. */
  gateway?: GatewayConfig
  /**
   * fetch used by the default provider. Default: `globalThis.fetch`, or on Node, while that is Node's
   * own, node:http with a keep-alive pool (the same requests, less CPU; README "The upstream on Node").
   */
  fetch?: typeof fetch
  /** The upstream. Default: the Workers AI REST provider built from the settings above. */
  provider?: Provider
  /**
   * Prefix caching: every turn of a conversation carries the same `x-session-affinity` (a hash of
   * the conversation id the client gave, else of the conversation's opening), so Workers AI serves
   * the repeated prompt prefix from its cache (REST and binding providers). Default true. `false`:
   * no header.
   */
  sessionAffinity?: boolean
  /**
   * The protocols the HTTP handler accepts (chosen per request by URL path, else body shape).
   * Default: all of them. Any other request gets a 400 naming what this endpoint speaks.
   */
  protocols?: ProtocolName[]
  /**
   * SSE answers compressed (gzip, br or zstd, as the request's `Accept-Encoding` allows) with a
   * flush per batch of events, on runtimes with `node:zlib` (Node ≥ 20.16, Bun, Deno; not on
   * Cloudflare Workers) with `'auto'`. Default `false`: off, because Next.js route handlers drop a
   * response's `Content-Encoding` (the browser would get compressed bytes it cannot read) and it
   * costs ~10x the handler's own CPU per event. One request opts out with
   * `X-CopilotEdge-Compression: off` (or `Accept-Encoding: identity`).
   */
  compression?: CompressionSetting
  /**
   * Resumable streams: each Chat Completions stream is kept (bounded) under the id sent in
   * `X-CopilotEdge-Stream-Id`; `GET ?stream=<id>` with `Last-Event-ID` continues it, `DELETE
   * ?stream=<id>` stops it, and a dropped connection no longer aborts the upstream at once (it
   * runs on for `graceMs`). Default false.
   */
  resume?: boolean | ResumeConfig
  /**
   * OpenTelemetry spans and metrics per the GenAI semantic conventions (README "Observability"):
   * `true` uses the globally registered providers, or give a `tracer`/`meter`. Default off. Never
   * the prompt or the answer unless `recordContent`; never the key.
   */
  telemetry?: boolean | TelemetryConfig
  /**
   * Streaming answers shared between instances (`createRedisStreamStore({ client })`): identical
   * concurrent streams on any instance make one upstream call (with a cache), and with `resume` a
   * stream can be resumed or stopped on any instance. Default: none (per instance).
   */
  streams?: StreamStore
  /**
   * On Cloudflare Workers, `waitUntil` from `cloudflare:workers` (or `ctx.waitUntil`). Identical
   * requests read one answer, and on workerd its upstream call belongs to the request that opened
   * it: with `waitUntil`, that answer goes on for the others when the opener's client leaves;
   * without, workerd ends it, and the others get a 504 `idle_timeout` after `idleTimeoutMs`. Not
   * needed elsewhere.
   */
  waitUntil?: (promise: Promise<unknown>) => void
  /** Time, timers and randomness (tests). Default: the system's. */
  clock?: Clock
}

/** Every setting with its default applied. `0`/`false` stay off; only `undefined` takes a default. */
export interface ResolvedConfig {
  apiKey: string | undefined
  accountId: string | undefined
  model: string
  fallback: string | undefined
  models: ReadonlySet<string>
  stream: boolean
  onChunk: ((chunk: string) => void | Promise<void>) | undefined
  debug: boolean
  cache: { ttl: number; maxEntries: number; maxBytes: number; store?: CacheStore } | false
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number; maxRetryAfterMs: number }
  timeoutMs: number
  idleTimeoutMs: number
  heartbeatMs: number
  limits: { maxBodyBytes: number; maxMessages: number; maxMessageChars: number }
  baseURL: string
  gateway: GatewayConfig | undefined
  fetch: typeof fetch | undefined
  provider: Provider | undefined
  sessionAffinity: boolean
  protocols: ReadonlySet<ProtocolName> | undefined
  compression: CompressionSetting
  resume: ResolvedResumeConfig | false
  telemetry: TelemetryConfig | undefined
  streams: StreamStore | undefined
  waitUntil: ((promise: Promise<unknown>) => void) | undefined
  clock: Clock
}

function env(name: string): string | undefined {
  // `process` does not exist in Workers without nodejs_compat.
  const value = typeof process === 'undefined' ? undefined : process.env?.[name]
  return nonEmpty(value)
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value
}

function count(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`copilotedge: ${name} must be a number ≥ 0, got ${String(value)}`)
  }
  return value
}

function compressionSetting(value: CompressionSetting | undefined): CompressionSetting {
  if (value === undefined || value === 'auto' || value === false) return value ?? false
  throw new TypeError(`copilotedge: compression must be 'auto' or false, got ${String(value)}`)
}

export function resolveConfig(config: CopilotEdgeConfig = {}): ResolvedConfig {
  const model = config.model ?? DEFAULT_MODEL
  const fallback = config.fallback === model ? undefined : config.fallback
  const models = new Set(config.models ?? [model, ...(fallback ? [fallback] : [])])
  const cache = config.cache === false ? false : (config.cache ?? {})
  const retry = config.retry === false ? { maxAttempts: 1 } : (config.retry ?? {})
  const limits = config.limits ?? {}
  const resolvedCache =
    cache === false
      ? false
      : {
          ttl: count(cache.ttl, 60_000, 'cache.ttl'),
          maxEntries: count(cache.maxEntries, 1000, 'cache.maxEntries'),
          maxBytes: count(cache.maxBytes, 16 * 1024 * 1024, 'cache.maxBytes'),
          ...(cache.store ? { store: cache.store } : {}),
        }
  return {
    // An empty string is "not set" (e.g. `process.env.X` of an unset variable in some hosts).
    apiKey: nonEmpty(config.apiKey) ?? env('CLOUDFLARE_API_TOKEN'),
    accountId: nonEmpty(config.accountId) ?? env('CLOUDFLARE_ACCOUNT_ID'),
    model,
    fallback,
    models,
    stream: config.stream ?? false,
    onChunk: config.onChunk,
    debug: config.debug ?? false,
    cache:
      resolvedCache &&
      (resolvedCache.ttl === 0 || resolvedCache.maxEntries === 0 || resolvedCache.maxBytes === 0)
        ? false
        : resolvedCache,
    retry: {
      maxAttempts: Math.max(1, Math.floor(count(retry.maxAttempts, 3, 'retry.maxAttempts'))),
      baseDelayMs: count(retry.baseDelayMs, 250, 'retry.baseDelayMs'),
      maxDelayMs: count(retry.maxDelayMs, 4000, 'retry.maxDelayMs'),
      maxRetryAfterMs: count(retry.maxRetryAfterMs, 10_000, 'retry.maxRetryAfterMs'),
    },
    timeoutMs: count(config.timeoutMs, 30_000, 'timeoutMs'),
    idleTimeoutMs: count(config.idleTimeoutMs, 30_000, 'idleTimeoutMs'),
    heartbeatMs: count(config.heartbeatMs, 5_000, 'heartbeatMs'),
    limits: {
      maxBodyBytes: count(limits.maxBodyBytes, 1024 * 1024, 'limits.maxBodyBytes'),
      maxMessages: count(limits.maxMessages, 500, 'limits.maxMessages'),
      maxMessageChars: count(limits.maxMessageChars, 100_000, 'limits.maxMessageChars'),
    },
    baseURL: nonEmpty(config.baseURL) ?? env('COPILOTEDGE_BASE_URL') ?? DEFAULT_BASE_URL,
    gateway: config.gateway,
    fetch: config.fetch,
    provider: config.provider,
    sessionAffinity: config.sessionAffinity ?? true,
    protocols: config.protocols ? new Set(config.protocols) : undefined,
    compression: compressionSetting(config.compression),
    resume: resolveResume(config.resume),
    telemetry: config.telemetry === true ? {} : config.telemetry || undefined,
    streams: config.streams,
    waitUntil: config.waitUntil,
    clock: config.clock ?? systemClock,
  }
}
