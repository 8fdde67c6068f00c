// Public entry of `copilotedge/client`: re-exports only. Never import from src/server here.
export type * from '../shared/chat-types'
export {
  CopilotBufferOverflowError,
  CopilotContentTypeError,
  CopilotHTTPError,
  CopilotParseError,
  CopilotStreamError,
  CopilotTruncatedError,
} from './errors'
export { DEFAULT_MAX_BUFFER_SIZE, type ReadSSEOptions, readSSE, type SSEEvent } from './read-sse'
export { type CopilotStream, type StreamCopilotOptions, streamCopilot } from './stream-copilot'
