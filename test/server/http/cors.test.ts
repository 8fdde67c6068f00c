import { describe, expect, it } from 'vitest'
import { createCors } from '../../../src/server/http/cors'

const APP = 'https://app.example'

function preflight(origin: string | null, headers: Record<string, string> = {}): Request {
  return new Request('http://localhost/api', {
    method: 'OPTIONS',
    headers: {
      ...(origin ? { Origin: origin } : {}),
      'Access-Control-Request-Method': 'POST',
      ...headers,
    },
  })
}

describe('createCors preflight', () => {
  it('answers an allowed origin with 204, the echoed origin, methods, headers, max-age and Vary', () => {
    const res = createCors({ origins: [APP] }).preflight(preflight(APP))!
    expect(res.status).toBe(204)
    expect(Object.fromEntries(res.headers)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
      'access-control-allow-headers': 'Content-Type, Authorization, Cache-Control, Last-Event-ID',
      'access-control-max-age': '600',
      vary: 'Origin',
    })
  })

  it('gives a disallowed origin no CORS headers at all', () => {
    const res = createCors({ origins: [APP] }).preflight(preflight('https://evil.example'))!
    expect(res.status).toBe(204)
    expect(Object.fromEntries(res.headers)).toEqual({ vary: 'Origin' })
  })

  it("echoes any origin for '*', and the requested headers for headers: '*'", () => {
    const res = createCors({ origins: '*', headers: '*', maxAge: 0 }).preflight(
      preflight('https://x.example', {
        'Access-Control-Request-Headers': 'x-stainless-os, content-type',
      }),
    )!
    expect(res.headers.get('access-control-allow-origin')).toBe('https://x.example')
    expect(res.headers.get('access-control-allow-headers')).toBe('x-stainless-os, content-type')
    expect(res.headers.has('access-control-max-age')).toBe(false)
  })

  it('matches configured origins regardless of case and trailing slash', () => {
    const res = createCors({ origins: ['https://App.Example/'] }).preflight(preflight(APP))!
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
  })

  it("never allows the opaque 'null' origin, even with '*'", () => {
    const res = createCors({ origins: '*' }).preflight(preflight('null'))!
    expect(res.headers.has('access-control-allow-origin')).toBe(false)
  })

  it('says credentials when configured', () => {
    const res = createCors({ origins: [APP], credentials: true }).preflight(preflight(APP))!
    expect(res.headers.get('access-control-allow-credentials')).toBe('true')
  })

  it('leaves requests that are not preflights to the handler', () => {
    const cors = createCors({ origins: '*' })
    expect(cors.preflight(new Request('http://localhost/', { method: 'OPTIONS' }))).toBeNull()
    expect(
      cors.preflight(
        new Request('http://localhost/', { method: 'POST', headers: { Origin: APP } }),
      ),
    ).toBeNull()
  })

  it("refuses credentials with origins '*' (any site could act as the signed-in user)", () => {
    expect(() => createCors({ origins: '*', credentials: true })).toThrow(TypeError)
    expect(() => createCors({ origins: 'https://a' as unknown as string[] })).toThrow(TypeError)
  })
})

describe('createCors apply', () => {
  const post = (origin?: string) =>
    new Request('http://localhost/api', {
      method: 'POST',
      headers: origin ? { Origin: origin } : {},
    })

  it('adds the origin, exposed headers and Vary to a response, keeping an existing Vary', () => {
    const res = createCors({ origins: [APP], credentials: true }).apply(
      post(APP),
      new Response('{}', { status: 429, headers: { Vary: 'Accept-Encoding', 'Retry-After': '3' } }),
    )
    expect(res.status).toBe(429)
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
    expect(res.headers.get('access-control-expose-headers')).toBe(
      'Retry-After, X-Cache, X-CopilotEdge-Stream-Id',
    )
    expect(res.headers.get('access-control-allow-credentials')).toBe('true')
    expect(res.headers.get('vary')).toBe('Accept-Encoding, Origin')
  })

  it('adds only Vary for a disallowed or missing origin', async () => {
    const cors = createCors({ origins: [APP] })
    for (const r of [post('https://evil.example'), post()]) {
      const res = cors.apply(r, new Response('x'))
      expect(Object.fromEntries(res.headers)).toEqual({
        'content-type': 'text/plain;charset=UTF-8',
        vary: 'Origin',
      })
    }
  })

  it('re-wraps a response with immutable headers and keeps its streamed body', async () => {
    const upstream = Response.error()
    expect(() => upstream.headers.set('x', 'y')).toThrow()
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('data: 1\n\n'))
        c.close()
      },
    })
    const frozen = new Response(body, { headers: { 'Content-Type': 'text/event-stream' } })
    Object.defineProperty(frozen, 'headers', { value: upstream.headers })
    const res = createCors({ origins: '*' }).apply(post(APP), frozen)
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
    expect(await res.text()).toBe('data: 1\n\n')
  })
})
