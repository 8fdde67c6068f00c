/**
 * The few shapes of `@opentelemetry/api` copilotedge calls, written out structurally so that
 * neither our code nor our type declarations import the package: it stays an optional peer, and a
 * Tracer/Meter from any 1.x copy of it fits these.
 */

export type AttributeValue = string | number | boolean | string[] | number[] | boolean[]
export type Attributes = Record<string, AttributeValue | undefined>

export interface TelemetrySpan {
  setAttribute(key: string, value: AttributeValue): unknown
  setAttributes(attributes: Attributes): unknown
  setStatus(status: { code: number; message?: string }): unknown
  end(endTime?: number | Date): void
}

export interface TelemetryTracer {
  startSpan(
    name: string,
    options?: { kind?: number; attributes?: Attributes; startTime?: number | Date },
  ): TelemetrySpan
}

export interface TelemetryHistogram {
  record(value: number, attributes?: Attributes): void
}

export interface TelemetryCounter {
  add(value: number, attributes?: Attributes): void
}

export interface TelemetryObservableResult {
  observe(value: number, attributes?: Attributes): void
}

export interface TelemetryObservableGauge {
  addCallback(callback: (result: TelemetryObservableResult) => void): void
}

export interface TelemetryMeter {
  createHistogram(
    name: string,
    options?: {
      description?: string
      unit?: string
      advice?: { explicitBucketBoundaries?: number[] }
    },
  ): TelemetryHistogram
  createCounter(name: string, options?: { description?: string; unit?: string }): TelemetryCounter
  createObservableGauge(
    name: string,
    options?: { description?: string; unit?: string },
  ): TelemetryObservableGauge
}

/** `SpanKind.CLIENT` and `SpanStatusCode.ERROR` of @opentelemetry/api (stable numbers). */
export const SPAN_KIND_CLIENT = 2
export const SPAN_STATUS_ERROR = 2
