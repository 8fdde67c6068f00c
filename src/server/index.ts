// Public entry of `copilotedge` and `copilotedge/server`: re-exports only.
export type * from '../shared/chat-types'
export type {
  CompletionResult,
  GenerationParams,
  Provider,
  ProviderRequest,
  UpstreamEvent,
} from './providers/provider'
export { UpstreamError } from './providers/provider'
export type {
  WorkersAIGatewayOptions,
  WorkersAIProviderOptions,
  WorkersAIRoute,
} from './providers/workers-ai'
export { createWorkersAIProvider } from './providers/workers-ai'
