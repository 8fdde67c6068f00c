import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics'
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterEach, expect } from 'vitest'

/** Collects on demand (no export timer): a test reads the metrics exactly when it asks. */
class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface Otel {
  tracerProvider: BasicTracerProvider
  meterProvider: MeterProvider
  /** `telemetry` config with this SDK's tracer and meter. */
  config: {
    tracer: ReturnType<BasicTracerProvider['getTracer']>
    meter: ReturnType<MeterProvider['getMeter']>
  }
  /** Finished spans so far. */
  spans(): ReadableSpan[]
  /** Every metric collected now, by name. */
  metrics(): Promise<Map<string, MetricData>>
}

/**
 * The OpenTelemetry SDK with in-memory span export and a manual metric reader, shut down after
 * the test (for the file's top level: one fresh SDK per call).
 */
export function otelSdks() {
  const open: Otel[] = []
  afterEach(async () => {
    await Promise.all(
      open.splice(0).flatMap((o) => [o.tracerProvider.shutdown(), o.meterProvider.shutdown()]),
    )
  })
  return (): Otel => {
    const exporter = new InMemorySpanExporter()
    const tracerProvider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    })
    const reader = new ManualReader()
    const meterProvider = new MeterProvider({ readers: [reader] })
    const otel: Otel = {
      tracerProvider,
      meterProvider,
      config: {
        tracer: tracerProvider.getTracer('test'),
        meter: meterProvider.getMeter('test'),
      },
      spans: () => exporter.getFinishedSpans(),
      metrics: async () => {
        const { resourceMetrics, errors } = await reader.collect()
        expect(errors).toEqual([])
        const byName = new Map<string, MetricData>()
        for (const scope of resourceMetrics.scopeMetrics) {
          for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric)
        }
        return byName
      },
    }
    open.push(otel)
    return otel
  }
}

/** The one finished span, once it has ended (a stream's span ends as its body ends). */
export async function onlySpan(otel: Otel): Promise<ReadableSpan> {
  await expect.poll(() => otel.spans().length).toBe(1)
  return otel.spans()[0] as ReadableSpan
}

/** A histogram's points as [attributes, count, sum]. */
export function histogramPoints(metric: MetricData | undefined) {
  return ((metric?.dataPoints ?? []) as DataPoint<Histogram>[]).map((point) => ({
    attributes: point.attributes,
    count: point.value.count,
    sum: point.value.sum,
  }))
}

/** A counter's or gauge's points as [attributes, value]. */
export function valuePoints(metric: MetricData | undefined) {
  return ((metric?.dataPoints ?? []) as DataPoint<number>[]).map((point) => ({
    attributes: point.attributes,
    value: point.value,
  }))
}

/** POSTs a JSON body to the served handler. */
export function postJson(
  origin: string,
  path: string,
  body: unknown,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    ...init,
  })
}

/** The JSON `data:` payloads of an SSE body (without `[DONE]`). */
export function sseData(body: string): Array<Record<string, unknown>> {
  return body
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map((line) => JSON.parse(line.slice('data: '.length)))
}
