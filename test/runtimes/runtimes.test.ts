import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { WorkersAIEmulator } from 'copilotedge/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bin,
  disconnect,
  eventually,
  REPLY,
  type RuntimeServer,
  root,
  runtimeEmulator,
  serversDir,
  startRuntime,
  streamChat,
} from './runtime-harness'

// Each README "Runtimes" recipe, run for real: the runtime as a child process serving the handler
// built from dist/ (imported as `copilotedge`, as users do), the upstream our Workers AI emulator on
// 127.0.0.1. What a user notices: a 200 SSE stream whose text is the emulator's reply, `[DONE]` at
// the end, and a client that disconnects mid-stream stops the upstream generation.

interface Runtime {
  name: string
  command: string
  args: string[]
}

const node = process.execPath
const runtimes: Runtime[] = [
  { name: 'node:http via @hono/node-server serve', command: node, args: ['node-hono-server.mjs'] },
  { name: 'plain node:http with getRequestListener', command: node, args: ['node-http.mjs'] },
  { name: 'Express 5', command: node, args: ['express-server.mjs'] },
  { name: 'Hono', command: node, args: ['hono-server.mjs'] },
  { name: 'Bun.serve', command: bin('bun'), args: ['bun-server.mjs'] },
  {
    name: 'Deno.serve',
    command: bin('deno'),
    args: ['run', '--allow-net', '--allow-env', '--allow-read', 'deno-server.mjs'],
  },
].map((r) => ({ ...r, args: r.args.map((a) => (a.endsWith('.mjs') ? join(serversDir, a) : a)) }))

it('dist/ is built (the runtimes import copilotedge from it; `npm run build` first)', () => {
  expect(existsSync(join(root, 'dist', 'server', 'index.js'))).toBe(true)
  expect(existsSync(join(root, 'dist', 'testing', 'index.js'))).toBe(true)
})

describe.each(runtimes)('$name', ({ command, args }) => {
  let emu: WorkersAIEmulator
  let upstream: Awaited<ReturnType<WorkersAIEmulator['listen']>>
  let server: RuntimeServer

  beforeAll(async () => {
    emu = runtimeEmulator()
    upstream = await emu.listen({ port: 0 })
    server = await startRuntime(command, args, {
      CLOUDFLARE_API_TOKEN: emu.apiToken,
      CLOUDFLARE_ACCOUNT_ID: emu.accountId,
      WORKERS_AI_BASE_URL: upstream.baseURL,
    })
  })
  afterAll(async () => {
    await server?.stop()
    await upstream?.close()
  })

  it('streams the emulator reply as 200 text/event-stream ending in [DONE]', async () => {
    emu.reset()
    const answer = await streamChat(`${server.origin}/api/copilot`, 'Hi')
    expect(answer.status, server.stderr()).toBe(200)
    expect(answer.contentType).toBe('text/event-stream; charset=utf-8')
    expect(answer.text).toBe(REPLY)
    expect(answer.data.at(-1)).toBe('[DONE]')
    expect(emu.requests).toHaveLength(1)
    expect(emu.requests[0]?.completed).toBe(true)
  })

  it('aborts the upstream generation when the client disconnects mid-stream', async () => {
    emu.reset()
    const seen = await disconnect(`${server.origin}/api/copilot`, { at: 'mid-stream' })
    expect(seen.sawContent).toBe(true)
    expect(await eventually(() => emu.requests[0]?.aborted === true, 3000)).toBe(true)
    expect(emu.requests[0]?.completed).toBe(false)
    expect(emu.requests[0]?.tokensSent).toBeLessThan(400)
  })
})
