// The OpenTelemetry SDK as a production app would run it, minus the network: spans batched to an
// exporter that drops them, metrics aggregated for a reader that is never asked. So the proxy
// suite's "telemetry on" contender pays our instrumentation and the SDK's own work per request.
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'

class DropExporter {
  export(_spans, done) {
    done({ code: 0 })
  }
  shutdown() {
    return Promise.resolve()
  }
}

class IdleReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

/** `telemetry` config with a real SDK tracer and meter. */
export function telemetrySdk() {
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new DropExporter())],
  })
  const meterProvider = new MeterProvider({ readers: [new IdleReader()] })
  return {
    tracer: tracerProvider.getTracer('bench'),
    meter: meterProvider.getMeter('bench'),
  }
}
