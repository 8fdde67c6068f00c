import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { createGunzip } from 'node:zlib'
import type { WorkersAIEmulator } from 'copilotedge/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bin,
  type RuntimeServer,
  runtimeEmulator,
  serversDir,
  startRuntime,
} from './runtime-harness'

// SSE compression on each runtime that has node:zlib, served by the README recipe (dist/, as users
// import it): the runtime sends our gzip bytes as they are (none compresses them again, none
// compresses the opted-out stream itself: our Cache-Control says no-transform), and the first
// token decodes while the 4 s answer is still streaming.

const node = process.execPath
const runtimes = [
  { name: 'node:http via @hono/node-server', command: node, args: ['node-hono-server.mjs'] },
  { name: 'Bun.serve', command: bin('bun'), args: ['bun-server.mjs'] },
  {
    name: 'Deno.serve',
    command: bin('deno'),
    args: ['run', '--allow-net', '--allow-env', '--allow-read', 'deno-server.mjs'],
  },
].map((r) => ({ ...r, args: r.args.map((a) => (a.endsWith('.mjs') ? join(serversDir, a) : a)) }))

interface Answer {
  encoding: string | undefined
  vary: string | undefined
  /** Whether the response was still open when the first token had decoded. */
  openAtFirstToken: boolean
  text: string
}

/** The long reply (400 tokens, 10 ms apart), asked for with `headers`, decoded as it arrives. */
function ask(origin: string, content: string, headers: Record<string, string>) {
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(
      `${origin}/api/copilot`,
      { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers } },
      (res) => {
        const encoding = res.headers['content-encoding']
        const gunzip = encoding === 'gzip' ? createGunzip() : undefined
        let text = ''
        let openAtFirstToken = false
        const onText = (piece: Buffer) => {
          const before = text.includes('"content":"tok0 ')
          text += piece.toString('utf8')
          if (!before && text.includes('"content":"tok0 ')) openAtFirstToken = !res.complete
        }
        gunzip?.on('data', onText)
        res.on('data', (chunk: Buffer) => {
          if (!gunzip) return onText(chunk)
          gunzip.write(chunk)
          gunzip.flush(() => {})
        })
        res.on('end', () => {
          const done = () => resolve({ encoding, vary: res.headers.vary, openAtFirstToken, text })
          if (!gunzip) return done()
          gunzip.once('end', done)
          gunzip.end()
          gunzip.resume()
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify({ messages: [{ role: 'user', content }], stream: true }))
  })
}

describe.each(runtimes)('SSE compression on $name', ({ command, args }) => {
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
      SSE_COMPRESSION: 'auto',
    })
  })
  afterAll(async () => {
    await server?.stop()
    await upstream?.close()
  })

  it('sends gzip as it goes: the first token decodes while the answer still streams', async () => {
    const answer = await ask(server.origin, 'disconnect test: gzip', {
      'Accept-Encoding': 'gzip, deflate, br, zstd',
    })
    expect(answer.encoding, server.stderr()).toBe('gzip')
    expect(answer.vary).toBe('Accept-Encoding, X-CopilotEdge-Compression')
    expect(answer.openAtFirstToken).toBe(true)
    expect(answer.text).toContain('"content":"tok399 "')
    expect(answer.text.endsWith('data: [DONE]\n\n')).toBe(true)
  }, 30_000)

  it('sends the opted-out stream unencoded (the runtime does not compress it either)', async () => {
    const answer = await ask(server.origin, 'Hi, unencoded', {
      'Accept-Encoding': 'gzip, br',
      'X-CopilotEdge-Compression': 'off',
    })
    expect(answer.encoding, server.stderr()).toBeUndefined()
    expect(answer.text).toMatch(/^id: 1\ndata: \{/)
    expect(answer.text).toContain('"content":"Hello ')
    expect(answer.text.endsWith('data: [DONE]\n\n')).toBe(true)
  }, 30_000)
})
