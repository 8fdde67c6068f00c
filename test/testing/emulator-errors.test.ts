import { describe, expect, it } from 'vitest'
import { createWorkersAIEmulator } from '../../src/testing'
import { chatPath, inProcess, LLAMA, post, runPath, userSays } from './emulator-helpers'

const AUTH_ERROR =
  '{"result":null,"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[]}'

async function envelope(res: Response) {
  expect(res.headers.get('content-type')).toBe('application/json')
  return res.json()
}

describe('authentication', () => {
  it.each([
    ['missing', null],
    ['wrong', 'not-the-token'],
  ])('answers a %s Bearer token with 401 and the exact v4 auth envelope', async (_, token) => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'x' }, { token })
    expect(res.status).toBe(401)
    expect(await res.text()).toBe(AUTH_ERROR)
    expect(emu.requests[0]).toMatchObject({ status: 401, completed: true })
  })

  it('never echoes the token it was given', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'x' }, { token: 'sk-leak' })
    expect(await res.text()).not.toContain('sk-leak')
  })

  it('accepts the configured token on both routes', async () => {
    const emu = createWorkersAIEmulator({ apiToken: 't0k' })
    const target = inProcess(emu)
    expect((await post(target, runPath(LLAMA), { prompt: 'x' }, { token: 't0k' })).status).toBe(200)
    const chat = await post(
      target,
      chatPath(),
      { model: LLAMA, messages: userSays('x') },
      { token: 't0k' },
    )
    expect(chat.status).toBe(200)
  })
})

describe('routing errors', () => {
  it('answers an unknown model with 400, code 5007, on /ai/run', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), runPath('@cf/meta/llama-9'), { prompt: 'x' })
    expect(res.status).toBe(400)
    expect(await envelope(res)).toEqual({
      result: null,
      success: false,
      errors: [{ code: 5007, message: 'AiError: No such model @cf/meta/llama-9 or task' }],
      messages: [],
    })
  })

  it('answers an unknown model with 400, code 5007, on /v1/chat/completions', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), chatPath(), { model: 'gpt-4o', messages: userSays('x') })
    expect(res.status).toBe(400)
    expect((await envelope(res)).errors).toEqual([
      { code: 5007, message: 'AiError: No such model gpt-4o or task' },
    ])
  })

  it('answers a wrong account id with 404 in the v4 envelope', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), runPath(LLAMA, 'someone-else'), { prompt: 'x' })
    expect(res.status).toBe(404)
    const body = await envelope(res)
    expect(body.success).toBe(false)
    expect(body.errors.map((e: { code: number }) => e.code)).toEqual([7003, 7000])
  })

  it('answers an unknown path with 404, code 7000', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), '/accounts/emulator-account/ai/models', {})
    expect(res.status).toBe(404)
    expect((await envelope(res)).errors).toEqual([{ code: 7000, message: 'No route for that URI' }])
    expect(emu.requests[0]!.route).toBe('unknown')
  })

  it('answers a GET on a model route with 405 and Allow: POST', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), runPath(LLAMA), null, { method: 'GET' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('POST')
    expect((await envelope(res)).errors[0].code).toBe(7001)
  })
})

describe('bad input', () => {
  it('answers a body that is not JSON with 400, code 5006, and records the raw text', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), runPath(LLAMA), null, { rawBody: '{"prompt":' })
    expect(res.status).toBe(400)
    expect((await envelope(res)).errors[0].code).toBe(5006)
    expect(emu.requests[0]!.body).toBe('{"prompt":')
  })

  it('answers an empty body with 400, code 3003', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), runPath(LLAMA), null, { rawBody: '' })
    expect(res.status).toBe(400)
    expect((await envelope(res)).errors[0].code).toBe(3003)
  })

  it('refuses prompt and messages together', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), runPath(LLAMA), {
      prompt: 'a',
      messages: userSays('b'),
    })
    expect(res.status).toBe(400)
    expect((await envelope(res)).errors).toEqual([
      { code: 5006, message: 'prompt and messages are mutually exclusive' },
    ])
  })

  it.each([
    ['neither prompt nor messages', {}],
    ['messages that are not role objects', { messages: ['hi'] }],
    ['an empty messages array', { messages: [] }],
    ['a non-boolean stream', { prompt: 'x', stream: 'yes' }],
    ['a zero max_tokens', { prompt: 'x', max_tokens: 0 }],
    ['tools without names', { prompt: 'x', tools: [{ type: 'function', function: {} }] }],
    ['a JSON array body', [1, 2]],
  ])('answers %s with 400, code 5006', async (_, body) => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), runPath(LLAMA), body)
    expect(res.status).toBe(400)
    expect((await envelope(res)).errors[0].code).toBe(5006)
  })

  it('requires model and messages on /v1/chat/completions', async () => {
    const emu = createWorkersAIEmulator()
    const target = inProcess(emu)
    expect((await post(target, chatPath(), { messages: userSays('x') })).status).toBe(400)
    expect((await post(target, chatPath(), { model: LLAMA, prompt: 'x' })).status).toBe(400)
  })
})

