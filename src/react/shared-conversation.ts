import type { Cache } from 'swr'
import type { ChatMessage } from '../shared/chat-types'
import { ConversationStore } from './conversation-store'

// Our entries live in SWR's cache under this prefix, one per conversation `id`. They are plain cache
// entries without `_k`, so SWR's key-filter `mutate(filter)` skips them and no SWR fetcher (the global
// one included) is ever called for them: the pitfall of vercel/ai#3214.
const KEY_PREFIX = '$copilotedge$'

/**
 * The conversation stored under `id` in this SWR cache (so an `<SWRConfig provider>` scopes it), created
 * from `initialMessages` (or from what a persisting cache provider restored) on first use.
 */
export function sharedConversation(
  cache: Cache,
  id: string,
  initialMessages: ChatMessage[] | undefined,
): ConversationStore {
  const key = KEY_PREFIX + id
  const data: unknown = cache.get(key)?.data
  if (data instanceof ConversationStore) return data
  const restored = isPersisted(data) ? data.messages : undefined
  const store = new ConversationStore(restored ?? initialMessages ?? [], { id })
  cache.set(key, { data: store })
  return store
}

function isPersisted(value: unknown): value is { messages: ChatMessage[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as { messages?: unknown }).messages)
  )
}
