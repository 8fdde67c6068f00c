import type { ToolCall } from '../../../shared/chat-types'
import type { CompletionResult } from '../provider'
import { UpstreamError } from '../provider'
import { createToolCallId } from './tool-call-id'
import {
  argumentsText,
  normalizeFinishReason,
  normalizeUsage,
  resolveFinishReason,
  responseText,
} from './wire-values'

/**
 * A complete (non-stream) answer as a `CompletionResult`, whatever its shape: the Cloudflare v4
 * envelope around a native result (`{response, tool_calls, usage}`) or around a `chat.completion`,
 * a bare native result (the binding), or a plain OpenAI `chat.completion` (`/ai/v1`, Ollama, ...).
 * Error envelopes must be checked before calling this.
 */
export function completionFromBody(body: unknown, label: string): CompletionResult {
  const result = unwrapEnvelope(body)
  if (typeof result !== 'object' || result === null) {
    throw new UpstreamError(`${label} answered without a result`, { kind: 'malformed' })
  }
  const record = result as Record<string, unknown>
  if (Array.isArray(record.choices)) return fromChatCompletion(record, label)
  return fromNativeResult(record)
}

/** The `result` of a v4 envelope, or the body itself when it is not one. */
function unwrapEnvelope(body: unknown): unknown {
  if (typeof body === 'object' && body !== null && 'result' in body) {
    const envelope = body as { result: unknown; success?: unknown; errors?: unknown }
    if ('success' in envelope || 'errors' in envelope) return envelope.result
    if (typeof envelope.result === 'object' && envelope.result !== null) return envelope.result
  }
  return body
}

function fromChatCompletion(record: Record<string, unknown>, label: string): CompletionResult {
  const choices = record.choices as unknown[]
  const choice = choices[0] as
    | { message?: Record<string, unknown> | null; finish_reason?: unknown }
    | undefined
  if (choice === undefined || typeof choice !== 'object' || choice === null) {
    throw new UpstreamError(`${label} answered a chat.completion without choices`, {
      kind: 'malformed',
    })
  }
  const message = choice.message ?? {}
  const toolCalls = toolCallsFrom(message.tool_calls)
  const reasoning = message.reasoning_content ?? message.reasoning
  return build(
    responseText(message.content),
    typeof reasoning === 'string' && reasoning !== '' ? reasoning : undefined,
    toolCalls,
    normalizeFinishReason(choice.finish_reason),
    record.usage,
  )
}

function fromNativeResult(record: Record<string, unknown>): CompletionResult {
  return build(
    responseText(record.response),
    undefined,
    toolCallsFrom(record.tool_calls),
    normalizeFinishReason(record.finish_reason),
    record.usage,
  )
}

function build(
  text: string,
  reasoning: string | undefined,
  toolCalls: ToolCall[] | undefined,
  upstreamFinish: ReturnType<typeof normalizeFinishReason>,
  usage: unknown,
): CompletionResult {
  const result: CompletionResult = {
    text,
    finishReason: resolveFinishReason(upstreamFinish, toolCalls !== undefined),
  }
  if (reasoning !== undefined) result.reasoning = reasoning
  if (toolCalls !== undefined) result.toolCalls = toolCalls
  const normalized = normalizeUsage(usage)
  if (normalized !== undefined) result.usage = normalized
  return result
}

/** Both tool-call shapes: legacy `{name, arguments: object}` and OpenAI `{id, type, function}`. */
function toolCallsFrom(value: unknown): ToolCall[] | undefined {
  if (!Array.isArray(value)) return undefined
  const calls: ToolCall[] = []
  for (const entry of value) {
    if (typeof entry !== 'object' || entry === null) continue
    const raw = entry as { id?: unknown; name?: unknown; arguments?: unknown; function?: unknown }
    const fn =
      typeof raw.function === 'object' && raw.function !== null
        ? (raw.function as { name?: unknown; arguments?: unknown })
        : raw
    if (typeof fn.name !== 'string' || fn.name === '') continue
    calls.push({
      id: typeof raw.id === 'string' && raw.id !== '' ? raw.id : createToolCallId(),
      type: 'function',
      function: { name: fn.name, arguments: argumentsText(fn.arguments) ?? '{}' },
    })
  }
  return calls.length > 0 ? calls : undefined
}
