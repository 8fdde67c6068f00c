import type { Clock } from '../clock'
import { systemClock } from '../clock'
import type { ParsedRequest } from '../protocols/chat-completions/validate-request'
import type { Instruments } from './instruments'
import { createInstruments } from './instruments'
import type { TelemetryTracer } from './otel-types'
import { RequestTelemetry } from './request-telemetry'
import type { TelemetryConfig } from './telemetry-config'
import { genAiProviderName, globalOtel } from './telemetry-config'

const SCOPE = 'copilotedge'

/** What a front door knows when the answer is about to be asked for. */
export interface RequestTelemetryInfo {
  /** `clock.now()` when the request arrived. */
  started: number
  /** The protocol it spoke (`handle-request` for the in-process call). */
  protocol: string
  request: ParsedRequest
  /** Whether the answer is streamed (SSE, or handleRequest's StreamingResponse). */
  stream: boolean
  /** Our answer id (`gen_ai.response.id`). */
  id: string
  /** Whether the cache answered; undefined when there was no lookup (no cache). */
  cacheHit: boolean | undefined
}

/**
 * An instance's telemetry: the tracer and instruments (explicit, or the global providers', looked
 * up per request until an SDK registers one), and a `RequestTelemetry` per request. Only built
 * when the config's `telemetry` is set: without it the engine holds undefined and pays nothing.
 */
export class Telemetry {
  readonly providerName: string
  readonly recordContent: boolean
  readonly clock: Clock
  /** Spans' start time from the clock only when it is the real one (a fake clock's ms are not epoch). */
  readonly realClock: boolean
  readonly #config: TelemetryConfig
  readonly #hitRatio: () => number | undefined
  readonly #secret: string | undefined
  #tracer: TelemetryTracer | undefined
  #tracerSource: unknown
  #instruments: Instruments | undefined
  #meterSource: unknown

  constructor(
    config: TelemetryConfig,
    providerName: string,
    clock: Clock,
    hitRatio: () => number | undefined,
    secret: string | undefined,
  ) {
    this.#secret = secret
    this.#config = config
    this.providerName = config.providerName ?? genAiProviderName(providerName)
    this.recordContent = config.recordContent === true
    this.clock = clock
    this.realClock = clock === systemClock
    this.#hitRatio = hitRatio
  }

  /** Error messages are the visible (redacted) ones already; this keeps the key out regardless. */
  redact(message: string): string {
    return this.#secret ? message.replaceAll(this.#secret, '[redacted]') : message
  }

  /** The request's telemetry, or undefined when there is neither a tracer nor a meter yet. */
  request(info: RequestTelemetryInfo): RequestTelemetry | undefined {
    const tracer = this.#currentTracer()
    const instruments = this.#currentInstruments()
    if (tracer === undefined && instruments === undefined) return undefined
    return new RequestTelemetry(this, tracer, instruments, info)
  }

  #currentTracer(): TelemetryTracer | undefined {
    if (this.#config.tracer) return this.#config.tracer
    const provider = globalOtel()?.trace
    if (provider !== this.#tracerSource) {
      this.#tracerSource = provider
      this.#tracer = provider?.getTracer(SCOPE)
    }
    return this.#tracer
  }

  #currentInstruments(): Instruments | undefined {
    const explicit = this.#config.meter
    const source = explicit ?? globalOtel()?.metrics
    if (source !== this.#meterSource) {
      this.#meterSource = source
      const meter = explicit ?? globalOtel()?.metrics?.getMeter(SCOPE)
      this.#instruments = meter ? createInstruments(meter, this.#hitRatio) : undefined
    }
    return this.#instruments
  }
}
