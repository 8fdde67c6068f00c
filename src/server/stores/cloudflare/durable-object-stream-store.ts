import { systemClock } from '../../clock'
import { SharedStreamReader } from '../../engine/shared-stream-reader'
import type { StreamClaim, StreamStore } from '../../engine/stream-store'
import { createStoreCircuit, type StoreCircuitOptions } from '../store-circuit'
import { keyPrefix } from '../store-keys'
import type { DurableObjectNamespaceLike } from './cloudflare-bindings'
import { STREAM_PATHS } from './coordinator-streams'
import { DurableObjectLogTail } from './durable-object-log-tail'
import {
  DurableObjectStreamPublisher,
  type PublisherContext,
} from './durable-object-stream-publisher'
import { keepAlive, type WaitUntil } from './keep-alive'

export interface DurableObjectStreamStoreOptions extends Omit<StoreCircuitOptions, 'name'> {
  /** The binding of your `CopilotEdgeCoordinator` class, e.g. `env.COPILOT_COORDINATOR`. */
  namespace: DurableObjectNamespaceLike
  /**
   * Names the objects: `<prefix>:v1:stream:<stream id>` (a resumable stream),
   * `<prefix>:v1:inflight:<cache key>` (a key's claim and the logs of its answers) and
   * `<prefix>:v1:conversation:<chat id>`. Default `'copilotedge'`.
   */
  prefix?: string
  /**
   * Ms the lease of the isolate running an answer lasts; each write renews it and an idle answer
   * sends a heartbeat every third of it. When that isolate dies, its readers end with
   * `stream_truncated` within this. Default 5_000.
   */
  leaseMs?: number
  /**
   * At most one append per this many ms (events arriving meanwhile go in the next): a long
   * answer costs about its duration / flushMs subrequests. Readers elsewhere lag by up to this.
   * Default 100.
   */
  flushMs?: number
  /** `waitUntil` from `cloudflare:workers`: the last writes of an answer outlive its response. */
  waitUntil?: WaitUntil
}

// The first call to an object may create it in another location: give it time before the circuit
// calls the object down (as the rate-limit store does).
const DEFAULT_TIMEOUT_MS = 1000
const ORIGIN = 'https://copilotedge.coordinator'
// Follower claims remembered until their read: a follower's log lives in the key's object.
const MAX_FOLLOWED = 1024

/** The coordinator answered with an error status. */
export class CoordinatorError extends Error {
  override readonly name = 'CoordinatorError'
  readonly status: number

  constructor(status: number, body: string) {
    super(`CopilotEdgeCoordinator answered ${status}: ${body}`)
    this.status = status
  }
}

/**
 * Streaming answers in flight shared by every isolate and location through `CopilotEdgeCoordinator`
 * Durable Objects (config `streams`): one upstream call for identical concurrent streams, and
 * resume and stop of a stream from any isolate. A cache key's object holds its claim and the logs
 * of its answers; a resumable stream has an object of its own. Readers tail a log over one
 * streaming response each. When the objects fail or hang, requests are answered locally (one log
 * line per outage).
 */
export function createDurableObjectStreamStore(
  options: DurableObjectStreamStoreOptions,
): StreamStore {
  const { namespace } = options
  if (!namespace || typeof namespace.idFromName !== 'function') {
    throw new TypeError(
      'createDurableObjectStreamStore needs `namespace`: the CopilotEdgeCoordinator binding',
    )
  }
  const leaseMs = options.leaseMs ?? 5_000
  const flushMs = options.flushMs ?? 100
  const clock = options.clock ?? systemClock
  const circuit = createStoreCircuit({
    name: 'Durable Object stream store',
    timeoutMs: DEFAULT_TIMEOUT_MS,
    ...options,
  })
  const streamObject = (id: string) => keyPrefix(options.prefix, 'stream') + id
  const keyObject = (key: string) => keyPrefix(options.prefix, 'inflight') + key
  const conversationObject = (id: string) => keyPrefix(options.prefix, 'conversation') + id
  const followed = new Map<string, string>()

  // A stub per call: workerd ties I/O objects to the request that made them.
  const request = async (object: string, path: string, body: Record<string, unknown>) => {
    const stub = namespace.get(namespace.idFromName(object))
    return stub.fetch(ORIGIN + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    })
  }
  const call = async <T>(object: string, path: string, body: Record<string, unknown>) => {
    const response = await request(object, path, body)
    if (!response.ok) throw new CoordinatorError(response.status, await response.text())
    return (await response.json()) as T
  }
  const publisherContext: PublisherContext = {
    call,
    circuit,
    leaseMs,
    flushMs,
    clock,
    keep: keepAlive(options.waitUntil, 'Durable Object stream store'),
    conversationObject,
  }

  return {
    claim: (key, streamId) =>
      circuit.run(
        async (): Promise<StreamClaim | undefined> => {
          const claim = await call<StreamClaim>(keyObject(key), STREAM_PATHS.claim, {
            id: streamId,
            key,
            leaseMs,
          })
          if (claim.role === 'follower') {
            if (followed.size >= MAX_FOLLOWED)
              followed.delete(followed.keys().next().value as string)
            followed.set(claim.streamId, keyObject(key))
          }
          return claim
        },
        () => {
          // A claim that timed out may still have been made: free it, or followers would wait
          // a lease for a stream nobody writes.
          call(keyObject(key), STREAM_PATHS.claim, {
            id: streamId,
            key,
            leaseMs,
            release: true,
          }).catch(() => {})
          return undefined
        },
      ),
    publish: (streamId, head, publishOptions) =>
      new DurableObjectStreamPublisher(
        publisherContext,
        streamId,
        publishOptions.key === undefined ? streamObject(streamId) : keyObject(publishOptions.key),
        head,
        publishOptions,
      ),
    read: async (streamId, { known, signal }) => {
      const object = followed.get(streamId) ?? streamObject(streamId)
      followed.delete(streamId)
      // The object answers at once (the body is the tail); unreachable, the caller acts locally.
      const response = await circuit.run(
        async () => {
          const tail = await request(object, STREAM_PATHS.read, { id: streamId, known, leaseMs })
          if (tail.status === 404) return undefined
          if (!tail.ok || !tail.body) throw new CoordinatorError(tail.status, await tail.text())
          return tail
        },
        () => undefined,
      )
      if (!response?.body) return undefined
      const reader = new SharedStreamReader(
        new DurableObjectLogTail({ leaseMs, clock }, response.body),
        '',
        signal,
      )
      if (known && !(await reader.readHead())) {
        reader.abort()
        return undefined
      }
      // Until the upstream's model arrives (its `open` entry), the requested one.
      reader.model ||= reader.head?.model ?? ''
      void reader.start()
      return reader
    },
    stop: (streamId) =>
      circuit.run(
        async () =>
          (
            await call<{ found: boolean }>(streamObject(streamId), STREAM_PATHS.stop, {
              id: streamId,
            })
          ).found,
        () => false,
      ),
    live: (conversation) =>
      circuit.run(
        async () =>
          (
            await call<{ streamId: string | null }>(
              conversationObject(conversation),
              STREAM_PATHS.live,
              { id: conversation },
            )
          ).streamId ?? undefined,
        () => undefined,
      ),
  }
}
