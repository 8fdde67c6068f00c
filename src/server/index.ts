// Public entry of `copilotedge` and `copilotedge/server`: re-exports only.
export type * from '../shared/chat-types'
export type { CachedAnswer, CacheStore } from './cache/response-cache'
export { createMemoryCacheStore } from './cache/response-cache'
export type { Clock } from './clock'
export type {
  CacheConfig,
  CopilotEdgeConfig,
  GatewayConfig,
  LimitsConfig,
  RetryConfig,
} from './config'
export { DEFAULT_MODEL } from './config'
export type { CopilotEdgeHandler, HandleRequestOptions, HandleRequestResult } from './copilot-edge'
export { CopilotEdge } from './copilot-edge'
export type { ResumeConfig } from './engine/resume-registry'
export type {
  PublishOptions,
  SharedStream,
  StreamClaim,
  StreamHead,
  StreamPublisher,
  StreamStore,
} from './engine/stream-store'
export type { StreamingResponse } from './engine/streaming-response'
export type { APIErrorOptions } from './errors'
export { APIError, ValidationError } from './errors'
export type { CorsConfig } from './http/cors'
export { createCopilotEdgeHandler } from './http/create-handler'
export type { Authorize, GuardsConfig } from './http/guards'
export type {
  RateLimitBucket,
  RateLimitConfig,
  RateLimitKey,
  RateLimitStore,
  RateLimitTake,
  RateLimitTaken,
} from './http/rate-limit'
export { clientIp, createMemoryRateLimitStore } from './http/rate-limit'
export type { CopilotEdgeRoute } from './http/route-handlers'
export { createCopilotEdgeRoute } from './http/route-handlers'
export type { Logger } from './logger'
export type { CopilotEdgeMetrics } from './metrics'
export type { ProtocolName } from './protocols/protocol'
export type { OpenAICompatibleProviderOptions } from './providers/openai-compatible'
export { createOpenAICompatibleProvider } from './providers/openai-compatible'
export type {
  CompletingProvider,
  CompletionResult,
  GenerationParams,
  Provider,
  ProviderRequest,
  UpstreamBatchIterator,
  UpstreamEvent,
} from './providers/provider'
export { UpstreamError } from './providers/provider'
export type {
  WorkersAIGatewayOptions,
  WorkersAIProviderOptions,
  WorkersAIRoute,
} from './providers/workers-ai'
export { createWorkersAIProvider } from './providers/workers-ai'
export type {
  WorkersAIBinding,
  WorkersAIBindingGateway,
  WorkersAIBindingProviderOptions,
  WorkersAIBindingRunOptions,
} from './providers/workers-ai-binding'
export { createWorkersAIBindingProvider } from './providers/workers-ai-binding'
export type { CacheAPIStoreOptions } from './stores/cloudflare/cache-api-store'
export { createCacheAPIStore } from './stores/cloudflare/cache-api-store'
export type {
  CacheLike,
  DurableObjectNamespaceLike,
  DurableObjectStateLike,
  KVNamespaceLike,
} from './stores/cloudflare/cloudflare-bindings'
export { CopilotEdgeCoordinator } from './stores/cloudflare/copilot-edge-coordinator'
export type { DurableObjectRateLimitStoreOptions } from './stores/cloudflare/durable-object-rate-limit-store'
export { createDurableObjectRateLimitStore } from './stores/cloudflare/durable-object-rate-limit-store'
export type { DurableObjectStreamStoreOptions } from './stores/cloudflare/durable-object-stream-store'
export {
  CoordinatorError,
  createDurableObjectStreamStore,
} from './stores/cloudflare/durable-object-stream-store'
export type { KVCacheStoreOptions } from './stores/cloudflare/kv-cache-store'
export { createKVCacheStore } from './stores/cloudflare/kv-cache-store'
export type { RedisCacheStoreOptions } from './stores/redis/redis-cache-store'
export { createRedisCacheStore } from './stores/redis/redis-cache-store'
export type {
  IORedisClientLike,
  NodeRedisClientLike,
  RedisClientLike,
} from './stores/redis/redis-client'
export type { RedisRateLimitStoreOptions } from './stores/redis/redis-rate-limit-store'
export { createRedisRateLimitStore } from './stores/redis/redis-rate-limit-store'
export type {
  RedisStreamStore,
  RedisStreamStoreOptions,
} from './stores/redis/redis-stream-store'
export { createRedisStreamStore } from './stores/redis/redis-stream-store'
export type { StoreCircuit, StoreCircuitOptions, StoreCircuitState } from './stores/store-circuit'
export { createStoreCircuit } from './stores/store-circuit'
export { StoreTimeoutError, StoreUnavailableError } from './stores/store-errors'
export type { Fallible } from './stores/with-fallback'
export { withFallback } from './stores/with-fallback'
export type { TelemetryMeter, TelemetrySpan, TelemetryTracer } from './telemetry/otel-types'
export type { TelemetryConfig } from './telemetry/telemetry-config'
