'use client'
// The client's errors, so `instanceof` works on the hook's `error` (this bundle has its own copy).
export {
  CopilotBufferOverflowError,
  CopilotContentTypeError,
  CopilotHTTPError,
  CopilotParseError,
  CopilotStreamError,
  CopilotTruncatedError,
} from '../client/errors'
// Public entry of `copilotedge/react`: re-exports only. Never import from src/server here.
export type * from '../shared/chat-types'
export type { ConversationState, CopilotStatus, SendInput } from './conversation-store'
export {
  type UseCopilotStreamOptions,
  type UseCopilotStreamResult,
  useCopilotStream,
} from './use-copilot-stream'
