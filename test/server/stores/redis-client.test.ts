import { describe, expect, it } from 'vitest'
import { redisCommand } from '../../../src/server/stores/redis/redis-client'
import { StoreUnavailableError } from '../../../src/server/stores/store-errors'

describe('redisCommand', () => {
  it('sends through node-redis sendCommand, and fails fast while the client is not ready', async () => {
    const sent: string[][] = []
    const client = {
      isReady: true,
      sendCommand: async (args: string[]) => {
        sent.push(args)
        return 'OK'
      },
    }
    const send = redisCommand(client)
    expect(await send(['SET', 'k', 'v'])).toBe('OK')
    client.isReady = false
    await expect(send(['GET', 'k'])).rejects.toBeInstanceOf(StoreUnavailableError)
    expect(sent).toEqual([['SET', 'k', 'v']])
  })

  it('sends through ioredis call, and fails fast unless its status is ready', async () => {
    const calls: unknown[][] = []
    const client = {
      status: 'ready',
      call: async (command: string, ...args: string[]) => {
        calls.push([command, ...args])
        return 'OK'
      },
    }
    const send = redisCommand(client)
    expect(await send(['SET', 'k', 'v', 'PX', '10'])).toBe('OK')
    client.status = 'reconnecting'
    await expect(send(['GET', 'k'])).rejects.toThrow('the Redis client is reconnecting')
    expect(calls).toEqual([['SET', 'k', 'v', 'PX', '10']])
  })

  it('refuses something that is not a Redis client with a clear TypeError', () => {
    expect(() => redisCommand('redis://localhost:6379' as never)).toThrow(
      'client must be a connected node-redis (createClient) or ioredis client',
    )
  })
})
