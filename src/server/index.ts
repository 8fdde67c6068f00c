// Public entry of `copilotedge` and `copilotedge/server`: re-exports only.
export type * from '../shared/chat-types'
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
export type { CorsConfig } from './cors'
export { createCopilotEdgeHandler } from './create-handler'
export type { APIErrorOptions } from './errors'
export { APIError, ValidationError } from './errors'
export type { Authorize, GuardsConfig } from './guards'
export type { Logger } from './logger'
export type { CopilotEdgeMetrics } from './metrics'
export type { OpenAICompatibleProviderOptions } from './providers/openai-compatible'
export { createOpenAICompatibleProvider } from './providers/openai-compatible'
export type {
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
export type {
  RateLimitBucket,
  RateLimitConfig,
  RateLimitKey,
  RateLimitStore,
} from './rate-limit'
export { clientIp, createMemoryRateLimitStore } from './rate-limit'
export type { CachedAnswer, CacheStore } from './response-cache'
export { createMemoryCacheStore } from './response-cache'
export type { StreamingResponse } from './streaming-response'
