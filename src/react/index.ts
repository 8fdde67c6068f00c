'use client'
// Public entry of `copilotedge/react`: re-exports only. Never import from src/server here.
export type * from '../shared/chat-types'
