import { keyPrefix } from '../store-keys'

/** Where one prefix keeps its shared streams (versioned, like the other Redis stores). */
export interface StreamKeys {
  /** The answer's log: a Redis stream of entries `t` (head, open, ev, end) and `d` (data). */
  stream(streamId: string): string
  /** Exists while the instance running the answer is alive (it refreshes it). */
  lease(streamId: string): string
  /** Readers on other instances: a sorted set of reader ids scored by when they lapse. */
  readers(streamId: string): string
  /** The stream id leading a cache key (coalescing). */
  inflight(cacheKey: string): string
  /** The stream id running for a conversation (useChat's chat id) while it runs. */
  conversation(conversation: string): string
  /** The pub/sub channel of stop requests (messages: stream ids). */
  stopChannel: string
}

export function streamKeys(prefix: string | undefined): StreamKeys {
  const streams = keyPrefix(prefix, 'stream')
  const inflight = keyPrefix(prefix, 'inflight')
  return {
    stream: (id) => streams + id,
    lease: (id) => `${streams + id}:lease`,
    readers: (id) => `${streams + id}:readers`,
    inflight: (key) => inflight + key,
    conversation: (conversation) => `${streams}conversation:${conversation}`,
    stopChannel: `${keyPrefix(prefix, 'stream')}stop`,
  }
}
