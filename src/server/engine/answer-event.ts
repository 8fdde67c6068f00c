import type { FinishReason, ToolCall, Usage } from '../../shared/chat-types'

/**
 * The one normalised event sequence of an answer, whatever produced it (a live upstream, the
 * cache, another instance) and whatever protocol encodes it. In order: any mix of text, reasoning
 * and tool-call events, then at most one `usage`, then exactly one `finish` (after every open tool
 * call got its `tool-call-end`). A failure is thrown by whoever reads the sequence, never an event.
 *
 * Plain JSON objects: they are what a shared store publishes and a replay log keeps. A `text`
 * event is the very object the provider yielded (`UpstreamEvent` has the same shape), so the hot
 * path allocates nothing per token.
 */
export type AnswerEvent =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string }
  /**
   * A tool call begins; `index` orders the calls of one answer (0, 1, ...). `arguments` is the
   * first fragment of its JSON arguments when the upstream sent one with the name (often ''):
   * encoders that have no such slot send it as the first delta.
   */
  | { type: 'tool-call-start'; index: number; id: string; name: string; arguments: string }
  /** A fragment of the call's JSON arguments (never empty). */
  | { type: 'tool-call-delta'; index: number; arguments: string }
  | { type: 'tool-call-end'; index: number }
  /**
   * The upstream's figures; `usage.prompt_tokens_details?.cached_tokens` is the prompt tokens
   * served from the provider's prefix cache (absent when the upstream did not say).
   */
  | { type: 'usage'; usage: Usage }
  | { type: 'finish'; reason: FinishReason }

/** What every encoder knows about the answer before its first event. */
export interface AnswerMeta {
  /** Our id for this answer (`chatcmpl-…`), one per response. */
  id: string
  /** Unix seconds. */
  created: number
  /** The model that answers (the fallback, when the primary was unavailable). */
  model: string
  /** Served from the cache (no upstream call). */
  cached: boolean
}

/** An answer's parts, complete or so far; tool calls with their index in the answer. */
export interface AnswerParts {
  reasoning?: string | undefined
  text: string
  toolCalls: ReadonlyArray<readonly [index: number, call: ToolCall]>
  usage?: Usage | undefined
}

/**
 * An answer's parts as the event sequence (reasoning, text, tool calls, usage): the whole of a
 * complete answer when `finish` is given (tool calls ended, then `finish`), else the answer so far
 * (a reader joining a running answer), its tool calls left open.
 */
export function answerEvents(parts: AnswerParts, finish?: FinishReason): AnswerEvent[] {
  const events: AnswerEvent[] = []
  if (parts.reasoning) events.push({ type: 'reasoning', text: parts.reasoning })
  if (parts.text) events.push({ type: 'text', text: parts.text })
  for (const [index, call] of parts.toolCalls) {
    const { name, arguments: args } = call.function
    events.push({ type: 'tool-call-start', index, id: call.id, name, arguments: args })
  }
  if (finish !== undefined) {
    for (const [index] of parts.toolCalls) events.push({ type: 'tool-call-end', index })
  }
  if (parts.usage) events.push({ type: 'usage', usage: parts.usage })
  if (finish !== undefined) events.push({ type: 'finish', reason: finish })
  return events
}
