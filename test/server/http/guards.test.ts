import { describe, expect, it, vi } from 'vitest'
import { withGuards } from '../../../src/server/http/guards'

const APP = 'https://app.example'

function post(headers: Record<string, string> = {}): Request {
  return new Request('http://localhost/api', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: '{"messages":[]}',
  })
}

function fakeHandler() {
  return vi.fn(async (_request: Request) => new Response('{"ok":true}', { status: 200 }))
}

describe('withGuards', () => {
  it('returns the handler itself when no guard is configured', () => {
    const handler = fakeHandler()
    expect(withGuards({}, handler)).toBe(handler)
    expect(withGuards({ rateLimit: false, cors: false }, handler)).toBe(handler)
  })

  it('answers 429 with Retry-After in whole seconds and a rate_limit_error body, without calling the handler', async () => {
    let t = 0
    const handler = fakeHandler()
    const guarded = withGuards(
      { rateLimit: { capacity: 2, refillPerSecond: 0.4, now: () => t } },
      handler,
    )
    expect((await guarded(post())).status).toBe(200)
    expect((await guarded(post())).status).toBe(200)
    const limited = await guarded(post())
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('3')
    expect(limited.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(await limited.json()).toEqual({
      error: {
        message: 'Rate limit exceeded: try again in 3 s.',
        type: 'rate_limit_error',
        code: 'rate_limited',
        param: null,
      },
    })
    expect(handler).toHaveBeenCalledTimes(2)
    t += 2500
    expect((await guarded(post())).status).toBe(200)
  })

  it('lets requests through (and logs) when the rate-limit store or key function fails', async () => {
    const logger = { error: vi.fn() }
    const handler = fakeHandler()
    const guarded = withGuards(
      {
        rateLimit: {
          capacity: 1,
          refillPerSecond: 1,
          store: {
            get: async () => {
              throw new Error('redis down')
            },
            set: () => {},
          },
        },
      },
      handler,
      { logger },
    )
    expect((await guarded(post())).status).toBe(200)
    expect((await guarded(post())).status).toBe(200)
    expect(logger.error).toHaveBeenCalledWith(
      'rate limit check failed; letting the request through:',
      'Error: redis down',
    )
    const throwingKey = withGuards(
      {
        rateLimit: {
          capacity: 1,
          refillPerSecond: 1,
          key: () => {
            throw new Error('no session')
          },
        },
      },
      handler,
      { logger },
    )
    expect((await throwingKey(post())).status).toBe(200)
    expect(handler).toHaveBeenCalledTimes(3)
  })

  it('sends 401 JSON when authorize says false, a custom Response as is, and 500 (logged) when it throws', async () => {
    const handler = fakeHandler()
    const logger = { error: vi.fn() }
    const guarded = withGuards(
      {
        authorize: (r) => {
          const token = r.headers.get('authorization')
          if (token === 'Bearer good') return true
          if (token === 'Bearer teapot') return new Response('short and stout', { status: 418 })
          if (token === 'Bearer boom') throw new Error('db down')
          return false
        },
      },
      handler,
      { logger },
    )
    const denied = await guarded(post())
    expect(denied.status).toBe(401)
    expect(denied.headers.get('www-authenticate')).toBe('Bearer')
    expect(await denied.json()).toEqual({
      error: {
        message: 'Unauthorized.',
        type: 'invalid_request_error',
        code: 'unauthorized',
        param: null,
      },
    })
    const teapot = await guarded(post({ Authorization: 'Bearer teapot' }))
    expect(teapot.status).toBe(418)
    expect(await teapot.text()).toBe('short and stout')
    const boom = await guarded(post({ Authorization: 'Bearer boom' }))
    expect(boom.status).toBe(500)
    expect((await boom.json()).error.code).toBe('authorize_failed')
    expect(logger.error).toHaveBeenCalledWith('authorize threw; answering 500:', 'Error: db down')
    expect(handler).not.toHaveBeenCalled()
    expect((await guarded(post({ Authorization: 'Bearer good' }))).status).toBe(200)
    expect(handler).toHaveBeenCalledTimes(1)
  })

  it('answers 500 (logged) when authorize consumed the body, and works when it read a clone', async () => {
    const logger = { error: vi.fn() }
    const handler = vi.fn(async (request: Request) => Response.json(await request.json()))
    const consuming = withGuards(
      { authorize: async (r) => (await r.json()).messages !== undefined },
      handler,
      { logger },
    )
    const res = await consuming(post())
    expect(res.status).toBe(500)
    expect((await res.json()).error.code).toBe('authorize_failed')
    expect(logger.error.mock.calls[0]?.[0]).toMatch(/request\.clone\(\)/)
    expect(handler).not.toHaveBeenCalled()
    const cloning = withGuards(
      { authorize: async (r) => (await r.clone().json()).messages !== undefined },
      handler,
    )
    const ok = await cloning(post())
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ messages: [] })
  })

  it('treats a truthy non-true verdict as a refusal (only true lets a request through)', async () => {
    const guarded = withGuards({ authorize: () => 'yes' as unknown as boolean }, fakeHandler())
    expect((await guarded(post())).status).toBe(401)
  })

  it('rate-limits before authorize runs, so a token-guessing flood never reaches it', async () => {
    const authorize = vi.fn(() => false)
    const guarded = withGuards(
      { rateLimit: { capacity: 1, refillPerSecond: 1, now: () => 0 }, authorize },
      fakeHandler(),
    )
    expect((await guarded(post())).status).toBe(401)
    expect((await guarded(post())).status).toBe(429)
    expect(authorize).toHaveBeenCalledTimes(1)
  })

  it('answers preflights itself (not limited, not authorised) and puts CORS headers on every answer', async () => {
    const handler = fakeHandler()
    const guarded = withGuards(
      {
        cors: { origins: [APP] },
        rateLimit: { capacity: 1, refillPerSecond: 1, now: () => 0 },
        authorize: (r) => r.headers.get('authorization') === 'Bearer good',
      },
      handler,
    )
    for (let i = 0; i < 3; i++) {
      const pre = await guarded(
        new Request('http://localhost/api', {
          method: 'OPTIONS',
          headers: { Origin: APP, 'Access-Control-Request-Method': 'POST' },
        }),
      )
      expect(pre.status).toBe(204)
      expect(pre.headers.get('access-control-allow-origin')).toBe(APP)
    }
    const ok = await guarded(post({ Origin: APP, Authorization: 'Bearer good' }))
    expect(ok.status).toBe(200)
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP)
    const limited = await guarded(post({ Origin: APP }))
    expect(limited.status).toBe(429)
    expect(limited.headers.get('access-control-allow-origin')).toBe(APP)
    expect(limited.headers.get('access-control-expose-headers')).toContain('Retry-After')
    const evil = await guarded(post({ Origin: 'https://evil.example' }))
    expect(evil.headers.has('access-control-allow-origin')).toBe(false)
    expect(evil.headers.get('vary')).toBe('Origin')
    expect(handler).toHaveBeenCalledTimes(1)
  })
})
