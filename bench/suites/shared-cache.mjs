// Benchmark: a cache hit served from Redis vs from memory. In-process `handleRequest` on a cached
// question with the default memory store and with `createRedisCacheStore` (node-redis, a
// redis-server this suite starts on 127.0.0.1 and ends by its PID), plus the bare store `get`.
// Medians in µs, measured in interleaved blocks. Run alone:
//   node bench/lib/run-suite.mjs shared-cache '{"quick":false}'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from 'redis'
import { loadOurs } from '../lib/ours.mjs'
import { median } from '../lib/stats.mjs'

const QUESTION = { messages: [{ role: 'user', content: 'What is JavaScript?' }], stream: false }

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function startRedis() {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'copilotedge-bench-redis-'))
  const child = spawn(
    '/usr/bin/redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  )
  const client = createClient({
    url: `redis://127.0.0.1:${port}`,
    socket: { reconnectStrategy: () => 20 },
  })
  client.on('error', () => {})
  for (let i = 0; ; i++) {
    try {
      await client.connect()
      break
    } catch (error) {
      if (i > 200) throw error
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
  return {
    client,
    stop: async () => {
      client.destroy()
      await new Promise((resolve) => {
        child.once('exit', resolve)
        child.kill('SIGKILL')
      })
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function timeEach(count, fn) {
  const samples = []
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    await fn()
    samples.push(performance.now() - t0)
  }
  return samples
}

export async function run({ quick }) {
  const [server, testing] = await Promise.all([loadOurs('.'), loadOurs('testing')])
  const { CopilotEdge, createRedisCacheStore, createMemoryCacheStore } = server.module ?? {}
  const createEmulator = testing.module?.createWorkersAIEmulator
  const missing = []
  if (typeof createRedisCacheStore !== 'function')
    missing.push(server.missing ?? 'createRedisCacheStore is not exported yet')
  if (typeof createEmulator !== 'function')
    missing.push(testing.missing ?? 'createWorkersAIEmulator is not exported yet')
  if (missing.length > 0) return { rows: [], notes: [], missing }

  const bench = '6 shared cache'
  const count = quick ? 1_000 : 10_000
  const blocks = 10
  const redis = await startRedis()
  try {
    const emulator = createEmulator({ tokens: 50 })
    const config = {
      apiKey: emulator.apiToken,
      accountId: emulator.accountId,
      baseURL: emulator.baseURL,
      fetch: emulator.fetchImpl,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    }
    const memoryStore = createMemoryCacheStore({
      maxEntries: 1000,
      maxBytes: 16 << 20,
      ttl: 60_000,
    })
    const redisStore = createRedisCacheStore({ client: redis.client, logger: { warn() {} } })
    const memory = new CopilotEdge({ ...config, cache: { store: memoryStore } })
    const shared = new CopilotEdge({ ...config, cache: { store: redisStore } })
    await memory.handleRequest(QUESTION)
    await shared.handleRequest(QUESTION)
    // The cache write is not awaited by the engine: wait until Redis holds the answer.
    for (let i = 0; i < 100 && (await redis.client.dbSize()) === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const key = (await redis.client.keys('copilotedge:v1:cache:*'))[0]?.slice(
      'copilotedge:v1:cache:'.length,
    )
    if (!key) throw new Error('the Redis store holds no answer after a first request')
    emulator.reset()

    const contenders = [
      [
        'handleRequest, cached answer, in-process',
        'ours: memory store',
        () => memory.handleRequest(QUESTION),
      ],
      [
        'handleRequest, cached answer, in-process',
        'ours: Redis store (loopback)',
        () => shared.handleRequest(QUESTION),
      ],
      [
        'store get of a cached answer',
        'memory store',
        () => memoryStore.get(key) ?? Promise.reject(new Error('miss')),
      ],
      [
        'store get of a cached answer',
        'Redis store (loopback)',
        async () => {
          if (!(await redisStore.get(key))) throw new Error('miss')
        },
      ],
    ]
    const samples = contenders.map(() => [])
    for (const [, , fn] of contenders) await timeEach(200, fn) // warm-up
    for (let b = 0; b < blocks; b++) {
      for (let i = 0; i < contenders.length; i++) {
        samples[i].push(...(await timeEach(count / blocks, contenders[i][2])))
      }
    }
    if (emulator.requests.length !== 0)
      throw new Error(`${emulator.requests.length} upstream calls: not all hits`)
    const rows = []
    for (let i = 0; i < contenders.length; i += 2) {
      const memoryUs = median(samples[i]) * 1000
      const redisUs = median(samples[i + 1]) * 1000
      rows.push({
        bench,
        metric: contenders[i][0],
        contender: contenders[i][1],
        value: memoryUs,
        unit: 'µs',
      })
      rows.push({
        bench,
        metric: contenders[i + 1][0],
        contender: contenders[i + 1][1],
        value: redisUs,
        unit: 'µs',
        ratio: redisUs / memoryUs,
      })
    }
    const notes = [
      `${count.toLocaleString('en-US')} cached calls per contender in ${blocks} interleaved blocks, 0 upstream calls; redis-server ${(await redis.client.info('server')).match(/redis_version:(\S+)/)?.[1]} on 127.0.0.1, node-redis client`,
    ]
    return { rows, notes, missing }
  } finally {
    await redis.stop()
  }
}
