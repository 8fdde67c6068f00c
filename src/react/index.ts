'use client'
// The client's errors, from the client entry itself: one class each, so `instanceof` works on the
// hook's `error` whichever entry the class was imported from.
export {
  CopilotBufferOverflowError,
  CopilotContentTypeError,
  CopilotHTTPError,
  CopilotParseError,
  CopilotReconnectError,
  CopilotStreamError,
  CopilotTruncatedError,
} from 'copilotedge/client'
// Public entry of `copilotedge/react`: re-exports only. Never import from src/server here.
export type * from '../shared/chat-types'
export type { ConversationState, CopilotStatus, SendInput } from './conversation-store'
export {
  type UseCopilotStreamOptions,
  type UseCopilotStreamResult,
  useCopilotStream,
} from './use-copilot-stream'
