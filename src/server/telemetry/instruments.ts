import type { TelemetryCounter, TelemetryHistogram, TelemetryMeter } from './otel-types'

/** The semantic conventions' advised buckets: seconds, and token counts. */
const SECONDS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
]
const TOKENS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
]

/** The metric instruments of one meter, created once. */
export interface Instruments {
  duration: TelemetryHistogram
  tokens: TelemetryHistogram
  timeToFirstChunk: TelemetryHistogram
  cacheLookups: TelemetryCounter
}

/**
 * `gen_ai.client.*` per the GenAI semantic conventions, plus our cache figures:
 * `copilotedge.cache.lookups` (by `copilotedge.cache.hit`) and `copilotedge.cache.hit_ratio`
 * (this instance's ratio since it started, the one `getMetrics()` reports; read at collection).
 */
export function createInstruments(
  meter: TelemetryMeter,
  hitRatio: () => number | undefined,
): Instruments {
  const ratio = meter.createObservableGauge('copilotedge.cache.hit_ratio', {
    description: 'Cache hits / cache lookups of this instance since it started.',
    unit: '1',
  })
  ratio.addCallback((result) => {
    const value = hitRatio()
    if (value !== undefined) result.observe(value)
  })
  return {
    duration: meter.createHistogram('gen_ai.client.operation.duration', {
      description: 'GenAI operation duration.',
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS },
    }),
    tokens: meter.createHistogram('gen_ai.client.token.usage', {
      description: 'Number of input and output tokens used.',
      unit: '{token}',
      advice: { explicitBucketBoundaries: TOKENS },
    }),
    timeToFirstChunk: meter.createHistogram('gen_ai.client.operation.time_to_first_chunk', {
      description: 'Time to receive the first chunk in a streaming operation.',
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS },
    }),
    cacheLookups: meter.createCounter('copilotedge.cache.lookups', {
      description: 'Response cache lookups, by copilotedge.cache.hit.',
      unit: '{lookup}',
    }),
  }
}
