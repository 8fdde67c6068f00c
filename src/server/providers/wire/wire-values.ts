// Small readers for values that every upstream shape carries in slightly different forms.
import type { FinishReason, Usage } from '../../../shared/chat-types'

/**
 * Upstream usage figures as the three OpenAI numbers, plus `prompt_tokens_details.cached_tokens`
 * when the upstream reported prefix-cache hits (Workers AI and OpenAI name it so; Responses-shaped
 * usage says `input_tokens_details`). Other extra fields (`neurons`, ...) are dropped; `undefined`
 * when the value holds no figure at all.
 */
export function normalizeUsage(value: unknown): Usage | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const raw = value as Record<string, unknown>
  const prompt = count(raw.prompt_tokens) ?? count(raw.input_tokens)
  const completion = count(raw.completion_tokens) ?? count(raw.output_tokens)
  const total = count(raw.total_tokens)
  if (prompt === undefined && completion === undefined && total === undefined) return undefined
  const p = prompt ?? 0
  const c = completion ?? Math.max(0, (total ?? 0) - p)
  const usage: Usage = { prompt_tokens: p, completion_tokens: c, total_tokens: total ?? p + c }
  const cached = cachedTokens(raw.prompt_tokens_details) ?? cachedTokens(raw.input_tokens_details)
  // Never more than the prompt: a report above it would make "uncached" figures negative.
  if (cached !== undefined) usage.prompt_tokens_details = { cached_tokens: Math.min(cached, p) }
  return usage
}

function cachedTokens(details: unknown): number | undefined {
  if (typeof details !== 'object' || details === null) return undefined
  return count((details as Record<string, unknown>).cached_tokens)
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined
}

/** An upstream finish reason in OpenAI's vocabulary; `undefined` for null/absent. */
export function normalizeFinishReason(value: unknown): FinishReason | undefined {
  if (typeof value !== 'string' || value === '') return undefined
  switch (value) {
    case 'stop':
    case 'length':
    case 'tool_calls':
    case 'content_filter':
      return value
    case 'function_call':
      return 'tool_calls'
    case 'max_tokens':
    case 'model_length':
      return 'length'
    default:
      // `eos`, `end_turn`, `stop_sequence` and anything else that ended the answer normally.
      return 'stop'
  }
}

/**
 * The finish reason to report: the upstream's own (so `length` survives), else `tool_calls` when a
 * tool call was seen, else `stop`. An upstream `stop` after tool calls becomes `tool_calls`
 * (some vLLM/Ollama builds say `stop`; the client must still learn it has tools to run).
 */
export function resolveFinishReason(
  upstream: FinishReason | undefined,
  sawToolCall: boolean,
): FinishReason {
  if (upstream === undefined || upstream === 'stop') return sawToolCall ? 'tool_calls' : 'stop'
  return upstream
}

/** Tool-call arguments as the JSON text OpenAI sends: objects (legacy Workers AI) are stringified. */
export function argumentsText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** A native `response` value as text: JSON mode returns objects, some models numbers. */
export function responseText(value: unknown): string {
  if (typeof value === 'string') return value
  if (value === undefined || value === null) return ''
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}
