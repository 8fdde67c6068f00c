import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOpenAICompatibleProvider } from '../../../src/server/providers/openai-compatible'
import type { ProviderRequest, UpstreamEvent } from '../../../src/server/providers/provider'
import type { WorkersAIRoute } from '../../../src/server/providers/wire/workers-ai-request'
import { createWorkersAIProvider } from '../../../src/server/providers/workers-ai'
import type { EmulatorServer } from '../../../src/testing'
import { createWorkersAIEmulator } from '../../../src/testing'
import { collect, collectUntilError } from './helpers'

// The Workers AI provider against the emulator (copilotedge/testing), in-process through its
// fetchImpl and over a real loopback HTTP server: both routes, both stream shapes, faults.

const REPLY = 'Hi there, from the emulator.'
const NATIVE_MODEL = '@cf/meta/llama-3.1-8b-instruct'
const OPENAI_MODEL = '@cf/openai/gpt-oss-20b'

const emu = createWorkersAIEmulator({ reply: REPLY })
let server: EmulatorServer

beforeAll(async () => {
  server = await emu.listen()
})
afterAll(async () => {
  await server.close()
})

function request(model: string, signal = new AbortController().signal): ProviderRequest {
  return {
    model,
    messages: [{ role: 'user', content: 'Hello?' }],
    params: { max_tokens: 64 },
    signal,
  }
}

function textOf(events: UpstreamEvent[]): string {
  return events.map((event) => (event.type === 'text' ? event.text : '')).join('')
}

const transports = [
  { name: 'in-process', options: () => ({ fetch: emu.fetchImpl, baseURL: emu.baseURL }) },
  { name: 'over loopback HTTP', options: () => ({ baseURL: server.baseURL }) },
] as const

describe.each(transports)('Workers AI provider against the emulator $name', (transport) => {
  function provider(route: WorkersAIRoute = 'run', apiKey = emu.apiToken) {
    return createWorkersAIProvider({
      accountId: emu.accountId,
      apiKey,
      route,
      ...transport.options(),
    })
  }

  const cases = [
    { route: 'run', model: NATIVE_MODEL, shape: 'native frames' },
    { route: 'run', model: OPENAI_MODEL, shape: 'OpenAI chunks' },
    { route: 'openai', model: NATIVE_MODEL, shape: 'OpenAI chunks' },
    { route: 'openai', model: OPENAI_MODEL, shape: 'OpenAI chunks' },
  ] as const

  for (const { route, model, shape } of cases) {
    it(`streams ${model} on the ${route} route (${shape}) to the reply, usage and stop`, async () => {
      emu.reset()
      const events = await collect(await provider(route).stream(request(model)))
      expect(textOf(events)).toBe(REPLY)
      expect(events.slice(-2)).toEqual([
        { type: 'usage', usage: expect.objectContaining({ completion_tokens: 5 }) },
        { type: 'finish', reason: 'stop' },
      ])
      await emu.idle()
      const [seen] = emu.requests
      expect(seen).toMatchObject({
        method: 'POST',
        route: route === 'run' ? 'run' : 'chat-completions',
        model,
        stream: true,
        status: 200,
        aborted: false,
        completed: true,
      })
      expect(seen?.headers.authorization).toBe(`Bearer ${emu.apiToken}`)
      expect(seen?.path).toBe(
        route === 'run'
          ? `/client/v4/accounts/${emu.accountId}/ai/run/${model}`
          : `/client/v4/accounts/${emu.accountId}/ai/v1/chat/completions`,
      )
      const body = seen?.body as Record<string, unknown>
      expect('stream_options' in body).toBe(route === 'openai')
      expect(body.max_tokens).toBe(64)
    })

    it(`completes ${model} on the ${route} route without streaming`, async () => {
      emu.reset()
      const result = await provider(route).complete(request(model))
      expect(result).toMatchObject({ text: REPLY, finishReason: 'stop' })
      expect(emu.requests[0]?.stream).toBe(false)
    })
  }

  it('maps a 429 with Retry-After to an http UpstreamError with code and retryAfterMs', async () => {
    emu.reset()
    emu.fault({ type: 'status', status: 429, code: 3040, retryAfter: 3 })
    await expect(provider().stream(request(NATIVE_MODEL))).rejects.toMatchObject({
      name: 'UpstreamError',
      kind: 'http',
      status: 429,
      code: '3040',
      retryAfterMs: 3000,
    })
  })

  it('maps a wrong token to 401 code 10000 without echoing the token', async () => {
    emu.reset()
    const error = await provider('run', 'not-the-token')
      .complete(request(NATIVE_MODEL))
      .then(
        () => undefined,
        (e: Error) => e,
      )
    expect(error).toMatchObject({ kind: 'http', status: 401, code: '10000' })
    expect(error?.message).not.toContain('not-the-token')
  })

  it('maps an unknown model to 400 code 5007', async () => {
    emu.reset()
    await expect(provider().complete(request('@cf/nope/none'))).rejects.toMatchObject({
      kind: 'http',
      status: 400,
      code: '5007',
    })
  })

  it('replays JSON answered to a stream request as the complete reply', async () => {
    emu.reset()
    emu.fault({ type: 'json-for-stream' })
    const events = await collect(await provider().stream(request(OPENAI_MODEL)))
    expect(textOf(events)).toBe(REPLY)
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' })
  })

  it('reports a stream cut after two tokens as truncated or a network failure, after those tokens', async () => {
    emu.reset()
    emu.fault({ type: 'drop', afterTokens: 2 })
    const { events, error } = await collectUntilError(
      await provider().stream(request(NATIVE_MODEL)),
    )
    expect(textOf(events)).toBe('Hi there, ')
    // In-process the body just ends (truncated); over HTTP the socket ends uncleanly (network).
    expect(error).toMatchObject({
      name: 'UpstreamError',
      kind: transport.name === 'in-process' ? 'truncated' : 'network',
    })
  })

  it('reports a malformed frame and an in-stream error frame', async () => {
    emu.reset()
    emu.fault([
      { type: 'malformed', afterTokens: 1 },
      { type: 'error-frame', afterTokens: 1, code: 3040 },
    ])
    const malformed = await collectUntilError(await provider().stream(request(NATIVE_MODEL)))
    expect(malformed.error).toMatchObject({ kind: 'malformed' })
    const inStream = await collectUntilError(await provider().stream(request(NATIVE_MODEL)))
    expect(textOf(inStream.events)).toBe('Hi ')
    expect(inStream.error).toMatchObject({ kind: 'in-stream', code: '3040' })
  })

  it('aborting mid-stream rejects with the AbortError and the emulator records the request aborted', async () => {
    emu.reset()
    emu.fault({ type: 'stall-mid-stream', afterTokens: 1, ms: 10_000 })
    const controller = new AbortController()
    const iterator = (await provider().stream(request(NATIVE_MODEL, controller.signal)))[
      Symbol.asyncIterator
    ]()
    expect(await iterator.next()).toEqual({ done: false, value: { type: 'text', text: 'Hi ' } })
    const pending = iterator.next()
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ aborted: true, completed: false })
  })

  it('breaking out of the loop makes the emulator record the request aborted', async () => {
    emu.reset()
    emu.fault({ type: 'stall-mid-stream', afterTokens: 1, ms: 10_000 })
    for await (const event of await provider().stream(request(NATIVE_MODEL))) {
      expect(event).toEqual({ type: 'text', text: 'Hi ' })
      break
    }
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ aborted: true, tokensSent: 1 })
  })
})

