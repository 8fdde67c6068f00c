import { join } from 'node:path'
import type { EmulatorFault, WorkersAIEmulator } from 'copilotedge/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/server/config'
import {
  bin,
  REPLY,
  type RuntimeServer,
  runtimeEmulator,
  serversDir,
  startRuntime,
  streamChat,
} from './runtime-harness'

// Bun.serve closes a connection that is quiet for `idleTimeout` seconds (default 10), SSE stream or
// once its handler has answered. The heartbeat's `: ping` comments keep a stream alive while the upstream is quiet. Shown with
// Bun's defaults and ours, against an upstream quiet for 12 s (so this file takes ~13 s: every case
// runs at once). A shorter Bun idleTimeout does not show it faster: Bun checks idle connections on a
// coarse tick, and with `idleTimeout: 2` it cut a stream that got a ping every 500 ms.

const BUN_DEFAULT_IDLE_TIMEOUT_MS = 10_000
const QUIET_MS = 12_000

it('the default heartbeat fits twice in the 10 s idle limit of Bun (and of many proxies)', () => {
  const { heartbeatMs } = resolveConfig({})
  expect(heartbeatMs).toBeGreaterThan(0)
  expect(heartbeatMs * 2).toBeLessThanOrEqual(BUN_DEFAULT_IDLE_TIMEOUT_MS)
})

const spells: { name: string; fault: EmulatorFault }[] = [
  { name: 'before the first byte', fault: { type: 'stall', ms: QUIET_MS } },
  { name: 'mid-stream', fault: { type: 'stall-mid-stream', afterTokens: 3, ms: QUIET_MS } },
]

describe('Bun.serve with its default idleTimeout (10 s), the upstream quiet for 12 s', () => {
  let emu: WorkersAIEmulator
  let upstream: Awaited<ReturnType<WorkersAIEmulator['listen']>>
  const servers: Record<'default' | 'off', RuntimeServer | undefined> = {
    default: undefined,
    off: undefined,
  }
  const answers = new Map<string, ReturnType<typeof streamChat>>()

  beforeAll(async () => {
    emu = runtimeEmulator()
    upstream = await emu.listen({ port: 0 })
    const start = (env: Record<string, string>) =>
      startRuntime(bin('bun'), [join(serversDir, 'bun-server.mjs')], {
        CLOUDFLARE_API_TOKEN: emu.apiToken,
        CLOUDFLARE_ACCOUNT_ID: emu.accountId,
        WORKERS_AI_BASE_URL: upstream.baseURL,
        ...env,
      })
    const [withDefault, off] = await Promise.all([start({}), start({ HEARTBEAT_MS: '0' })])
    servers.default = withDefault
    servers.off = off
    // All four streams at once (each asks something else, so none is a cache hit); each takes
    // the next queued fault in arrival order, so they are sent one after another.
    for (const config of ['default', 'off'] as const) {
      for (const spell of spells) {
        emu.fault(spell.fault)
        const key = `${config} ${spell.name}`
        const server = servers[config] as RuntimeServer
        answers.set(key, streamChat(`${server.origin}/api/copilot`, `Hi (${key})`))
        while (emu.requests.length < answers.size) await new Promise((r) => setTimeout(r, 10))
      }
    }
    await Promise.all(answers.values())
  }, 60_000)
  afterAll(async () => {
    await servers.default?.stop()
    await servers.off?.stop()
    await upstream?.close()
  })

  it.each(spells)(
    'with the default heartbeat, a stream quiet $name arrives whole',
    async ({ name }) => {
      const answer = await answers.get(`default ${name}`)
      expect(answer?.status).toBe(200)
      expect(answer?.text).toBe(REPLY)
      expect(answer?.data.at(-1)).toBe('[DONE]')
      expect(answer?.pings).toBeGreaterThanOrEqual(2)
    },
  )

  it('with the heartbeat off, Bun waits for a handler that has not answered yet', async () => {
    const answer = await answers.get('off before the first byte')
    expect(answer?.text).toBe(REPLY)
    expect(answer?.pings).toBe(0)
  })

  it('with the heartbeat off, Bun cuts a stream quiet mid-stream', async () => {
    const answer = await answers.get('off mid-stream')
    expect(answer?.status).toBe(200)
    expect(answer?.data.at(-1)).not.toBe('[DONE]')
    expect(answer?.text).not.toBe(REPLY)
    expect(answer?.cut).toBe(true)
  })
})
