import type { FinishReason, ToolCall, Usage } from '../../shared/chat-types'
import type { AnswerEvent } from '../engine/answer-event'
import { APIError, isAbortError, ValidationError } from '../errors'
import type { OutputContent } from './content'
import { inputMessages, outputMessages } from './content'
import type { Instruments } from './instruments'
import type { Attributes, TelemetrySpan, TelemetryTracer } from './otel-types'
import { SPAN_KIND_CLIENT, SPAN_STATUS_ERROR } from './otel-types'
import type { RequestTelemetryInfo, Telemetry } from './telemetry'

/**
 * How a client ended an answer early: `client_abort` (the in-process caller's AbortSignal, or it
 * stopped reading `handleRequest`'s stream), `client_disconnect` (the HTTP client went away:
 * closed the connection or cancelled the body; a browser's Stop is this).
 */
export type Cancellation = 'client_abort' | 'client_disconnect'

type Outcome = 'complete' | 'error' | 'cancelled'

/** `error.type`: our error's stable code (else its status), else the error's name. */
function errorType(error: unknown): string {
  if (error instanceof APIError || error instanceof ValidationError) {
    return error.code ?? String(error.status)
  }
  const name = (error as { name?: unknown } | null)?.name
  return typeof name === 'string' && name !== '' ? name : '_OTHER'
}

/** A streamed answer's parts as they pass (only with `recordContent`). */
class OutputRecorder {
  text = ''
  reasoning = ''
  readonly toolCalls = new Map<number, ToolCall>()

  add(events: readonly AnswerEvent[]): void {
    for (const event of events) {
      switch (event.type) {
        case 'text':
          this.text += event.text
          break
        case 'reasoning':
          this.reasoning += event.text
          break
        case 'tool-call-start':
          this.toolCalls.set(event.index, {
            id: event.id,
            type: 'function',
            function: { name: event.name, arguments: event.arguments },
          })
          break
        case 'tool-call-delta': {
          const call = this.toolCalls.get(event.index)
          if (call) call.function.arguments += event.arguments
          break
        }
      }
    }
  }

  content(finishReason: FinishReason): OutputContent {
    return {
      text: this.text,
      reasoning: this.reasoning,
      toolCalls: [...this.toolCalls.values()],
      finishReason,
    }
  }
}

/**
 * One request's span (`chat {model}`, kind CLIENT, GenAI semantic conventions plus `copilotedge.*`)
 * and its metric points, recorded once when the answer ends. The engine tells it about retries,
 * fallback and coalescing; a `TracedSource` tells it about the stream's first events and its end.
 */
export class RequestTelemetry {
  readonly #telemetry: Telemetry
  readonly #span: TelemetrySpan | undefined
  readonly #instruments: Instruments | undefined
  readonly #started: number
  readonly #stream: boolean
  readonly #cacheHit: boolean | undefined
  readonly #metricBase: Attributes
  #retries = 0
  #fallback = false
  #coalesced = false
  #firstChunkAt: number | undefined
  #usage: Usage | undefined
  #output: OutputRecorder | undefined
  #ended = false

