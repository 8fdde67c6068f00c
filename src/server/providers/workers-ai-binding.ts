import type {
  CompletingProvider,
  CompletionResult,
  ProviderRequest,
  UpstreamEvent,
} from './provider'
import { UpstreamError } from './provider'
import { completionEvents } from './wire/completion-events'
import { cleanAiErrorMessage } from './wire/error-body'
import { forwardParams, messagesWithoutNullContent } from './wire/generation-params'
import { normalizeStream } from './wire/normalize-stream'
import {
  completionFromJSONBody,
  eventsFromResponse,
  isEmptyCompletion,
} from './wire/stream-response'
import { messageOf } from './wire/upstream-http'
import { statusForWorkersAICode } from './wire/workers-ai-error-codes'

/**
 * The part of the Workers AI binding (`env.AI`) this provider uses, typed structurally so that
 * copilotedge does not depend on `@cloudflare/workers-types`.
 */
export interface WorkersAIBinding {
  run(
    model: string,
    inputs: Record<string, unknown>,
    options?: WorkersAIBindingRunOptions,
  ): Promise<unknown>
}

export interface WorkersAIBindingRunOptions {
  signal?: AbortSignal
  gateway?: WorkersAIBindingGateway
  /** Request headers the binding adds (how `x-session-affinity` travels on the binding). */
  extraHeaders?: Record<string, string>
}

/** The binding's `GatewayOptions` (wire-formats §2), passed through as given. */
export interface WorkersAIBindingGateway {
  id: string
  cacheKey?: string
  /** Seconds. */
  cacheTtl?: number
  skipCache?: boolean
  metadata?: Record<string, number | string | boolean | null | bigint>
  collectLog?: boolean
  [option: string]: unknown
}

export interface WorkersAIBindingProviderOptions {
  /** Route the binding's calls through this AI Gateway. */
  gateway?: WorkersAIBindingGateway
}

const LABEL = 'Workers AI binding'

/**
 * The Workers AI binding inside a Worker: `ai.run(model, inputs, options)`, options `signal`,
 * `gateway` and `extraHeaders` (which carries `x-session-affinity`). A stream answer is a
 * `ReadableStream` of the same SSE bytes as REST; an object answer is the result itself (no v4
 * envelope). Never retries; the engine does.
 */
export function createWorkersAIBindingProvider(
  ai: WorkersAIBinding,
  options: WorkersAIBindingProviderOptions = {},
): CompletingProvider {
  if (typeof ai?.run !== 'function') {
    throw new TypeError('createWorkersAIBindingProvider: pass the Workers AI binding (env.AI)')
  }
  const gateway = options.gateway

  const run = async (request: ProviderRequest, stream: boolean): Promise<unknown> => {
    const inputs: Record<string, unknown> = {
      messages: messagesWithoutNullContent(request.messages),
      stream,
    }
    forwardParams(inputs, request.params)
    const runOptions: WorkersAIBindingRunOptions = { signal: request.signal }
    if (gateway !== undefined) runOptions.gateway = gateway
    if (request.sessionAffinity !== undefined) {
      runOptions.extraHeaders = { 'x-session-affinity': request.sessionAffinity }
    }
    try {
      return await ai.run(request.model, inputs, runOptions)
    } catch (error) {
      if (request.signal.aborted) throw error
      throw bindingError(error)
    }
  }

  const complete = async (request: ProviderRequest): Promise<CompletionResult> => {
    const result = await run(request, false)
    if (isReadableStream(result) || result instanceof Response) {
      throw new UpstreamError(`${LABEL} answered a non-stream request with a stream`, {
        kind: 'malformed',
      })
    }
    return completionFromJSONBody(result, { label: LABEL })
  }

  return {
    name: 'workers-ai-binding',
    complete,
    async stream(request: ProviderRequest): Promise<AsyncIterable<UpstreamEvent>> {
      const result = await run(request, true)
      if (isReadableStream(result)) {
        return normalizeStream(result, { signal: request.signal, label: LABEL })
      }
      const completeInstead = () => complete(request)
      if (result instanceof Response) {
        return eventsFromResponse(result, { signal: request.signal, label: LABEL, completeInstead })
      }
      // An object answered to a stream request (gpt-oss, JSON mode): replay it; an empty one is
      // asked for again with stream: false, as Cloudflare's client does (wire-formats §1.4).
      const answer = completionFromJSONBody(result, { label: LABEL })
      return completionEvents(isEmptyCompletion(answer) ? await completeInstead() : answer)
    },
  }
}

function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { getReader?: unknown }).getReader === 'function'
  )
}

/**
 * A binding failure as an `UpstreamError`. `InferenceUpstreamError` messages read
 * `"<code>: <description>"` (e.g. `3040: Capacity temporarily exceeded`); the status is the one
 * Workers AI answers that code with, or 500 for a code outside the table. An error without a code
 * (the binding's transport failed) is `network`.
 */
function bindingError(error: unknown): UpstreamError {
  const raw = cleanAiErrorMessage(messageOf(error))
  const match = /^(\d{3,5})\s*:\s*(.*)$/s.exec(raw)
  if (match === null) {
    return new UpstreamError(`${LABEL} failed: ${raw}`, { kind: 'network', cause: error })
  }
  const code = match[1] as string
  const status = statusForWorkersAICode(code) ?? 500
  return new UpstreamError(`${LABEL} failed (code ${code}): ${match[2]}`, {
    kind: 'http',
    status,
    code,
    cause: error,
  })
}
