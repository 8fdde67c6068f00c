// streamCopilot against the real resumable handler (config resume) and the Workers AI emulator, over
// loopback HTTP, with a TCP proxy that cuts connections at seeded random byte offsets.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type ReconnectTimers, streamCopilot } from '../../src/client'
import { createCopilotEdgeHandler } from '../../src/server'
import { createWorkersAIEmulator, type EmulatorServer } from '../../src/testing'
import { type ServedHandler, serveHandler } from '../helpers/serve-handler'
import { startCuttingProxy } from './helpers/cutting-proxy'

const messages = [{ role: 'user' as const, content: 'Count for me' }]
const noDelay: ReconnectTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: () => 0,
}

const emulator = createWorkersAIEmulator({ tokens: 40 })
let upstream: EmulatorServer
let served: ServedHandler
const methods: string[] = []
let target: { host: string; port: number }

beforeAll(async () => {
  upstream = await emulator.listen()
  const handler = createCopilotEdgeHandler({
    apiKey: emulator.apiToken,
    accountId: emulator.accountId,
    baseURL: upstream.baseURL,
    resume: true,
    cache: false,
    // The cut offsets are drawn for the unencoded bytes (a gzip answer is ~10x shorter).
    compression: false,
  })
  served = await serveHandler((request) => {
    methods.push(request.method)
    return handler(request)
  })
  const url = new URL(served.origin)
  target = { host: url.hostname, port: Number(url.port) }
})

afterAll(async () => {
  await served?.close()
  await upstream?.close()
})

/** Runs `body` with the server's request log and the emulator's call count reset. */
async function measured<T>(body: () => Promise<T>) {
  methods.length = 0
  const callsBefore = emulator.requests.length
  const result = await body()
  await emulator.idle()
  return { result, methods: [...methods], upstreamCalls: emulator.requests.length - callsBefore }
}

describe('streamCopilot against the real resumable handler and the emulator', () => {
  it('assembles the uninterrupted answer after seeded random TCP cuts, with one POST and one upstream call each time', async () => {
    const whole = await measured(async () => {
      const proxy = await startCuttingProxy(target, [])
      try {
        return await streamCopilot({ api: `${proxy.origin}/api`, messages }).getFullResponse()
      } finally {
        await proxy.close()
      }
    })
    expect(whole.result).toMatch(/^(tok\d+ ){40}$/)

    let cutsMade = 0

    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 6_000 }), { minLength: 1, maxLength: 3 }),
        async (cuts) => {
          const proxy = await startCuttingProxy(target, cuts)
          try {
            const run = await measured(() =>
              streamCopilot({
                api: `${proxy.origin}/api`,
                messages,
                reconnect: { timers: noDelay },
              }).getFullResponse(),
            )
            expect(run.result).toBe(whole.result)
            expect(run.methods.filter((method) => method === 'POST')).toHaveLength(1)
            expect(run.methods.filter((method) => method === 'GET')).toHaveLength(
              proxy.stats().cuts,
            )
            expect(run.methods).not.toContain('DELETE')
            expect(run.upstreamCalls).toBe(1)
            cutsMade += proxy.stats().cuts
          } finally {
            await proxy.close()
          }
        },
      ),
      { seed: 2026, numRuns: 100 },
    )
    expect(cutsMade).toBeGreaterThanOrEqual(100) // the cuts really happened (the first always does)
  }, 90_000)

  it('abort() stops the upstream generation at once through the DELETE', async () => {
    const slow = createWorkersAIEmulator({ tokens: 1_000, tokenDelayMs: 20 })
    const slowUpstream = await slow.listen()
    const handler = createCopilotEdgeHandler({
      apiKey: slow.apiToken,
      accountId: slow.accountId,
      baseURL: slowUpstream.baseURL,
      resume: true,
      cache: false,
    })
    const seen: string[] = []
    const server = await serveHandler((request) => {
      seen.push(request.method)
      return handler(request)
    })
    try {
      let firstChunk!: () => void
      const first = new Promise<void>((resolve) => {
        firstChunk = resolve
      })
      const stream = streamCopilot({
        api: `${server.origin}/api`,
        messages,
        onChunk: () => firstChunk(),
      })
      await first
      stream.abort()
      const partial = await stream.getFullResponse()
      expect(partial.length).toBeGreaterThan(0)
      await vi.waitFor(() => expect(slow.requests[0]?.aborted).toBe(true), { timeout: 300 })
      expect(seen).toEqual(['POST', 'DELETE'])
      expect(slow.requests[0]?.completed).toBe(false)
    } finally {
      await server.close()
      await slowUpstream.close()
    }
  })
})
