import type { TelemetryMeter, TelemetryTracer } from './otel-types'

/** OpenTelemetry spans and metrics (README "Observability"); `true` uses the global providers. */
export interface TelemetryConfig {
  /** Where spans go. Default: the globally registered tracer provider's `copilotedge` tracer. */
  tracer?: TelemetryTracer
  /** Where metrics go. Default: the globally registered meter provider's `copilotedge` meter. */
  meter?: TelemetryMeter
  /**
   * Record the prompt and the answer on spans (`gen_ai.input.messages`, `gen_ai.output.messages`).
   * Default false: they often hold personal data.
   */
  recordContent?: boolean
  /**
   * `gen_ai.provider.name`. Default from the provider: `cloudflare.workers_ai` for Workers AI (REST
   * or binding), `openai` for an unnamed OpenAI-compatible provider, else the provider's `name`.
   */
  providerName?: string
}

/** Where @opentelemetry/api 1.x keeps its registered providers (shared by every copy of it). */
const GLOBAL_KEY = Symbol.for('opentelemetry.js.api.1')

interface OtelGlobal {
  trace?: { getTracer(name: string, version?: string): TelemetryTracer }
  metrics?: { getMeter(name: string, version?: string): TelemetryMeter }
}

/**
 * The registered global providers, read where `trace.getTracer()` / `metrics.getMeter()` read
 * them, without importing @opentelemetry/api: a static import would break installs without the
 * optional peer, and a dynamic one would make bundlers look for it. Undefined until an SDK
 * registers (then telemetry: true costs one property read per request).
 */
export function globalOtel(): OtelGlobal | undefined {
  return (globalThis as Record<symbol, OtelGlobal | undefined>)[GLOBAL_KEY]
}

const BY_PROVIDER: Readonly<Record<string, string>> = {
  'workers-ai': 'cloudflare.workers_ai',
  'workers-ai-binding': 'cloudflare.workers_ai',
  'openai-compatible': 'openai',
}

/** `gen_ai.provider.name` for a provider's short `name` (semconv values where one fits). */
export function genAiProviderName(providerName: string): string {
  return BY_PROVIDER[providerName] ?? providerName
}
