// The Responses API end to end over real loopback HTTP: the openai package and the AI SDK's
// Responses model → createCopilotEdgeHandler (served with @hono/node-server) → the Workers AI
// provider → the Workers AI emulator (listening too).
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import type { CopilotEdgeConfig } from '../../../../src/server'
import type { WorkersAIEmulator, WorkersAIEmulatorOptions } from '../../../../src/testing'
import {
  emulatorHandlers,
  GPT_OSS,
  LLAMA,
  openaiClient,
  EMULATOR_REPLY as REPLY,
} from '../../../helpers/emulator-handler'
import { aiSdkRun, WEATHER_TOOL_SCHEMA } from './responses-clients'

const serve = emulatorHandlers({ models: [LLAMA, GPT_OSS], retry: { maxAttempts: 1 } })

async function stack(emulatorOptions?: WorkersAIEmulatorOptions, config?: CopilotEdgeConfig) {
  const { emulator, origin } = await serve(emulatorOptions, config)
  return { emulator, client: openaiClient(origin), origin }
}

function lastRequest(emulator: WorkersAIEmulator) {
  return emulator.requests[emulator.requests.length - 1]!
}

const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: WEATHER_TOOL_SCHEMA as unknown as Record<string, unknown>,
  strict: false,
}

describe('Responses API over loopback: openai / AI SDK → copilotedge → Workers AI emulator', () => {
  it('answers responses.create() without stream as a completed response object', async () => {
    const { client, emulator } = await stack()
    const { data, response } = await client.responses
      .create({ model: LLAMA, input: 'Hi', instructions: 'Be brief.' })
      .withResponse()
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('application/json')
    expect(data).toMatchObject({
      id: expect.stringMatching(/^resp_/),
      object: 'response',
      status: 'completed',
      model: LLAMA,
      instructions: 'Be brief.',
      output: [
        {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: REPLY }],
        },
      ],
      usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
    })
    expect(data.output_text).toBe(REPLY)
    expect(data.usage!.total_tokens).toBe(data.usage!.input_tokens + data.usage!.output_tokens)
    await emulator.idle()
    expect(emulator.requests).toHaveLength(1)
    expect(lastRequest(emulator)).toMatchObject({ model: LLAMA, completed: true, aborted: false })
    expect((lastRequest(emulator).body as { messages: unknown }).messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ])
  })

  it('streams responses.create({stream:true}) from response.created to response.completed', async () => {
    const { client, emulator } = await stack()
    const stream = await client.responses.create({ model: LLAMA, input: 'Hi', stream: true })
    let text = ''
    const types: string[] = []
    let completed: OpenAI.Responses.Response | undefined
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === 'response.output_text.delta') text += event.delta
      if (event.type === 'response.completed') completed = event.response
    }
    expect(text).toBe(REPLY)
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ])
    expect(types.at(-1)).toBe('response.completed')
    expect(completed?.usage?.output_tokens).toBeGreaterThan(0)
    await emulator.idle()
    expect(lastRequest(emulator)).toMatchObject({ stream: true, completed: true, aborted: false })
  })

  it('gives responses.stream().finalResponse() the whole answer and usage', async () => {
    const { client } = await stack()
    const deltas: string[] = []
    const stream = client.responses
      .stream({ model: LLAMA, input: [{ role: 'user', content: 'Hi' }] })
      .on('response.output_text.delta', (event) => deltas.push(event.delta))
    const final = await stream.finalResponse()
    expect(final.status).toBe('completed')
    expect(final.output_text).toBe(REPLY)
    expect(deltas.join('')).toBe(REPLY)
    expect(deltas.length).toBeGreaterThan(1)
    expect(final.usage?.input_tokens).toBeGreaterThan(0)
  })

  it('streams reasoning as a reasoning item before the message (gpt-oss)', async () => {
    const { client } = await stack({ reasoning: 'The user greets me.' })
    const final = await client.responses.stream({ model: GPT_OSS, input: 'Hi' }).finalResponse()
    expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'message'])
    expect(final.output[0]).toMatchObject({
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: 'The user greets me.' }],
    })
    expect(final.output_text).toBe(REPLY)
  })

  it('streams text and usage to the AI SDK default openai(model) (the Responses API)', async () => {
    const { origin, emulator } = await stack()
    const { createOpenAI } = await import('@ai-sdk/openai')
    const { streamText } = await import('ai')
    const openai = createOpenAI({ apiKey: 'x', baseURL: origin })
    const result = streamText({ model: openai(LLAMA), prompt: 'Hi', maxRetries: 0 })
    expect(await result.text).toBe(REPLY)
    const usage = await result.usage
    expect(usage.inputTokens).toBeGreaterThan(0)
    expect(usage.outputTokens).toBeGreaterThan(0)
    expect(await result.finishReason).toBe('stop')
    await emulator.idle()
    expect(emulator.requests).toHaveLength(1)
    expect(lastRequest(emulator)).toMatchObject({ model: LLAMA, completed: true })
  })

  it('gives the AI SDK a tool call and sends the tool upstream in chat form', async () => {
    const { origin, emulator } = await stack()
    const run = await aiSdkRun({
      baseURL: origin,
      model: LLAMA,
      prompt: 'What is the weather in Paris?',
      withTools: true,
    })
    expect(run.errors).toEqual([])
    const calls = run.parts.filter((p) => p.type === 'tool-call')
    expect(calls).toHaveLength(1)
    expect(calls[0]).toMatchObject({ toolName: 'get_weather', input: { city: expect.any(String) } })
    expect(run.parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' })
    await emulator.idle()
    const body = lastRequest(emulator).body as { tools?: Array<Record<string, unknown>> }
    expect(body.tools?.map((t) => JSON.stringify(t))).toEqual(
      expect.arrayContaining([expect.stringContaining('"get_weather"')]),
    )
  })

  it('carries a tool round trip through the openai client (function_call_output back in)', async () => {
    const { client, emulator } = await stack()
    const first = await client.responses.create({
      model: LLAMA,
      input: 'What is the weather in Paris?',
      tools: [WEATHER_TOOL],
    })
    const call = first.output.find((item) => item.type === 'function_call')
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' })
    if (call?.type !== 'function_call') throw new Error('no function call')
    const second = await client.responses.create({
      model: LLAMA,
      input: [
        { role: 'user', content: 'What is the weather in Paris?' },
        // As the openai docs do: the previous output items go back in as input.
        ...(first.output as OpenAI.Responses.ResponseInputItem[]),
        { type: 'function_call_output', call_id: call.call_id, output: '{"temp":12}' },
      ],
      tools: [WEATHER_TOOL],
    })
    expect(second.output_text).toBe(REPLY)
    await emulator.idle()
    const messages = (lastRequest(emulator).body as { messages: Array<Record<string, unknown>> })
      .messages
    expect(messages.at(-1)).toEqual({
      role: 'tool',
      tool_call_id: call.call_id,
      content: '{"temp":12}',
    })
    expect(messages.at(-2)).toMatchObject({
      role: 'assistant',
      tool_calls: [{ id: call.call_id, function: { name: 'get_weather' } }],
    })
  })

  it('carries an AI SDK multi-turn conversation with store: false to the upstream as chat messages', async () => {
    const { origin, emulator } = await stack({ reasoning: 'Thinking.' })
    const { createOpenAI } = await import('@ai-sdk/openai')
    const { streamText } = await import('ai')
    const sent: Array<{ input: Array<Record<string, unknown>> }> = []
    const openai = createOpenAI({
      apiKey: 'x',
      baseURL: origin,
      fetch: (url, init) => {
        sent.push(JSON.parse(String(init?.body)))
        return fetch(url, init)
      },
    })
    const providerOptions = { openai: { store: false } }
    const messages: import('ai').ModelMessage[] = [{ role: 'user', content: 'Hi' }]
    const first = streamText({ model: openai(GPT_OSS), messages, providerOptions, maxRetries: 0 })
    expect(await first.text).toBe(REPLY)
    expect(await first.reasoningText).toBe('Thinking.')
    messages.push(...(await first.response).messages, { role: 'user', content: 'Again' })
    const second = streamText({ model: openai(GPT_OSS), messages, providerOptions, maxRetries: 0 })
    expect(await second.text).toBe(REPLY)
    // The earlier answer goes back in full (no item_reference), so nothing needs to be stored.
    expect(sent[1]?.input.map((item) => item.type ?? item.role)).toEqual([
      'user',
      'assistant',
      'user',
    ])
    await emulator.idle()
    expect(emulator.requests).toHaveLength(2)
    expect((lastRequest(emulator).body as { messages: unknown }).messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: REPLY },
      { role: 'user', content: 'Again' },
    ])
  })

  it('answers the AI SDK default (store: true) second turn with a 400 that says to set store: false', async () => {
    const { origin, emulator } = await stack()
    const { createOpenAI } = await import('@ai-sdk/openai')
    const { streamText } = await import('ai')
    const openai = createOpenAI({ apiKey: 'x', baseURL: origin })
    const messages: import('ai').ModelMessage[] = [{ role: 'user', content: 'Hi' }]
    const first = streamText({ model: openai(LLAMA), messages, maxRetries: 0 })
    expect(await first.text).toBe(REPLY)
    messages.push(...(await first.response).messages, { role: 'user', content: 'Again' })
    const errors: unknown[] = []
    const second = streamText({
      model: openai(LLAMA),
      messages,
      maxRetries: 0,
      onError: ({ error }) => {
        errors.push(error)
      },
    })
    await second.consumeStream()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ statusCode: 400 })
    expect((errors[0] as Error).message).toContain('store: false')
    expect(emulator.requests).toHaveLength(1)
  })

  it('aborts the upstream when the openai client aborts the stream', async () => {
    const { client, emulator } = await stack({ tokens: 2000, tokenDelayMs: 5 })
    const stream = client.responses.stream({ model: LLAMA, input: 'Hi' })
    let deltas = 0
    stream.on('response.output_text.delta', () => {
      if (++deltas === 3) stream.abort()
    })
    await expect(stream.finalResponse()).rejects.toThrow()
    await emulator.idle()
    expect(emulator.requests).toHaveLength(1)
    expect(lastRequest(emulator)).toMatchObject({ aborted: true, completed: false })
    expect(lastRequest(emulator).tokensSent).toBeLessThan(2000)
  })

  it('surfaces an upstream 429 as the openai RateLimitError and the AI SDK 429', async () => {
    const { client, emulator, origin } = await stack()
    emulator.fault([
      { type: 'status', status: 429, retryAfter: 30 },
      { type: 'status', status: 429, retryAfter: 30 },
    ])
    const error = await client.responses.create({ model: LLAMA, input: 'Hi', stream: true }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).status).toBe(429)
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe(
      '30',
    )
    const run = await aiSdkRun({ baseURL: origin, model: LLAMA, prompt: 'Hi' })
    expect(run.errors).toHaveLength(1)
    expect(run.errors[0]).toMatchObject({ statusCode: 429 })
    expect(run.text).toBe('')
  })

  it('surfaces an upstream 503 as a 502 APIError to the openai client', async () => {
    const { client, emulator } = await stack()
    emulator.fault({ type: 'status', status: 503 })
    const error = await client.responses.create({ model: LLAMA, input: 'Hi' }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502)
    expect(emulator.requests).toHaveLength(1)
  })

  it('turns an upstream that drops mid-stream into an error, never a completed response', async () => {
    const { client, emulator, origin } = await stack({ tokens: 40 })
    emulator.fault({ type: 'drop', afterTokens: 5 })
    const stream = client.responses.stream({ model: LLAMA, input: 'Hi' })
    let text = ''
    stream.on('response.output_text.delta', (event) => {
      text += event.delta
    })
    const error = await stream.finalResponse().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as Error).message).toContain('mid-body')
    expect(text).toBe('tok0 tok1 tok2 tok3 tok4 ')

    emulator.fault({ type: 'drop', afterTokens: 5 })
    const run = await aiSdkRun({ baseURL: origin, model: LLAMA, prompt: 'Hi' })
    expect(run.text).toBe('tok0 tok1 tok2 tok3 tok4 ')
    expect(run.errors).toHaveLength(1)
    expect(run.parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'error' })
  })

  it('keeps both clients reading through heartbeat pings while the upstream is slow', async () => {
    // No cache: every request waits 300 ms upstream, so each gets pings before its first event.
    const { client, origin, emulator } = await stack(
      { firstTokenDelayMs: 300 },
      { heartbeatMs: 50, cache: false },
    )
    const raw = await fetch(`${origin}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: LLAMA, input: 'Hi', stream: true }),
    })
    const body = await raw.text()
    expect(body).toContain(': ping\n\n')
    expect(body.endsWith('\n\n')).toBe(true)
    expect(body.slice(body.lastIndexOf('event: '))).toMatch(/^event: response\.completed\n/)

    const final = await client.responses
      .stream({ model: LLAMA, input: 'Hi', store: false })
      .finalResponse()
    expect(final.output_text).toBe(REPLY)
    const run = await aiSdkRun({ baseURL: origin, model: LLAMA, prompt: 'Hi' })
    expect(run.errors).toEqual([])
    expect(run.text).toBe(REPLY)
    expect(emulator.requests).toHaveLength(3)
  })

  it('answers bad input with 400 in the OpenAI error shape naming the Responses field', async () => {
    const { client, emulator, origin } = await stack()
    const error = await client.responses
      .create({
        model: LLAMA,
        input: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello' },
          { role: 'user', content: 42 as unknown as string },
        ],
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error).toMatchObject({
      status: 400,
      param: 'input[2].content',
      type: 'invalid_request_error',
    })
    const raw = await fetch(`${origin}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: LLAMA, input: 'Hi', previous_response_id: 'resp_1' }),
    })
    expect(raw.status).toBe(400)
    expect(await raw.json()).toEqual({
      error: {
        message: expect.stringContaining('previous_response_id'),
        type: 'invalid_request_error',
        code: 'invalid_request',
        param: 'previous_response_id',
      },
    })
    expect(emulator.requests).toHaveLength(0)
  })

  it('replays an answer cached via Chat Completions in Responses form (X-Cache HIT, one upstream call)', async () => {
    const { client, emulator } = await stack()
    const chat = await client.chat.completions.create({
      model: LLAMA,
      messages: [{ role: 'user', content: 'Hi' }],
    })
    expect(chat.choices[0]?.message.content).toBe(REPLY)

    const { data, response } = await client.responses
      .create({ model: LLAMA, input: [{ role: 'user', content: 'Hi' }], stream: true })
      .withResponse()
    expect(response.headers.get('x-cache')).toBe('HIT')
    let text = ''
    let status: string | undefined
    for await (const event of data) {
      if (event.type === 'response.output_text.delta') text += event.delta
      if (event.type === 'response.completed') status = event.response.status
    }
    expect(text).toBe(REPLY)
    expect(status).toBe('completed')

    const json = await client.responses.create({ model: LLAMA, input: 'Hi' }).withResponse()
    expect(json.response.headers.get('x-cache')).toBe('HIT')
    expect(json.data.output_text).toBe(REPLY)
    expect(emulator.requests).toHaveLength(1)
  })
})
