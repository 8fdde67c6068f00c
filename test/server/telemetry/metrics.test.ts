// The GenAI client metrics and our cache figures, read with the SDK's manual metric reader.
import { describe, expect, it } from 'vitest'
import { emulatorHandlers, LLAMA } from '../../helpers/emulator-handler'
import { histogramPoints, otelSdks, postJson, sseData, valuePoints } from './helpers'

const serve = emulatorHandlers({ models: [LLAMA] })
const sdk = otelSdks()

const ask = { model: LLAMA, messages: [{ role: 'user', content: 'Hi' }] }
const base = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'cloudflare.workers_ai',
  'gen_ai.request.model': LLAMA,
  'gen_ai.response.model': LLAMA,
}

describe('the metrics', () => {
  it('record duration, token usage, time to first chunk and cache lookups for a miss then a hit', async () => {
    const otel = sdk()
    const { origin } = await serve({}, { telemetry: otel.config })
    const body = { ...ask, stream: true, stream_options: { include_usage: true } }
    const miss = sseData(await (await postJson(origin, '/chat/completions', body)).text())
    const usage = miss.find((chunk) => chunk.usage)?.usage as Record<string, number>
    await (await postJson(origin, '/chat/completions', body)).text()
    await expect.poll(() => otel.spans().length).toBe(2)
    const metrics = await otel.metrics()

    const duration = metrics.get('gen_ai.client.operation.duration')
    expect(duration?.descriptor.unit).toBe('s')
    expect(histogramPoints(duration)).toEqual([
      {
        attributes: { ...base, 'copilotedge.outcome': 'complete', 'copilotedge.cache.hit': false },
        count: 1,
        sum: expect.any(Number),
      },
      {
        attributes: { ...base, 'copilotedge.outcome': 'complete', 'copilotedge.cache.hit': true },
        count: 1,
        sum: expect.any(Number),
      },
    ])

    const tokens = metrics.get('gen_ai.client.token.usage')
    expect(tokens?.descriptor.unit).toBe('{token}')
    // The hit billed nothing: only the miss's tokens.
    expect(histogramPoints(tokens)).toEqual([
      { attributes: { ...base, 'gen_ai.token.type': 'input' }, count: 1, sum: usage.prompt_tokens },
      {
        attributes: { ...base, 'gen_ai.token.type': 'output' },
        count: 1,
        sum: usage.completion_tokens,
      },
    ])

    const firstChunk = metrics.get('gen_ai.client.operation.time_to_first_chunk')
    expect(firstChunk?.descriptor.unit).toBe('s')
    expect(histogramPoints(firstChunk).map((p) => [p.attributes, p.count])).toEqual([
      [{ ...base, 'copilotedge.cache.hit': false }, 1],
      [{ ...base, 'copilotedge.cache.hit': true }, 1],
    ])

    expect(valuePoints(metrics.get('copilotedge.cache.lookups'))).toEqual([
      { attributes: { 'copilotedge.cache.hit': false }, value: 1 },
      { attributes: { 'copilotedge.cache.hit': true }, value: 1 },
    ])
    expect(valuePoints(metrics.get('copilotedge.cache.hit_ratio'))).toEqual([
      { attributes: {}, value: 0.5 },
    ])
  })

  it('measure the time to first chunk from the request to the first event (the emulator waits 300 ms)', async () => {
    const otel = sdk()
    const { origin } = await serve({ firstTokenDelayMs: 300 }, { telemetry: otel.config })
    await (await postJson(origin, '/chat/completions', { ...ask, stream: true })).text()
    await expect.poll(() => otel.spans().length).toBe(1)
    const [point] = histogramPoints(
      (await otel.metrics()).get('gen_ai.client.operation.time_to_first_chunk'),
    )
    expect(point?.sum).toBeGreaterThanOrEqual(0.3)
    expect(point?.sum).toBeLessThan(5)
  })

  it('record error.type and no tokens for a failed request; getMetrics() counts as before', async () => {
    const otel = sdk()
    const { origin, emulator } = await serve({}, { telemetry: otel.config, retry: false })
    emulator.fault({ type: 'status', status: 500 })
    expect((await postJson(origin, '/chat/completions', ask)).status).toBe(502)
    await expect.poll(() => otel.spans().length).toBe(1)
    const metrics = await otel.metrics()
    expect(histogramPoints(metrics.get('gen_ai.client.operation.duration'))).toEqual([
      {
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'cloudflare.workers_ai',
          'gen_ai.request.model': LLAMA,
          'copilotedge.outcome': 'error',
          'copilotedge.cache.hit': false,
          'error.type': '3043',
        },
        count: 1,
        sum: expect.any(Number),
      },
    ])
    expect(histogramPoints(metrics.get('gen_ai.client.token.usage'))).toEqual([])
  })
})
