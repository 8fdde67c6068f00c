// handleRequest (the in-process front door) with telemetry: its span, the caller's abort, and
// getMetrics() unchanged by telemetry.
import { SpanStatusCode } from '@opentelemetry/api'
import { afterEach, describe, expect, it } from 'vitest'
import type { CopilotEdgeConfig } from '../../../src/server'
import { CopilotEdge } from '../../../src/server'
import type { WorkersAIEmulator } from '../../../src/testing'
import { createWorkersAIEmulator } from '../../../src/testing'
import { LLAMA } from '../../helpers/emulator-handler'
import { onlySpan, otelSdks } from './helpers'

const sdk = otelSdks()
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
})

async function edgeOnEmulator(
  emulatorOptions: Parameters<typeof createWorkersAIEmulator>[0],
  config: CopilotEdgeConfig,
): Promise<{ edge: CopilotEdge; emulator: WorkersAIEmulator }> {
  const emulator = createWorkersAIEmulator(emulatorOptions)
  const upstream = await emulator.listen()
  closers.push(upstream.close)
  const edge = new CopilotEdge({
    apiKey: emulator.apiToken,
    accountId: emulator.accountId,
    baseURL: upstream.baseURL,
    ...config,
  })
  return { edge, emulator }
}

const ask = { model: LLAMA, messages: [{ role: 'user' as const, content: 'Hi' }] }

describe('handleRequest with telemetry', () => {
  it('records a complete answer under protocol handle-request', async () => {
    const otel = sdk()
    const { edge } = await edgeOnEmulator({ reply: 'Hello there' }, { telemetry: otel.config })
    const completion = await edge.handleRequest({ ...ask, stream: false })
    const span = await onlySpan(otel)
    expect(span.name).toBe(`chat ${LLAMA}`)
    expect(span.attributes).toMatchObject({
      'copilotedge.protocol': 'handle-request',
      'gen_ai.request.stream': false,
      'gen_ai.response.id': completion.id,
      'gen_ai.usage.input_tokens': completion.usage?.prompt_tokens,
      'gen_ai.usage.output_tokens': completion.usage?.completion_tokens,
      'copilotedge.outcome': 'complete',
    })
  })

  it("calls the caller's own AbortSignal a client_abort", async () => {
    const otel = sdk()
    const { edge, emulator } = await edgeOnEmulator(
      { tokens: 500, tokenDelayMs: 10 },
      { telemetry: otel.config },
    )
    const controller = new AbortController()
    const response = await edge.handleRequest(
      { ...ask, stream: true },
      { signal: controller.signal },
    )
    const deltas: string[] = []
    await expect(
      (async () => {
        for await (const delta of response.stream) {
          deltas.push(delta)
          controller.abort()
        }
      })(),
    ).rejects.toThrow()
    expect(deltas.length).toBeGreaterThan(0)
    const span = await onlySpan(otel)
    expect(span.status.code).toBe(SpanStatusCode.UNSET)
    expect(span.attributes).toMatchObject({
      'copilotedge.protocol': 'handle-request',
      'copilotedge.outcome': 'cancelled',
      'copilotedge.cancellation': 'client_abort',
    })
    await emulator.idle()
    expect(emulator.requests[0]?.aborted).toBe(true)
  })

  it('leaves getMetrics() exactly as without telemetry', async () => {
    const run = async (config: CopilotEdgeConfig) => {
      const { edge, emulator } = await edgeOnEmulator(
        { reply: 'Hello' },
        { retry: false, ...config },
      )
      await edge.handleRequest({ ...ask, stream: false })
      await edge.handleRequest({ ...ask, stream: false })
      emulator.fault({ type: 'status', status: 500 })
      await expect(edge.handleRequest({ ...ask, stream: false, cache: false })).rejects.toThrow()
      const { latency, ...counts } = edge.getMetrics()
      return { counts, latencyCount: latency.count }
    }
    const otel = sdk()
    const without = await run({})
    expect(await run({ telemetry: otel.config })).toEqual(without)
    expect(without.counts).toMatchObject({ requests: 3, cacheHits: 1, cacheMisses: 2, errors: 1 })
  })
})
