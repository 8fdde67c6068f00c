// One span per request, per the OpenTelemetry GenAI semantic conventions, over a real handler on
// the Workers AI emulator (loopback HTTP), recorded by the SDK's in-memory exporter.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { describe, expect, it } from 'vitest'
import { emulatorHandlers, GPT_OSS, LLAMA } from '../../helpers/emulator-handler'
import { onlySpan, otelSdks, postJson, sseData } from './helpers'

const serve = emulatorHandlers({ models: [LLAMA, GPT_OSS] })
const sdk = otelSdks()

const ask = { model: LLAMA, messages: [{ role: 'user', content: 'Hi' }] }

describe('the chat span', () => {
  it('describes a streamed cache miss: name, kind, request, response, usage and our own attributes', async () => {
    const otel = sdk()
    const { origin } = await serve({}, { telemetry: otel.config })
    const response = await postJson(origin, '/chat/completions', {
      ...ask,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 64,
      temperature: 0.5,
      top_p: 0.9,
    })
    const chunks = sseData(await response.text())
    const usage = chunks.find((chunk) => chunk.usage)?.usage as Record<string, number>
    const span = await onlySpan(otel)
    expect(span.name).toBe(`chat ${LLAMA}`)
    expect(span.kind).toBe(SpanKind.CLIENT)
    expect(span.status.code).toBe(SpanStatusCode.UNSET)
    expect(span.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'cloudflare.workers_ai',
      'gen_ai.request.model': LLAMA,
      'gen_ai.request.stream': true,
      'gen_ai.request.max_tokens': 64,
      'gen_ai.request.temperature': 0.5,
      'gen_ai.request.top_p': 0.9,
      'gen_ai.response.id': expect.stringMatching(/^chatcmpl-/),
      'gen_ai.response.model': LLAMA,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.response.time_to_first_chunk': expect.any(Number),
      'gen_ai.usage.input_tokens': usage.prompt_tokens,
      'gen_ai.usage.output_tokens': usage.completion_tokens,
      'copilotedge.protocol': 'chat-completions',
      'copilotedge.cache.hit': false,
      'copilotedge.attempts': 1,
      'copilotedge.fallback': false,
      'copilotedge.coalesced': false,
      'copilotedge.outcome': 'complete',
    })
    expect(usage.completion_tokens).toBeGreaterThan(0)
    expect(span.attributes['gen_ai.response.id']).toBe(chunks[0]?.id)
  })

  it('marks a cache hit: no upstream attempt and no tokens billed, the answer it replayed', async () => {
    const otel = sdk()
    const { origin, emulator } = await serve({}, { telemetry: otel.config })
    await (await postJson(origin, '/chat/completions', ask)).json()
    const hit = await postJson(origin, '/chat/completions', ask)
    expect(hit.headers.get('x-cache')).toBe('HIT')
    await hit.json()
    await expect.poll(() => otel.spans().length).toBe(2)
    const [miss, replay] = otel.spans()
    expect(miss?.attributes['copilotedge.cache.hit']).toBe(false)
    expect(replay?.name).toBe(`chat ${LLAMA}`)
    expect(replay?.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'cloudflare.workers_ai',
      'gen_ai.request.model': LLAMA,
      'gen_ai.request.stream': false,
      'gen_ai.response.id': expect.stringMatching(/^chatcmpl-/),
      'gen_ai.response.model': LLAMA,
      'gen_ai.response.finish_reasons': ['stop'],
      'copilotedge.protocol': 'chat-completions',
      'copilotedge.cache.hit': true,
      'copilotedge.attempts': 0,
      'copilotedge.fallback': false,
      'copilotedge.coalesced': false,
      'copilotedge.outcome': 'complete',
    })
    expect(emulator.requests).toHaveLength(1)
  })

  it('counts the attempts of a retry that then succeeds', async () => {
    const otel = sdk()
    const { origin, emulator } = await serve(
      {},
      { telemetry: otel.config, retry: { maxAttempts: 3, baseDelayMs: 1 } },
    )
    emulator.fault({ type: 'status', status: 503 })
    const response = await postJson(origin, '/chat/completions', ask)
    expect(response.status).toBe(200)
    const span = await onlySpan(otel)
    expect(span.attributes).toMatchObject({
      'copilotedge.attempts': 2,
      'copilotedge.fallback': false,
      'copilotedge.outcome': 'complete',
      'gen_ai.response.model': LLAMA,
    })
    expect(span.attributes['error.type']).toBeUndefined()
    expect(emulator.requests).toHaveLength(2)
  })

  it("says when the fallback model answered, under the requested model's span name", async () => {
    const otel = sdk()
    const { origin, emulator } = await serve(
      {},
      { telemetry: otel.config, fallback: GPT_OSS, retry: false },
    )
    emulator.fault({ type: 'status', status: 503 })
    const response = await postJson(origin, '/chat/completions', { ...ask, stream: true })
    expect(response.headers.get('x-copilotedge-model')).toBe(GPT_OSS)
    await response.text()
    const span = await onlySpan(otel)
    expect(span.name).toBe(`chat ${LLAMA}`)
    expect(span.attributes).toMatchObject({
      'gen_ai.request.model': LLAMA,
      'gen_ai.response.model': GPT_OSS,
      'copilotedge.attempts': 2,
      'copilotedge.fallback': true,
      'copilotedge.outcome': 'complete',
    })
    expect(emulator.requests.map((r) => r.model)).toEqual([LLAMA, GPT_OSS])
  })

  it('records an upstream error as error.type with an error status, the key nowhere', async () => {
    const otel = sdk()
    const { origin, emulator } = await serve({}, { telemetry: otel.config, retry: false })
    emulator.fault({ type: 'status', status: 500 })
    const response = await postJson(origin, '/chat/completions', ask)
    expect(response.status).toBe(502)
    const { error } = await response.json()
    const span = await onlySpan(otel)
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: error.message })
    expect(span.attributes).toMatchObject({
      'error.type': error.code,
      'copilotedge.outcome': 'error',
      'copilotedge.attempts': 1,
    })
    // The provider's own code (Workers AI 3043 for a 500), as the conventions ask.
    expect(error.code).toBe('3043')
    expect(span.attributes['gen_ai.response.finish_reasons']).toBeUndefined()
    expect(JSON.stringify([span.attributes, span.status])).not.toContain(emulator.apiToken)
  })

  it('records an error inside a running stream', async () => {
    const otel = sdk()
    const { origin, emulator } = await serve({ tokens: 10 }, { telemetry: otel.config })
    emulator.fault({ type: 'error-frame', afterTokens: 3 })
    const response = await postJson(origin, '/chat/completions', { ...ask, stream: true })
    expect(response.status).toBe(200)
    const events = sseData(await response.text())
    const visible = events.find((event) => event.error)?.error as { code: string; message: string }
    const span = await onlySpan(otel)
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: visible.message })
    expect(span.attributes).toMatchObject({
      'error.type': visible.code,
      'copilotedge.outcome': 'error',
      'gen_ai.response.time_to_first_chunk': expect.any(Number),
    })
  })

  it('tells a client that disconnected mid-stream from a finished answer', async () => {
    const otel = sdk()
    const { origin, emulator } = await serve(
      { tokens: 500, tokenDelayMs: 10 },
      { telemetry: otel.config },
    )
    const controller = new AbortController()
    const response = await postJson(
      origin,
      '/chat/completions',
      { ...ask, stream: true },
      { signal: controller.signal },
    )
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    await reader.read()
    controller.abort()
    const span = await onlySpan(otel)
    expect(span.status.code).toBe(SpanStatusCode.UNSET)
    expect(span.attributes).toMatchObject({
      'copilotedge.outcome': 'cancelled',
      'copilotedge.cancellation': 'client_disconnect',
      'copilotedge.attempts': 1,
      'gen_ai.response.time_to_first_chunk': expect.any(Number),
    })
    expect(span.attributes['gen_ai.response.finish_reasons']).toBeUndefined()
    expect(span.attributes['error.type']).toBeUndefined()
    await emulator.idle()
    expect(emulator.requests[0]?.aborted).toBe(true)
  })

  it('marks the reader of an identical running stream as coalesced (one upstream call)', async () => {
    const otel = sdk()
    const { origin, emulator } = await serve(
      { tokens: 40, tokenDelayMs: 5 },
      { telemetry: otel.config },
    )
    const first = await postJson(origin, '/chat/completions', { ...ask, stream: true })
    const second = await postJson(origin, '/chat/completions', { ...ask, stream: true })
    await Promise.all([first.text(), second.text()])
    await expect.poll(() => otel.spans().length).toBe(2)
    const byCoalesced = otel
      .spans()
      .map((span) => [
        span.attributes['copilotedge.coalesced'],
        span.attributes['copilotedge.attempts'],
        span.attributes['gen_ai.usage.output_tokens'] !== undefined,
        span.attributes['copilotedge.outcome'],
      ])
    expect(byCoalesced.sort()).toEqual([
      [false, 1, true, 'complete'],
      [true, 0, false, 'complete'],
    ])
    expect(emulator.requests).toHaveLength(1)
  })

  it('records a resumable stream (config resume) like any other, its stream id beside', async () => {
    const otel = sdk()
    const { origin } = await serve({}, { telemetry: otel.config, resume: true })
    const response = await postJson(origin, '/chat/completions', { ...ask, stream: true })
    expect(response.headers.get('x-copilotedge-stream-id')).toBeTruthy()
    await response.text()
    const span = await onlySpan(otel)
    expect(span.attributes).toMatchObject({
      'copilotedge.protocol': 'chat-completions',
      'copilotedge.attempts': 1,
      'copilotedge.outcome': 'complete',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.output_tokens': expect.any(Number),
    })
  })

  it.each([
    ['chat-completions', '/chat/completions', { ...ask, stream: true }],
    ['responses', '/responses', { model: LLAMA, input: 'Hi', stream: true }],
    [
      'ag-ui',
      '',
      {
        threadId: 't',
        runId: 'r',
        messages: [{ id: 'u1', role: 'user', content: 'Hi' }],
        tools: [],
        context: [],
        state: {},
        forwardedProps: {},
      },
    ],
    [
      'ui-message-stream',
      '',
      {
        id: 'chat-1',
        trigger: 'submit-message',
        messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Hi' }] }],
      },
    ],
  ])('names the protocol of a %s request', async (protocol, path, body) => {
    const otel = sdk()
    const { origin } = await serve({}, { telemetry: otel.config })
    const response = await postJson(origin, path, body)
    expect(response.status).toBe(200)
    await response.text()
    const span = await onlySpan(otel)
    expect(span.name).toBe(`chat ${LLAMA}`)
    expect(span.attributes).toMatchObject({
      'copilotedge.protocol': protocol,
      'gen_ai.request.stream': true,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.output_tokens': expect.any(Number),
      'copilotedge.outcome': 'complete',
    })
  })
})
