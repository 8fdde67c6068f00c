import { join } from 'node:path'
import type { WorkersAIEmulator } from 'copilotedge/testing'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  disconnect,
  eventually,
  REPLY,
  runtimeEmulator,
  serversDir,
  streamChat,
} from './runtime-harness'

// The module Worker recipes on workerd, through Miniflare (workerd from npm; Miniflare starts it as
// its own child process). The Worker is bundled from dist/ with esbuild, as wrangler does.

const COMPATIBILITY_DATE = '2025-09-01'

async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [join(serversDir, entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    minify: true,
    write: false,
    logLevel: 'silent',
  })
  return result.outputFiles[0]?.text ?? ''
}

interface Started {
  mf: Miniflare
  origin: string
}

async function startWorker(
  emu: WorkersAIEmulator,
  baseURL: string,
  options: { entry: string; flags?: string[]; vars?: Record<string, string> },
): Promise<Started> {
  const code = await bundle(options.entry)
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    workers: [
      {
        name: 'copilot',
        modules: [{ type: 'ESModule', path: 'worker.js', contents: code }],
        compatibilityDate: COMPATIBILITY_DATE,
        compatibilityFlags: options.flags ?? [],
        bindings: {
          CLOUDFLARE_API_TOKEN: emu.apiToken,
          CLOUDFLARE_ACCOUNT_ID: emu.accountId,
          WORKERS_AI_BASE_URL: baseURL,
          ...options.vars,
        },
        wrappedBindings: {
          AI: {
            scriptName: 'ai-binding-emulator',
            bindings: { baseURL, accountId: emu.accountId, apiToken: emu.apiToken },
          },
        },
      },
      {
        name: 'ai-binding-emulator',
        modules: true,
        scriptPath: join(serversDir, 'ai-binding-emulator.mjs'),
      },
    ],
  })
  const url = await mf.ready
  return { mf, origin: url.origin }
}

describe.each([
  { name: 'a module Worker on workerd (Workers AI over REST)', entry: 'cloudflare-worker.mjs' },
  {
    name: 'a module Worker on workerd with the Workers AI binding (env.AI)',
    entry: 'cloudflare-worker-binding.mjs',
  },
])('$name', ({ entry }) => {
  let emu: WorkersAIEmulator
  let upstream: Awaited<ReturnType<WorkersAIEmulator['listen']>>
  let worker: Started

  beforeAll(async () => {
    emu = runtimeEmulator()
    upstream = await emu.listen({ port: 0 })
    worker = await startWorker(emu, upstream.baseURL, { entry })
  })
  afterAll(async () => {
    await worker?.mf.dispose()
    await upstream?.close()
  })

  it('streams the emulator reply as 200 text/event-stream ending in [DONE]', async () => {
    emu.reset()
    const answer = await streamChat(`${worker.origin}/api/copilot`, 'Hi')
    expect(answer.status).toBe(200)
    expect(answer.contentType).toBe('text/event-stream; charset=utf-8')
    expect(answer.text).toBe(REPLY)
    expect(answer.data.at(-1)).toBe('[DONE]')
    expect(emu.requests).toHaveLength(1)
    expect(emu.requests[0]?.completed).toBe(true)
    // Prefix caching: the conversation's affinity reaches Workers AI (the binding: extraHeaders).
    expect(emu.requests[0]?.headers['x-session-affinity']).toMatch(/^[0-9a-f]{16}$/)
  })

  it('aborts the upstream generation when the client disconnects mid-stream', async () => {
    emu.reset()
    const seen = await disconnect(`${worker.origin}/api/copilot`, { at: 'mid-stream' })
    expect(seen.sawContent).toBe(true)
    expect(await eventually(() => emu.requests[0]?.aborted === true, 3000)).toBe(true)
    expect(emu.requests[0]?.completed).toBe(false)
    expect(emu.requests[0]?.tokensSent).toBeLessThan(400)
  })
})

// A client that leaves before the response exists. workerd (here, locally) notices a disconnect only
// once the response has started: `request.signal` does not fire before that, not even with the
// `enable_request_signal` compatibility flag (which makes it fire at once after that point). So a
// call whose upstream stalls keeps running until the handler first writes, which with the
// heartbeat on is the first `: ping`, at `heartbeatMs`; with the heartbeat off, until the upstream
// answers or `timeoutMs`.
describe('a module Worker on workerd: a client that disconnects before the first byte', () => {
  const STALL_MS = 5000

  async function disconnectDuringStall(heartbeatMs: number, flags: string[]) {
    const emu = runtimeEmulator()
    const upstream = await emu.listen({ port: 0 })
    const worker = await startWorker(emu, upstream.baseURL, {
      entry: 'cloudflare-worker.mjs',
      flags,
      vars: { HEARTBEAT_MS: String(heartbeatMs) },
    })
    try {
      emu.fault({ type: 'stall', ms: STALL_MS })
      const seen = await disconnect(`${worker.origin}/api/copilot`, {
        at: 'before-first-byte',
        afterMs: 300,
      })
      expect(seen.sawResponse).toBe(false)
      const left = Date.now()
      // Well before the stall ends: has the upstream call been aborted?
      const aborted = await eventually(() => emu.requests[0]?.aborted === true, 2500)
      return { aborted, afterMs: Date.now() - left, record: emu.requests[0] }
    } finally {
      await worker.mf.dispose()
      await upstream.close()
    }
  }

  it.each([
    { label: 'no compatibility flag', flags: [] },
    { label: 'enable_request_signal', flags: ['enable_request_signal'] },
  ])(
    'with the heartbeat off, the upstream call keeps running after the client left ($label)',
    async ({ flags }) => {
      const { aborted, record } = await disconnectDuringStall(0, flags)
      expect(record?.status).toBe(0)
      expect(aborted).toBe(false)
    },
  )

  it('with the heartbeat on, the upstream call is aborted when the first ping is due', async () => {
    const { aborted, afterMs } = await disconnectDuringStall(1000, [])
    expect(aborted).toBe(true)
    expect(afterMs).toBeLessThan(2000)
  })
})
