// telemetry: true reads the globally registered providers (as trace.getTracer() does), and is a
// no-op until an SDK registers one.
import { metrics, trace } from '@opentelemetry/api'
import { afterEach, describe, expect, it } from 'vitest'
import { emulatorHandlers, LLAMA } from '../../helpers/emulator-handler'
import { histogramPoints, otelSdks, postJson } from './helpers'

const serve = emulatorHandlers({ models: [LLAMA] })
const sdk = otelSdks()

afterEach(() => {
  trace.disable()
  metrics.disable()
})

const ask = { model: LLAMA, messages: [{ role: 'user', content: 'Hi' }], stream: true }

describe('telemetry: true', () => {
  it('answers as usual with no provider registered, then records once one is', async () => {
    const { origin } = await serve({ reply: 'Hello' }, { telemetry: true })
    const before = await postJson(origin, '/chat/completions', ask)
    expect(before.status).toBe(200)
    expect(await before.text()).toContain('"content":"Hello"')

    const otel = sdk()
    trace.setGlobalTracerProvider(otel.tracerProvider)
    metrics.setGlobalMeterProvider(otel.meterProvider)
    const after = await postJson(origin, '/chat/completions', { ...ask, temperature: 0.1 })
    expect(await after.text()).toContain('"content":"Hello"')
    await expect.poll(() => otel.spans().length).toBe(1)
    const [span] = otel.spans()
    expect(span?.name).toBe(`chat ${LLAMA}`)
    expect(span?.instrumentationScope.name).toBe('copilotedge')
    expect(span?.attributes['gen_ai.request.temperature']).toBe(0.1)
    const duration = (await otel.metrics()).get('gen_ai.client.operation.duration')
    expect(histogramPoints(duration).map((point) => point.count)).toEqual([1])
  })

  it('is off without the option, even with a provider registered', async () => {
    const otel = sdk()
    trace.setGlobalTracerProvider(otel.tracerProvider)
    metrics.setGlobalMeterProvider(otel.meterProvider)
    const { origin } = await serve({ reply: 'Hello' })
    await (await postJson(origin, '/chat/completions', ask)).text()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(otel.spans()).toEqual([])
    expect((await otel.metrics()).size).toBe(0)
  })
})
