// Public entry of `copilotedge/client`: re-exports only. Never import from src/server here.
export type * from '../shared/chat-types'
