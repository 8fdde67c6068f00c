import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import type { CopilotEdgeConfig } from '../../src/server'
import { createCopilotEdgeHandler } from '../../src/server'
import type { ServedHandler } from '../helpers/serve-handler'
import { serveHandler } from '../helpers/serve-handler'
import { Channel, fakeProvider, httpError, text, withUsage } from './helpers/fake-provider'

const M = '@cf/meta/llama-3.1-8b-instruct'
let served: ServedHandler | undefined

afterEach(async () => {
  await served?.close()
  served = undefined
})

async function clientFor(config: CopilotEdgeConfig) {
  served = await serveHandler(createCopilotEdgeHandler(config))
  // The handler answers at any path; the SDK posts to {baseURL}/chat/completions.
  return new OpenAI({
    apiKey: 'unused-by-the-handler',
    baseURL: `${served.origin}/api/copilot`,
    maxRetries: 0,
  })
}

describe('the official openai client over loopback HTTP', () => {
  it('streams with chat.completions.create({ stream: true })', async () => {
    const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 }
    const client = await clientFor({
      provider: fakeProvider([{ events: withUsage(text('Hello', ',', ' world'), usage) }]),
    })
    const stream = await client.chat.completions.create({
      model: M,
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    let content = ''
    const finishes: unknown[] = []
    let seenUsage: unknown
    const ids = new Set<string>()
    for await (const chunk of stream) {
      ids.add(chunk.id)
      content += chunk.choices[0]?.delta?.content ?? ''
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason)
      if (chunk.usage) seenUsage = chunk.usage
    }
    expect(content).toBe('Hello, world')
    expect(finishes).toEqual(['stop'])
    expect(seenUsage).toEqual(usage)
    expect(ids.size).toBe(1)
  })

  it('accumulates the stream with the SDK helper chat.completions.stream()', async () => {
    const client = await clientFor({ provider: fakeProvider([{ events: text('a', 'b') }]) })
    const runner = client.chat.completions.stream({
      model: M,
      messages: [{ role: 'user', content: 'Hi' }],
    })
    const final = await runner.finalChatCompletion()
    expect(final.choices[0]!.message.content).toBe('ab')
    expect(final.choices[0]!.finish_reason).toBe('stop')
  })

  it('answers non-streaming create() with a chat.completion', async () => {
    const client = await clientFor({
      provider: fakeProvider([{ events: text('Hello', ' world') }]),
    })
    const completion = await client.chat.completions.create({
      model: M,
      messages: [{ role: 'user', content: 'Hi' }],
    })
    expect(completion.object).toBe('chat.completion')
    expect(completion.choices[0]!.message.content).toBe('Hello world')
    const raw = await client.chat.completions
      .create({ model: M, messages: [{ role: 'user', content: 'Hi' }] })
      .asResponse()
    expect(raw.headers.get('x-cache')).toBe('HIT')
  })

  it('gets an openai APIError with status and body for an upstream failure', async () => {
    const client = await clientFor({
      provider: fakeProvider([{ error: httpError(429, { retryAfterMs: 30_000 }) }]),
    })
    const error = await client.chat.completions
      .create({ model: M, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    const apiError = error as InstanceType<typeof OpenAI.APIError>
    expect(apiError.status).toBe(429)
    expect(apiError.type).toBe('rate_limit_error')
    expect(apiError.headers?.get('retry-after')).toBe('30')
  })

  it('gets a BadRequestError naming the field for invalid input', async () => {
    const client = await clientFor({ provider: fakeProvider([{ events: text('x') }]) })
    const error = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as InstanceType<typeof OpenAI.APIError>).param).toBe('model')
  })

  it('throws an APIError from the iteration for an in-stream error', async () => {
    const client = await clientFor({
      provider: fakeProvider([
        { events: [{ type: 'text', text: 'partial' }], failWith: httpError(503) },
      ]),
    })
    const stream = await client.chat.completions.create({
      model: M,
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    })
    let content = ''
    const error = await (async () => {
      for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? ''
    })().catch((e: unknown) => e)
    expect(content).toBe('partial')
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as Error).message).toContain('503')
  })

  it('aborts the upstream when the openai client aborts the stream', async () => {
    const channel = new Channel()
    const provider = fakeProvider([{ channel }])
    const client = await clientFor({ provider })
    channel.push({ type: 'text', text: 'a' })
    const controller = new AbortController()
    const stream = await client.chat.completions.create(
      { model: M, messages: [{ role: 'user', content: 'Hi' }], stream: true },
      { signal: controller.signal },
    )
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content === 'a') break
    }
    // Leaving the loop closes the response; the server sees the disconnect.
    for (let i = 0; i < 50 && !provider.calls[0]!.aborted; i++)
      await new Promise((r) => setTimeout(r, 10))
    expect(provider.calls[0]!.aborted).toBe(true)
  })
})