  constructor(
    telemetry: Telemetry,
    tracer: TelemetryTracer | undefined,
    instruments: Instruments | undefined,
    info: RequestTelemetryInfo,
  ) {
    const { request, cacheHit } = info
    this.#telemetry = telemetry
    this.#instruments = instruments
    this.#started = info.started
    this.#stream = info.stream
    this.#cacheHit = cacheHit
    this.#metricBase = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': telemetry.providerName,
      'gen_ai.request.model': request.model,
    }
    if (telemetry.recordContent && info.stream) this.#output = new OutputRecorder()
    if (cacheHit !== undefined)
      instruments?.cacheLookups.add(1, { 'copilotedge.cache.hit': cacheHit })
    if (!tracer) return
    const { params } = request
    const attributes: Attributes = {
      ...this.#metricBase,
      'gen_ai.request.stream': info.stream,
      'gen_ai.request.max_tokens': params.max_tokens,
      'gen_ai.request.temperature': params.temperature,
      'gen_ai.request.top_p': params.top_p,
      'gen_ai.request.seed': params.seed,
      'gen_ai.request.frequency_penalty': params.frequency_penalty,
      'gen_ai.request.presence_penalty': params.presence_penalty,
      'gen_ai.request.stop_sequences':
        typeof params.stop === 'string' ? [params.stop] : params.stop,
      'gen_ai.response.id': info.id,
      'copilotedge.protocol': info.protocol,
      'copilotedge.cache.hit': cacheHit,
    }
    if (telemetry.recordContent)
      attributes['gen_ai.input.messages'] = inputMessages(request.messages)
    this.#span = tracer.startSpan(`chat ${request.model}`, {
      kind: SPAN_KIND_CLIENT,
      attributes,
      ...(telemetry.realClock ? { startTime: info.started } : {}),
    })
  }

  /** An upstream attempt failed and is retried. */
  retry(): void {
    this.#retries++
  }

  /** The primary model was unavailable: the fallback model is tried. */
  fallback(): void {
    this.#fallback = true
  }

  /** This request reads an identical request's running answer (no upstream call of its own). */
  coalesced(): void {
    this.#coalesced = true
  }

  /** A stream's events, as its reader gets them (per batch: the first, any content, the end). */
  events(events: readonly AnswerEvent[], model: string): void {
    this.#firstChunkAt ??= this.#telemetry.clock.now()
    this.#output?.add(events)
    // usage and finish end the sequence: a batch's last two events are all that need a look.
    const last = events[events.length - 1]
    if (last?.type === 'usage') this.#usage = last.usage
    else if (last?.type === 'finish') {
      const before = events[events.length - 2]
      if (before?.type === 'usage') this.#usage = before.usage
      this.#end('complete', model, last.reason, this.#output?.content(last.reason))
    }
  }

  /** A complete (non-stream) answer. */
  complete(answer: OutputContent & { model: string; usage?: Usage | undefined }): void {
    this.#usage = answer.usage
    this.#end('complete', answer.model, answer.finishReason, answer)
  }

  /** The answer failed (`error` is the visible, redacted error), or the client's abort. */
  fail(error: unknown, cancellation: Cancellation, model?: string): void {
    if (isAbortError(error)) this.cancel(cancellation, model)
    else this.#end('error', model, undefined, undefined, error)
  }

  /** The client left before the end. */
  cancel(cancellation: Cancellation, model?: string): void {
    this.#end('cancelled', model, undefined, undefined, undefined, cancellation)
  }

  #end(
    outcome: Outcome,
    model: string | undefined,
    finishReason: FinishReason | undefined,
    content: OutputContent | undefined,
    error?: unknown,
    cancellation?: Cancellation,
  ): void {
    if (this.#ended) return
    this.#ended = true
    const telemetry = this.#telemetry
    const now = telemetry.clock.now()
    // Tokens are the upstream's bill for this request: none for a cache hit or a coalesced reader.
    const billed = this.#cacheHit !== true && !this.#coalesced
    const usage = billed ? this.#usage : undefined
    const ttfc =
      this.#firstChunkAt === undefined ? undefined : (this.#firstChunkAt - this.#started) / 1000
    const type = error === undefined ? undefined : errorType(error)
    const span = this.#span
    if (span) {
      span.setAttributes({
        'gen_ai.response.model': model,
        'gen_ai.response.finish_reasons': finishReason === undefined ? undefined : [finishReason],
        'gen_ai.usage.input_tokens': usage?.prompt_tokens,
        'gen_ai.usage.output_tokens': usage?.completion_tokens,
        'gen_ai.usage.cache_read.input_tokens': usage?.prompt_tokens_details?.cached_tokens,
        'gen_ai.response.time_to_first_chunk': ttfc,
        'gen_ai.output.messages':
          telemetry.recordContent && content ? outputMessages(content) : undefined,
        'copilotedge.attempts': billed ? 1 + this.#retries + (this.#fallback ? 1 : 0) : 0,
        'copilotedge.fallback': this.#fallback,
        'copilotedge.coalesced': this.#coalesced,
        'copilotedge.outcome': outcome,
        'copilotedge.cancellation': cancellation,
        'error.type': type,
      })
      if (type !== undefined) {
        span.setStatus({ code: SPAN_STATUS_ERROR, message: telemetry.redact(errorMessage(error)) })
      }
      span.end(telemetry.realClock ? now : undefined)
    }
    const instruments = this.#instruments
    if (!instruments) return
    const base = defined({ ...this.#metricBase, 'gen_ai.response.model': model })
    instruments.duration.record(
      (now - this.#started) / 1000,
      defined({
        ...base,
        'copilotedge.outcome': outcome,
        'copilotedge.cache.hit': this.#cacheHit,
        'error.type': type,
      }),
    )
    if (usage) {
      instruments.tokens.record(usage.prompt_tokens, { ...base, 'gen_ai.token.type': 'input' })
      instruments.tokens.record(usage.completion_tokens, { ...base, 'gen_ai.token.type': 'output' })
    }
    if (this.#stream && ttfc !== undefined) {
      instruments.timeToFirstChunk.record(
        ttfc,
        defined({ ...base, 'copilotedge.cache.hit': this.#cacheHit }),
      )
    }
  }
}

/** Metric points keep every key they get, undefined values too: drop those (spans do). */
function defined(attributes: Attributes): Attributes {
  for (const key in attributes) if (attributes[key] === undefined) delete attributes[key]
  return attributes
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
