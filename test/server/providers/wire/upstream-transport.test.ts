import type { IncomingHttpHeaders } from 'node:http'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defaultTransport } from '../../../../src/server/providers/wire/upstream-transport'
import { closeLoopbackUpstreams, loopbackUpstream } from '../helpers'

// Which HTTP client carries an upstream request when no `fetch` is configured. Node's fetch sends
// `sec-fetch-mode: cors` on every request; node:http sends no such header: the upstream tells them
// apart.

const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1')
const globals = globalThis as unknown as Record<symbol, unknown>

afterEach(async () => {
  vi.unstubAllGlobals()
  await closeLoopbackUpstreams()
})

/** A server recording each request's headers; answers `ok`. */
async function upstream(): Promise<{ url: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = []
  const { origin } = await loopbackUpstream((req, res) => {
    seen.push(req.headers)
    res.end('ok')
  })
  return { url: `${origin}/`, seen }
}

const init = () => ({
  method: 'POST' as const,
  headers: { 'content-type': 'application/json' },
  body: '{}',
  signal: new AbortController().signal,
})

describe('the default upstream transport', () => {
  it("goes through node:http on Node while fetch is Node's own", async () => {
    const { url, seen } = await upstream()
    // Node's fetch has set up its own dispatcher by now: that one is not the user's.
    await (await fetch(url, init())).text()
    const response = await defaultTransport(url, init())
    expect(await response.text()).toBe('ok')
    expect(response).not.toBeInstanceOf(Response)
    expect(seen.map((headers) => headers['sec-fetch-mode'])).toEqual(['cors', undefined])
  })

  it('uses a replaced globalThis.fetch (a stub installed after this module loaded)', async () => {
    const stub = vi.fn(async () => new Response('stubbed'))
    vi.stubGlobal('fetch', stub)
    const sent = init()
    const response = await defaultTransport('http://127.0.0.1:9/x', sent)
    expect(await response.text()).toBe('stubbed')
    expect(stub).toHaveBeenCalledWith('http://127.0.0.1:9/x', sent)
  })

  it('uses a fetch installed before this module loaded (a wrapper of Node’s own)', async () => {
    const { url, seen } = await upstream()
    const own = globalThis.fetch
    const wrapper = vi.fn((input: string, init: RequestInit) => own(input, init))
    vi.stubGlobal('fetch', wrapper)
    vi.resetModules()
    const fresh = await import('../../../../src/server/providers/wire/upstream-transport')
    expect(await (await fresh.defaultTransport(url, init())).text()).toBe('ok')
    expect(wrapper).toHaveBeenCalledTimes(1)
    expect(seen.map((headers) => headers['sec-fetch-mode'])).toEqual(['cors'])
  })

  it('goes through node:http under Next.js, whose fetch wraps Node’s own', async () => {
    const { url, seen } = await upstream()
    const own = globalThis.fetch
    // What Next.js's patchFetch leaves on globalThis before it loads a route module.
    const patched = Object.assign(
      vi.fn((input: string, init: RequestInit) => own(input, init)),
      {
        __nextPatched: true,
        _nextOriginalFetch: own,
      },
    )
    vi.stubGlobal('fetch', patched)
    vi.resetModules()
    const fresh = await import('../../../../src/server/providers/wire/upstream-transport')
    expect(await (await fresh.defaultTransport(url, init())).text()).toBe('ok')
    expect(patched).not.toHaveBeenCalled()
    expect(seen.map((headers) => headers['sec-fetch-mode'])).toEqual([undefined])
  })

  it('goes through node:http when Next.js wraps fetch after this module loaded', async () => {
    const { url, seen } = await upstream()
    const own = globalThis.fetch
    const patched = Object.assign(
      vi.fn((input: string, init: RequestInit) => own(input, init)),
      {
        __nextPatched: true,
        _nextOriginalFetch: own,
      },
    )
    vi.stubGlobal('fetch', patched)
    expect(await (await defaultTransport(url, init())).text()).toBe('ok')
    expect(patched).not.toHaveBeenCalled()
    expect(seen.map((headers) => headers['sec-fetch-mode'])).toEqual([undefined])
  })

  it("keeps to fetch when undici's global dispatcher is a proxy", async () => {
    const { url, seen } = await upstream()
    await (await fetch(url, init())).text()
    const own = globals[GLOBAL_DISPATCHER] as { dispatch(...args: unknown[]): boolean }
    let dispatched = 0
    // What `setGlobalDispatcher(new ProxyAgent(...))` leaves there, forwarding to Node's own.
    class ProxyAgent {
      dispatch(...args: unknown[]): boolean {
        dispatched++
        return own.dispatch(...args)
      }
    }
    globals[GLOBAL_DISPATCHER] = new ProxyAgent()
    try {
      expect(await (await defaultTransport(url, init())).text()).toBe('ok')
    } finally {
      globals[GLOBAL_DISPATCHER] = own
    }
    expect(dispatched).toBe(1)
    expect(seen.map((headers) => headers['sec-fetch-mode'])).toEqual(['cors', 'cors'])
  })
})
