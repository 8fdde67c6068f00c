import { StoreUnavailableError } from '../store-errors'
import type { RedisClientLike, RedisCommand } from './redis-client'
import { redisCommand } from './redis-client'

/** What a second connection of the user's client offers (node-redis `duplicate()`; ioredis too). */
interface DuplicateClient {
  connect?(): Promise<unknown>
  on?(event: 'error', listener: (error: unknown) => void): unknown
  destroy?(): void
  disconnect?(): unknown
  subscribe?(channel: string, listener: (message: string, channel: string) => void): unknown
  readonly isReady?: boolean
  readonly status?: string
}

interface Duplicable {
  duplicate(): DuplicateClient
}

/** A connection of our own, opened from the user's client with its settings (never a URL of ours). */
export interface DedicatedConnection {
  send: RedisCommand
  readonly client: DuplicateClient
  close(): void
}

/**
 * Opens a connection like the user's: blocking reads (`XREAD BLOCK`) and `SUBSCRIBE` hold their
 * connection, so they cannot share the one every request uses.
 */
export async function openDedicated(client: RedisClientLike): Promise<DedicatedConnection> {
  if (typeof (client as Partial<Duplicable>).duplicate !== 'function') {
    throw new TypeError('the Redis stream store needs a client with duplicate() (node-redis)')
  }
  const copy = (client as unknown as Duplicable).duplicate()
  // node-redis emits 'error' on each failed reconnect: without a listener the process would crash.
  copy.on?.('error', () => {})
  // node-redis connects on connect(); ioredis by itself unless lazyConnect ('wait').
  if (copy.isReady === false || copy.status === 'wait') await copy.connect?.()
  return {
    client: copy,
    send: redisCommand(copy as RedisClientLike),
    close: () => {
      try {
        if (typeof copy.destroy === 'function') copy.destroy()
        else copy.disconnect?.()
      } catch {}
    },
  }
}

/** Connections for blocking reads: one per read in flight, the idle ones kept for the next. */
export class BlockingConnections {
  readonly #client: RedisClientLike
  readonly #maxIdle: number
  readonly #idle: DedicatedConnection[] = []
  #closed = false

  constructor(client: RedisClientLike, maxIdle: number) {
    this.#client = client
    this.#maxIdle = maxIdle
  }

  async acquire(): Promise<DedicatedConnection> {
    if (this.#closed) throw new StoreUnavailableError('the Redis stream store is closed')
    return this.#idle.pop() ?? openDedicated(this.#client)
  }

  /** Back to the pool, unless it failed (its state is unknown) or the pool is full. */
  release(connection: DedicatedConnection, healthy: boolean): void {
    if (healthy && !this.#closed && this.#idle.length < this.#maxIdle) this.#idle.push(connection)
    else connection.close()
  }

  close(): void {
    this.#closed = true
    for (const connection of this.#idle.splice(0)) connection.close()
  }
}

/**
 * One subscription per process (to the stop channel), opened on first use; a failed open is tried
 * again on the next use. node-redis resubscribes by itself after a reconnect.
 */
export class Subscription {
  readonly #client: RedisClientLike
  readonly #channel: string
  readonly #onMessage: (message: string) => void
  #opening: Promise<DedicatedConnection> | undefined
  #closed = false

  constructor(client: RedisClientLike, channel: string, onMessage: (message: string) => void) {
    this.#client = client
    this.#channel = channel
    this.#onMessage = onMessage
  }

  ensure(): Promise<unknown> {
    if (this.#closed) return Promise.resolve()
    this.#opening ??= (async () => {
      const connection = await openDedicated(this.#client)
      if (typeof connection.client.subscribe !== 'function') {
        connection.close()
        throw new TypeError('the Redis stream store needs a client with subscribe() (node-redis)')
      }
      await connection.client.subscribe(this.#channel, (message) => this.#onMessage(message))
      if (this.#closed) connection.close()
      return connection
    })()
    const opening = this.#opening
    opening.catch(() => {
      if (this.#opening === opening) this.#opening = undefined
    })
    return opening
  }

  close(): void {
    this.#closed = true
    this.#opening?.then(
      (connection) => connection.close(),
      () => {},
    )
  }
}
