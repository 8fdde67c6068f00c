// The abuse guards wired into the real handler, over loopback HTTP: rate limit per client before the
// body is read, authorize, CORS on every answer (errors and SSE included), and off by default.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CopilotEdgeConfig, createCopilotEdgeHandler } from '../../src/server'
import { createWorkersAIEmulator, type EmulatorServer } from '../../src/testing'
import { serveHandler } from '../helpers/serve-handler'
import { rawRequest } from './http'
import { readStream } from './sse'

const APP = 'https://app.example'
const emulator = createWorkersAIEmulator({ tokens: 3 })
let upstream: EmulatorServer
const servers: { origin: string; close(): Promise<void> }[] = []
let t = 0

async function serveWith(config: Partial<CopilotEdgeConfig>): Promise<string> {
  const server = await serveHandler(
    createCopilotEdgeHandler({
      apiKey: emulator.apiToken,
      accountId: emulator.accountId,
      baseURL: upstream.baseURL,
      logger: { debug() {}, warn() {}, error() {} },
      ...config,
    }),
  )
  servers.push(server)
  return server.origin
}

beforeAll(async () => {
  upstream = await emulator.listen({ port: 0 })
})

afterAll(async () => {
  for (const server of servers) await server.close()
  await upstream?.close()
})

const body = (content: string, stream = false) =>
  JSON.stringify({ stream, messages: [{ role: 'user', content }] })

function post(url: string, content: string, headers: Record<string, string> = {}, stream = false) {
  return fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body(content, stream),
  })
}

describe('guards in the handler, over loopback HTTP', () => {
  it('are off by default: no 429, no CORS headers, OPTIONS is a 405', async () => {
    const url = await serveWith({})
    for (let i = 0; i < 30; i++) {
      expect((await post(url, 'hello', { 'CF-Connecting-IP': '1.2.3.4' })).status).toBe(200)
    }
    const res = await post(url, 'hello', { Origin: APP })
    expect(res.headers.has('access-control-allow-origin')).toBe(false)
    const pre = await fetch(url, {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'POST' },
    })
    expect(pre.status).toBe(405)
    expect(pre.headers.get('allow')).toBe('POST')
  })

  it('rate-limits per client IP with 429 + Retry-After, counts cache hits, and refills on the clock', async () => {
    const url = await serveWith({
      rateLimit: { capacity: 2, refillPerSecond: 0.5, now: () => t },
    })
    emulator.reset()
    const a = { 'CF-Connecting-IP': '203.0.113.1' }
    expect((await post(url, 'same prompt', a)).status).toBe(200)
    const hit = await post(url, 'same prompt', a)
    expect(hit.headers.get('x-cache')).toBe('HIT')
    const limited = await post(url, 'same prompt', a)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('2')
    expect((await limited.json()).error).toMatchObject({ type: 'rate_limit_error', param: null })
    // Another client has its own bucket; the first one's is refilled after the wait.
    expect(
      (await post(url, 'same prompt', { 'X-Forwarded-For': '198.51.100.7, 10.0.0.1' })).status,
    ).toBe(200)
    t += 2000
    expect((await post(url, 'same prompt', a)).status).toBe(200)
    expect(emulator.requests).toHaveLength(1)
  })

  it('turns a flood away before reading its body, and keeps serving', async () => {
    const url = await serveWith({
      rateLimit: { capacity: 1, refillPerSecond: 0.001, now: () => 0 },
    })
    const ip = { 'CF-Connecting-IP': '192.0.2.50' }
    expect((await post(url, 'first', ip)).status).toBe(200)
    const big = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(900_000) }] })
    for (let i = 0; i < 5; i++) {
      const res = await rawRequest(url, {
        headers: { 'Content-Type': 'application/json', ...ip },
        body: big,
      })
      expect(res.status).toBe(429)
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(900)
      // The same through fetch's keep-alive pool: the unread body must not wedge the connection.
      const viaFetch = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...ip },
        body: big,
      })
      expect(viaFetch.status).toBe(429)
      await viaFetch.arrayBuffer()
    }
    expect((await post(url, 'other client', { 'CF-Connecting-IP': '192.0.2.51' })).status).toBe(200)
  })

  it('authorize: false is a 401 JSON error, a Response is sent as is, true serves', async () => {
    const url = await serveWith({
      authorize: (request) => {
        const auth = request.headers.get('authorization')
        if (auth === 'Bearer let-me-in') return true
        if (auth === 'Bearer banned') {
          return new Response('{"error":{"message":"banned","type":"invalid_request_error"}}', {
            status: 403,
            headers: { 'Content-Type': 'application/json' },
          })
        }
        return false
      },
    })
    const denied = await post(url, 'hi')
    expect(denied.status).toBe(401)
    expect((await denied.json()).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'unauthorized',
    })
    const banned = await post(url, 'hi', { Authorization: 'Bearer banned' })
    expect(banned.status).toBe(403)
    expect((await banned.json()).error.message).toBe('banned')
    expect((await post(url, 'hi', { Authorization: 'Bearer let-me-in' })).status).toBe(200)
  })

  it('CORS: preflight 204 for an allowed origin, headers on JSON, SSE, 400 and 429 answers; none for others', async () => {
    const url = await serveWith({
      cors: { origins: [APP], credentials: true, maxAge: 300 },
      rateLimit: { capacity: 4, refillPerSecond: 0.001, now: () => 0 },
    })
    const pre = await fetch(url, {
      method: 'OPTIONS',
      headers: {
        Origin: APP,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    })
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-origin')).toBe(APP)
    expect(pre.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE, OPTIONS')
    expect(pre.headers.get('access-control-allow-headers')).toContain('Content-Type')
    expect(pre.headers.get('access-control-max-age')).toBe('300')
    expect(pre.headers.get('access-control-allow-credentials')).toBe('true')
    expect(pre.headers.get('vary')).toBe('Origin')

    const origin = { Origin: APP }
    const json = await post(url, 'cors json', origin)
    expect(json.status).toBe(200)
    expect(json.headers.get('access-control-allow-origin')).toBe(APP)
    expect(json.headers.get('access-control-expose-headers')).toContain('X-Cache')

    const sse = await post(url, 'cors sse', origin, true)
    expect(sse.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(sse.headers.get('access-control-allow-origin')).toBe(APP)
    const streamed = await readStream(sse)
    expect(streamed.done).toBe(true)
    expect(streamed.text).toBe('tok0 tok1 tok2 ')

    const bad = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...origin },
      body: '{"messages":',
    })
    expect(bad.status).toBe(400)
    expect(bad.headers.get('access-control-allow-origin')).toBe(APP)

    const evil = await post(url, 'cors json', { Origin: 'https://evil.example' })
    expect(evil.headers.has('access-control-allow-origin')).toBe(false)
    expect(evil.headers.get('vary')).toBe('Origin')

    const limited = await post(url, 'cors json', origin)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('access-control-allow-origin')).toBe(APP)
    expect(limited.headers.get('access-control-expose-headers')).toContain('Retry-After')

    const preEvil = await fetch(url, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    })
    expect(preEvil.status).toBe(204)
    expect(preEvil.headers.has('access-control-allow-origin')).toBe(false)
    expect(preEvil.headers.has('access-control-allow-methods')).toBe(false)
  })

  it('refuses a config that cannot work, when the handler is built', () => {
    expect(() => createCopilotEdgeHandler({ rateLimit: { capacity: 10 } })).toThrow(TypeError)
    expect(() => createCopilotEdgeHandler({ cors: { origins: '*', credentials: true } })).toThrow(
      TypeError,
    )
  })
})
