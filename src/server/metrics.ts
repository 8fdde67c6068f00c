import type { Usage } from '../shared/chat-types'

export interface CopilotEdgeMetrics {
  /** Requests handled (HTTP and `handleRequest`). */
  requests: number
  cacheHits: number
  cacheMisses: number
  /** cacheHits / (cacheHits + cacheMisses), 0 when nothing was looked up. */
  cacheHitRate: number
  /** Requests that ended in an error (an error status, a thrown error or an in-stream error). */
  errors: number
  /** Upstream attempts repeated after a retryable failure. */
  retries: number
  /** Requests answered (or attempted) with the fallback model. */
  fallbacks: number
  /** Streaming requests that joined an identical request's running answer (no upstream call). */
  coalesced: number
  /** Streams currently open downstream. */
  activeStreams: number
  /** Prompt tokens of the upstream answers that reported usage (cache replays cost none). */
  promptTokens: number
  /** Of `promptTokens`, those the upstream served from its prompt (prefix) cache. */
  cachedPromptTokens: number
  /** cachedPromptTokens / promptTokens, 0 before any usage was reported. */
  cachedPromptShare: number
  /** Time to the answer's first byte (headers for HTTP, the result for `handleRequest`), ms. */
  latency: { count: number; averageMs: number; p50Ms: number; p95Ms: number }
}

const WINDOW = 1024

/** Counters plus a ring of the last 1024 latencies (percentiles computed on read, not per request). */
export class MetricsRecorder {
  requests = 0
  cacheHits = 0
  cacheMisses = 0
  errors = 0
  retries = 0
  fallbacks = 0
  coalesced = 0
  activeStreams = 0
  promptTokens = 0
  cachedPromptTokens = 0
  #latencies = new Float64Array(WINDOW)
  #latencyCount = 0

  /** An upstream answer's usage (`prompt_tokens_details.cached_tokens` when it said). */
  usage(usage: Usage): void {
    this.promptTokens += usage.prompt_tokens
    this.cachedPromptTokens += usage.prompt_tokens_details?.cached_tokens ?? 0
  }

  latency(ms: number): void {
    this.#latencies[this.#latencyCount % WINDOW] = ms
    this.#latencyCount++
  }

  snapshot(): CopilotEdgeMetrics {
    const n = Math.min(this.#latencyCount, WINDOW)
    const sorted = Array.from(this.#latencies.subarray(0, n)).sort((a, b) => a - b)
    const pick = (q: number) => (n === 0 ? 0 : (sorted[Math.min(n - 1, Math.floor(q * n))] ?? 0))
    const looked = this.cacheHits + this.cacheMisses
    return {
      requests: this.requests,
      cacheHits: this.cacheHits,
      cacheMisses: this.cacheMisses,
      cacheHitRate: looked === 0 ? 0 : this.cacheHits / looked,
      errors: this.errors,
      retries: this.retries,
      fallbacks: this.fallbacks,
      coalesced: this.coalesced,
      activeStreams: this.activeStreams,
      promptTokens: this.promptTokens,
      cachedPromptTokens: this.cachedPromptTokens,
      cachedPromptShare: this.promptTokens === 0 ? 0 : this.cachedPromptTokens / this.promptTokens,
      latency: {
        count: this.#latencyCount,
        averageMs: n === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / n,
        p50Ms: pick(0.5),
        p95Ms: pick(0.95),
      },
    }
  }
}
