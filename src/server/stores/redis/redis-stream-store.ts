import { SharedStreamReader } from '../../engine/shared-stream-reader'
import type { StreamClaim, StreamHead, StreamStore } from '../../engine/stream-store'
import { createStoreCircuit, type StoreCircuitOptions } from '../store-circuit'
import { type RedisClientLike, redisCommand } from './redis-client'
import { BlockingConnections, Subscription } from './redis-connections'
import { RedisLogTail } from './redis-log-tail'
import { scriptRunner } from './redis-rate-limit-store'
import { streamKeys } from './redis-stream-keys'
import {
  APPEND_SCRIPT,
  REFRESH_SCRIPT,
  RELEASE_SCRIPT,
  RedisStreamPublisher,
} from './redis-stream-publisher'

export interface RedisStreamStoreOptions extends Omit<StoreCircuitOptions, 'name'> {
  /**
   * Your connected node-redis client. Tailing a stream blocks a connection (`XREAD BLOCK`) and
   * stops arrive by `SUBSCRIBE`, so the store opens more connections with `client.duplicate()`.
   */
  client: RedisClientLike
  /** Key namespace: keys are `<prefix>:v1:stream:<id>` and `<prefix>:v1:inflight:<hash>`. */
  prefix?: string
  /**
   * Ms the lease of the instance running an answer lasts; it refreshes it every third of that.
   * When that instance dies, its readers elsewhere end with `stream_truncated` after at most this
   * (plus one blocking read). Default 5_000.
   */
  leaseMs?: number
  /** Idle blocking connections kept for the next tail. Default 8. */
  maxIdleConnections?: number
}

/** The Redis stream store, with `close()` to end the connections it opened (at shutdown). */
export interface RedisStreamStore extends StreamStore {
  close(): void
}

/**
 * Streaming answers in flight shared by every instance through Redis (config `streams`): one
 * upstream call for identical concurrent streams on any instance, and resume and stop of a stream
 * from any instance. Each answer is a Redis stream (`XADD`, one entry per batch of events, with
 * a `PX` expiry), its writer's lease a key it refreshes, its cache key claimed with `SET NX PX`.
 * When Redis fails, requests are answered locally (one log line per outage).
 */
export function createRedisStreamStore(options: RedisStreamStoreOptions): RedisStreamStore {
  const { client } = options
  const send = redisCommand(client)
  const keys = streamKeys(options.prefix)
  const leaseMs = options.leaseMs ?? 5_000
  const circuit = createStoreCircuit({ name: 'Redis stream store', ...options })
  const clock = options.clock ?? { now: Date.now, setTimeout, clearTimeout }
  const blocking = new BlockingConnections(client, options.maxIdleConnections ?? 8)
  const stops = new Map<string, () => void>()
  const subscription = new Subscription(client, keys.stopChannel, (streamId) =>
    stops.get(streamId)?.(),
  )
  const readerContext = {
    send,
    blocking,
    keys,
    leaseMs,
    blockMs: Math.max(10, Math.floor(leaseMs / 3)),
    clock,
  }
  const publisherContext = {
    send,
    append: scriptRunner(send, APPEND_SCRIPT),
    refresh: scriptRunner(send, REFRESH_SCRIPT),
    release: scriptRunner(send, RELEASE_SCRIPT),
    circuit,
    keys,
    leaseMs,
    clock,
    onStop(streamId: string, stop: () => void) {
      stops.set(streamId, stop)
      // Without the subscription a stop from elsewhere cannot arrive; the answer is still shared.
      subscription.ensure().catch(() => {})
      return () => {
        if (stops.get(streamId) === stop) stops.delete(streamId)
      }
    },
  }

  return {
    claim: (key, streamId) =>
      circuit.run(
        async (): Promise<StreamClaim | undefined> => {
          const inflight = keys.inflight(key)
          // A leader can end between our SET and GET: then the key is free again, try once more.
          for (let attempt = 0; attempt < 3; attempt++) {
            const set = await send(['SET', inflight, streamId, 'NX', 'PX', String(leaseMs)])
            if (set === 'OK') return { role: 'leader' }
            const other = await send(['GET', inflight])
            if (typeof other === 'string') return { role: 'follower', streamId: other }
          }
          return undefined
        },
        () => {
          // A claim that timed out may still have been made: free it, or followers would wait
          // for a stream nobody writes.
          publisherContext.release([keys.inflight(key)], [streamId]).catch(() => {})
          return undefined
        },
      ),
    publish: (streamId, head, publishOptions) =>
      new RedisStreamPublisher(publisherContext, streamId, head, publishOptions),
    read: async (streamId, { known, signal }) => {
      let head: StreamHead | undefined
      if (known) {
        const first = await circuit.run(
          () => send(['XRANGE', keys.stream(streamId), '-', '+', 'COUNT', '1']),
          () => undefined,
        )
        const fields = (Array.isArray(first) ? first[0]?.[1] : undefined) as string[] | undefined
        if (fields?.[1] !== 'head') return undefined
        head = JSON.parse(String(fields[3])) as StreamHead
      }
      const reader = new SharedStreamReader(
        new RedisLogTail(readerContext, streamId),
        head?.model ?? '',
        signal,
      )
      reader.head = head
      void reader.start()
      return reader
    },
    stop: (streamId) =>
      circuit.run(
        async () => {
          if (Number(await send(['EXISTS', keys.stream(streamId)])) !== 1) return false
          await send(['PUBLISH', keys.stopChannel, streamId])
          return true
        },
        () => false,
      ),
    live: (conversation) =>
      circuit.run(
        async () => {
          const id = await send(['GET', keys.conversation(conversation)])
          return typeof id === 'string' ? id : undefined
        },
        () => undefined,
      ),
    close: () => {
      blocking.close()
      subscription.close()
    },
  }
}
