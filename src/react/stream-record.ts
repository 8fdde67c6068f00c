import type { ChatMessage } from '../shared/chat-types'

/**
 * What a conversation `id` remembers about its stream in flight, so that a page reload (or a remount)
 * picks the answer up where it was: the server's stream id, the last event id whose delta is in `text`,
 * and the history and partial reply that go with it. Kept in sessionStorage: one tab, gone with it.
 */
export interface StreamRecord {
  streamId: string
  lastEventId: string | undefined
  /** The messages the answer replies to (without the partial reply). */
  history: ChatMessage[]
  /** The reply up to and including the delta of `lastEventId`. */
  text: string
}

const PREFIX = 'copilotedge:stream:'

/** sessionStorage, or undefined where there is none (server, worker) or it may not be used. */
function storage(): Storage | undefined {
  try {
    return globalThis.sessionStorage ?? undefined
  } catch {
    return undefined // a SecurityError: storage blocked for this origin
  }
}

/** False where nothing can be remembered: then a stream is stopped, not left for a resume. */
export function canRemember(): boolean {
  return storage() !== undefined
}

export function saveStreamRecord(id: string, record: StreamRecord): void {
  try {
    storage()?.setItem(PREFIX + id, JSON.stringify(record))
  } catch {
    // Quota exceeded: the answer still streams, it just cannot be resumed after a reload.
  }
}

export function loadStreamRecord(id: string): StreamRecord | undefined {
  try {
    const raw = storage()?.getItem(PREFIX + id)
    if (!raw) return undefined
    const value: unknown = JSON.parse(raw)
    return isStreamRecord(value) ? value : undefined
  } catch {
    return undefined
  }
}

export function clearStreamRecord(id: string): void {
  try {
    storage()?.removeItem(PREFIX + id)
  } catch {
    // Nothing to do: a record that cannot be removed could not have been written either.
  }
}

function isStreamRecord(value: unknown): value is StreamRecord {
  if (typeof value !== 'object' || value === null) return false
  const record = value as Record<string, unknown>
  return (
    typeof record.streamId === 'string' &&
    (record.lastEventId === undefined || typeof record.lastEventId === 'string') &&
    Array.isArray(record.history) &&
    typeof record.text === 'string'
  )
}
