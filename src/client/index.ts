// Public entry of `copilotedge/client`: re-exports only. Never import from src/server here.
export type * from '../shared/chat-types'
export {
  CopilotBufferOverflowError,
  CopilotContentTypeError,
  CopilotHTTPError,
  CopilotParseError,
  CopilotReconnectError,
  CopilotStreamError,
  CopilotTruncatedError,
} from './errors'
export { DEFAULT_MAX_BUFFER_SIZE, type ReadSSEOptions, readSSE, type SSEEvent } from './read-sse'
export type { ReconnectOptions, ReconnectTimers } from './reconnect'
export { stopOnAbort } from './stop-on-abort'
export {
  type CopilotStream,
  type ResumeTarget,
  type StreamCopilotOptions,
  streamCopilot,
} from './stream-copilot'
export { STREAM_ID_HEADER } from './stream-endpoint'
