import { describe, expect, it } from 'vitest'
import { createCopilotEdgeRoute } from '../../../src/server'
import { createWorkersAIEmulator } from '../../../src/testing'

const APP = 'https://app.example'
const URL_ = 'http://localhost/api/copilot'

function routeOnEmulator(extra: Parameters<typeof createCopilotEdgeRoute>[0] = {}) {
  const emu = createWorkersAIEmulator({ reply: 'Hi from the emulator.' })
  const route = createCopilotEdgeRoute({
    apiKey: emu.apiToken,
    accountId: emu.accountId,
    baseURL: emu.baseURL,
    fetch: emu.fetchImpl,
    ...extra,
  })
  return { emu, route }
}

describe('createCopilotEdgeRoute', () => {
  it('answers a POST chat request with the upstream reply', async () => {
    const { route } = routeOnEmulator()
    const res = await route.POST(
      new Request(URL_, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }] }),
      }),
    )
    expect(res.status).toBe(200)
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> }
    expect(body.choices[0]?.message.content).toBe('Hi from the emulator.')
  })

  it('answers GET, PUT, PATCH and DELETE with a 405 OpenAI error JSON and Allow: POST', async () => {
    const { emu, route } = routeOnEmulator()
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE'] as const) {
      const init: RequestInit = method === 'GET' ? { method } : { method, body: '{}' }
      const res = await route[method](new Request(URL_, init))
      expect(res.status, method).toBe(405)
      expect(res.headers.get('allow'), method).toBe('POST')
      expect(res.headers.get('content-type'), method).toMatch(/^application\/json/)
      const body = (await res.json()) as { error: { type: string; message: string } }
      expect(body.error.type, method).toBe('invalid_request_error')
      expect(body.error.message, method).toContain(method)
    }
    expect(emu.requests).toHaveLength(0)
  })

  it('answers HEAD with a 405 and Allow: POST, and no body', async () => {
    const { route } = routeOnEmulator()
    const res = await route.HEAD(new Request(URL_, { method: 'HEAD' }))
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('POST')
    expect(res.body).toBeNull()
    expect(await res.text()).toBe('')
  })

  it('answers a CORS preflight on OPTIONS when cors is configured', async () => {
    const { route } = routeOnEmulator({ cors: { origins: [APP] } })
    const res = await route.OPTIONS(
      new Request(URL_, {
        method: 'OPTIONS',
        headers: {
          Origin: APP,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type',
        },
      }),
    )
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
    expect(res.headers.get('access-control-allow-methods')).toContain('POST')
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type')
  })

  it('reaches the resume routes with GET (replay after Last-Event-ID) and DELETE (stop)', async () => {
    const { route } = routeOnEmulator({ resume: true })
    const res = await route.POST(
      new Request(URL_, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }], stream: true }),
      }),
    )
    const streamId = res.headers.get('x-copilotedge-stream-id')
    expect(streamId).toBeTruthy()
    const full = await res.text()
    expect(full).toContain('data: [DONE]')
    const replay = await route.GET(
      new Request(`${URL_}?stream=${streamId}`, { headers: { 'Last-Event-ID': '1' } }),
    )
    expect(replay.status).toBe(200)
    const text = await replay.text()
    expect(text).not.toMatch(/^id: 1$/m)
    expect(full.endsWith(text)).toBe(true)
    const stopped = await route.DELETE(
      new Request(`${URL_}?stream=${streamId}`, { method: 'DELETE' }),
    )
    expect(stopped.status).toBe(204)
  })

  it('answers OPTIONS with a 405 and Allow: POST when cors is not configured', async () => {
    const { route } = routeOnEmulator()
    const res = await route.OPTIONS(
      new Request(URL_, {
        method: 'OPTIONS',
        headers: { Origin: APP, 'Access-Control-Request-Method': 'POST' },
      }),
    )
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('POST')
    expect(res.headers.has('access-control-allow-origin')).toBe(false)
  })
})