describe('status faults', () => {
  it('answers 429 with code 3040, the capacity message and Retry-After in seconds', async () => {
    const emu = createWorkersAIEmulator()
    emu.fault({ type: 'status', status: 429, retryAfter: 3 })
    const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'x', stream: true })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('3')
    expect(await res.text()).toBe(
      '{"result":null,"success":false,"errors":[{"code":3040,"message":"Capacity temporarily exceeded, please try again."}],"messages":[]}',
    )
  })

  it.each([
    [400, 5006],
    [401, 10000],
    [403, 10000],
    [404, 3042],
    [408, 3007],
    [413, 3006],
    [500, 3043],
    [503, 3043],
  ])('answers status %i with a default code %i and no Retry-After', async (status, code) => {
    const emu = createWorkersAIEmulator()
    emu.fault({ type: 'status', status })
    const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'x' })
    expect(res.status).toBe(status)
    expect(res.headers.get('retry-after')).toBeNull()
    expect((await envelope(res)).errors[0].code).toBe(code)
  })

  it('uses the code and message the fault names', async () => {
    const emu = createWorkersAIEmulator()
    emu.fault({ type: 'status', status: 429, code: 4006, message: 'AiError: daily allocation' })
    const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'x' })
    expect((await envelope(res)).errors).toEqual([
      { code: 4006, message: 'AiError: daily allocation' },
    ])
  })

  it('applies queued faults to subsequent requests in order, then answers normally', async () => {
    const emu = createWorkersAIEmulator()
    emu.fault([
      { type: 'status', status: 503 },
      { type: 'status', status: 429 },
    ])
    const target = inProcess(emu)
    const statuses = []
    for (let i = 0; i < 3; i++)
      statuses.push((await post(target, runPath(LLAMA), { prompt: 'x' })).status)
    expect(statuses).toEqual([503, 429, 200])
    expect(emu.requests.map((r) => r.fault?.type ?? null)).toEqual(['status', 'status', null])
  })

  it('forgets requests and queued faults on reset', async () => {
    const emu = createWorkersAIEmulator()
    emu.fault({ type: 'status', status: 500 })
    await post(inProcess(emu), runPath(LLAMA), { prompt: 'x' })
    emu.fault({ type: 'status', status: 500 })
    emu.reset()
    expect(emu.requests).toEqual([])
    expect((await post(inProcess(emu), runPath(LLAMA), { prompt: 'x' })).status).toBe(200)
    expect(emu.requests[0]!.id).toBe(2)
  })
})

describe('a throwing reply callback', () => {
  it('answers 500 saying the callback threw, in-process and over loopback', async () => {
    const emu = createWorkersAIEmulator({
      reply: () => {
        throw new Error('boom')
      },
    })
    const server = await emu.listen()
    try {
      for (const target of [inProcess(emu), { fetch: globalThis.fetch, baseURL: server.baseURL }]) {
        const res = await post(target, runPath(LLAMA), { prompt: 'x', stream: true })
        expect(res.status).toBe(500)
        expect((await envelope(res)).errors).toEqual([
          { code: 3043, message: 'Emulator reply callback threw: boom' },
        ])
      }
    } finally {
      await server.close()
    }
  })
})
