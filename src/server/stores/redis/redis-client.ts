import { StoreUnavailableError } from '../store-errors'

/** node-redis v4+ (`createClient()` from `redis`): the one method and flag the stores use. */
export interface NodeRedisClientLike {
  sendCommand(args: string[]): Promise<unknown>
  readonly isReady?: boolean
}

/** ioredis (`new Redis()`): its raw-command method and connection status. */
export interface IORedisClientLike {
  call(command: string, ...args: string[]): Promise<unknown>
  readonly status?: string
}

/**
 * The user's own connected Redis client; we never parse a URL or open a connection. Structural, so
 * `redis` (or `ioredis`) stays an optional peer this package never imports.
 */
export type RedisClientLike = NodeRedisClientLike | IORedisClientLike

/** One Redis command, e.g. `['SET', key, value, 'PX', '60000']`. */
export type RedisCommand = (args: string[]) => Promise<unknown>

/**
 * Sends raw commands through whichever client was given. A client that is not ready (reconnecting,
 * or never connected) fails at once rather than queueing the command until Redis comes back.
 */
export function redisCommand(client: RedisClientLike): RedisCommand {
  if (client && typeof (client as NodeRedisClientLike).sendCommand === 'function') {
    const nodeRedis = client as NodeRedisClientLike
    return async (args) => {
      if (nodeRedis.isReady === false)
        throw new StoreUnavailableError('the Redis client is not ready')
      return nodeRedis.sendCommand(args)
    }
  }
  if (client && typeof (client as IORedisClientLike).call === 'function') {
    const ioredis = client as IORedisClientLike
    return async (args) => {
      if (ioredis.status !== undefined && ioredis.status !== 'ready') {
        throw new StoreUnavailableError(`the Redis client is ${ioredis.status}`)
      }
      const [command = '', ...rest] = args
      return ioredis.call(command, ...rest)
    }
  }
  throw new TypeError('client must be a connected node-redis (createClient) or ioredis client')
}