describe('Workers AI provider against the emulator in-process, backpressure', () => {
  it('lets the emulator produce tokens only as fast as the consumer reads them', async () => {
    const paced = createWorkersAIEmulator({ tokens: 100_000 })
    const provider = createWorkersAIProvider({
      accountId: paced.accountId,
      apiKey: paced.apiToken,
      fetch: paced.fetchImpl,
      baseURL: paced.baseURL,
    })
    // No max_tokens: the emulator honours it and would end the reply after 64 tokens.
    const iterator = (await provider.stream({ ...request(NATIVE_MODEL), params: {} }))[
      Symbol.asyncIterator
    ]()
    for (let i = 0; i < 5; i++) {
      expect(await iterator.next()).toEqual({
        done: false,
        value: { type: 'text', text: `tok${i} ` },
      })
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
    // The emulator may batch unpaced frames into chunks of a few hundred tokens; what matters is
    // that it is nowhere near the 100,000 it would have produced if the body were read eagerly.
    expect(paced.requests[0]?.tokensSent).toBeLessThan(5_000)
    expect(paced.requests[0]?.completed).toBe(false)
    await iterator.return?.()
    await paced.idle()
    expect(paced.requests[0]).toMatchObject({ aborted: true, completed: false })
  })
})

describe('OpenAI-compatible provider against the emulator /ai/v1 route', () => {
  it('streams and completes through {baseURL}/accounts/{id}/ai/v1', async () => {
    const local = createWorkersAIEmulator({ reply: REPLY })
    const provider = createOpenAICompatibleProvider({
      baseURL: `${local.baseURL}/accounts/${local.accountId}/ai/v1`,
      apiKey: local.apiToken,
      fetch: local.fetchImpl,
      name: 'workers-ai-openai',
    })
    const events = await collect(await provider.stream(request(NATIVE_MODEL)))
    expect(textOf(events)).toBe(REPLY)
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' })
    expect(events.some((event) => event.type === 'usage')).toBe(true)
    expect((await provider.complete(request(NATIVE_MODEL))).text).toBe(REPLY)
    await local.idle()
    expect(local.requests.map((r) => [r.route, r.stream, r.aborted])).toEqual([
      ['chat-completions', true, false],
      ['chat-completions', false, false],
    ])
  })
})
