// The engine end to end over real loopback HTTP: the openai client → the handler (served with
// @hono/node-server) → the real Workers AI provider → the Workers AI emulator (listening too).
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import type { CopilotEdgeConfig } from '../../src/server'
import type { WorkersAIEmulator, WorkersAIEmulatorOptions } from '../../src/testing'
import {
  emulatorHandlers,
  GPT_OSS,
  LLAMA,
  openaiClient,
  streamText,
} from '../helpers/emulator-handler'

const serve = emulatorHandlers({ models: [LLAMA, GPT_OSS] })

async function stack(emulatorOptions?: WorkersAIEmulatorOptions, config?: CopilotEdgeConfig) {
  const { emulator, origin } = await serve(emulatorOptions, config)
  return { emulator, client: openaiClient(origin), origin }
}

function lastRequest(emulator: WorkersAIEmulator) {
  return emulator.requests[emulator.requests.length - 1]!
}

describe('against the Workers AI emulator over loopback HTTP', () => {
  it('streams the native /ai/run shape and the OpenAI shape (gpt-oss) to the openai client', async () => {
    const { client, emulator } = await stack()
    expect(await streamText(client)).toBe('Hello from the emulator')
    expect(await streamText(client, GPT_OSS)).toBe('Hello from the emulator')
    await emulator.idle()
    expect(emulator.requests.map((r) => [r.model, r.completed, r.aborted])).toEqual([
      [LLAMA, true, false],
      [GPT_OSS, true, false],
    ])
  })

  it('answers non-streaming create() and then serves it from the cache', async () => {
    const { client, emulator } = await stack()
    const ask = () =>
      client.chat.completions
        .create({ model: LLAMA, messages: [{ role: 'user', content: 'Hi' }] })
        .withResponse()
    const first = await ask()
    expect(first.data.choices[0]!.message.content).toBe('Hello from the emulator')
    expect(first.data.usage?.total_tokens).toBeGreaterThan(0)
    const second = await ask()
    expect(second.response.headers.get('x-cache')).toBe('HIT')
    expect(emulator.requests).toHaveLength(1)
  })

  it('retries an upstream 503 and answers', async () => {
    const { client, emulator } = await stack({}, { retry: { baseDelayMs: 1 } })
    emulator.fault({ type: 'status', status: 503 })
    expect(await streamText(client)).toBe('Hello from the emulator')
    expect(emulator.requests.map((r) => r.status)).toEqual([503, 200])
  })

  it('replays JSON answered to a stream request as a stream', async () => {
    const { client, emulator } = await stack()
    emulator.fault({ type: 'json-for-stream' })
    expect(await streamText(client)).toBe('Hello from the emulator')
  })

  it('turns an upstream error frame and a dropped connection into in-stream errors, never cached', async () => {
    const { client, emulator } = await stack({ tokens: 20 })
    for (const fault of [
      { type: 'error-frame', afterTokens: 3, code: 3040, message: 'Capacity temporarily exceeded' },
      { type: 'drop', afterTokens: 3 },
    ] as const) {
      emulator.fault(fault)
      const error = await streamText(client).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(OpenAI.APIError)
    }
    expect(await streamText(client)).toBe(Array.from({ length: 20 }, (_, i) => `tok${i} `).join(''))
    expect(emulator.requests).toHaveLength(3)
  })

  it('answers 502 naming apiKey when the upstream refuses the token, and never echoes it', async () => {
    const { origin } = await stack({ apiToken: 'the-right-token' }, { apiKey: 'sk-wrong-token' })
    const response = await fetch(origin, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] }),
    })
    expect(response.status).toBe(502)
    const text = await response.text()
    expect(text).toContain('apiKey')
    expect(text).not.toContain('sk-wrong-token')
  })

  it('answers 502 naming the model setting for an unknown model, and uses the fallback when set', async () => {
    const missing = await stack({}, { model: '@cf/meta/llama-9-imaginary', models: undefined })
    const error = await missing.client.chat.completions
      .create({ model: '@cf/meta/llama-9-imaginary', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502)
    expect((error as Error).message).toContain('`model`')

    const rescued = await stack(
      {},
      { model: '@cf/meta/llama-9-imaginary', fallback: LLAMA, models: undefined },
    )
    const { data, response } = await rescued.client.chat.completions
      .create({ model: '@cf/meta/llama-9-imaginary', messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse()
    expect(data.model).toBe(LLAMA)
    expect(response.headers.get('x-copilotedge-model')).toBe(LLAMA)
  })

  it('aborts the upstream request when the client disconnects mid-stream', async () => {
    const { emulator, origin } = await stack({ tokens: 10_000, tokenDelayMs: 2 })
    const controller = new AbortController()
    const response = await fetch(origin, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], stream: true }),
      signal: controller.signal,
    })
    const reader = response.body!.getReader()
    await reader.read()
    await reader.read()
    controller.abort()
    for (let i = 0; i < 100 && !lastRequest(emulator).aborted; i++)
      await new Promise((r) => setTimeout(r, 10))
    expect(lastRequest(emulator).aborted).toBe(true)
    expect(lastRequest(emulator).tokensSent).toBeLessThan(10_000)
  })

  it('does not let a client that stops reading pull the whole upstream stream', async () => {
    const total = 1_000_000
    const { emulator, origin } = await stack({ tokens: total })
    const response = await fetch(origin, {
      method: 'POST',
      // Unencoded: the bound below is sized for plain SSE in the kernel's buffers (gzip packs ~10x
      // more tokens into them, and fills them at the compressor's pace).
      headers: { 'Content-Type': 'application/json', 'Accept-Encoding': 'identity' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], stream: true }),
    })
    const reader = response.body!.getReader()
    await reader.read()
    await new Promise((r) => setTimeout(r, 300))
    const sentWhilePaused = lastRequest(emulator).tokensSent
    await new Promise((r) => setTimeout(r, 300))
    // Only kernel socket buffers fill (loopback autotunes them to MBs here), then the upstream
    // waits; the engine's own bound is asserted in-process in fallback-abort.test.ts.
    expect(lastRequest(emulator).tokensSent).toBe(sentWhilePaused)
    expect(sentWhilePaused).toBeLessThan(total / 4)
    await reader.cancel()
  })
})
