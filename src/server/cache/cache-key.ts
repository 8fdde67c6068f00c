import type { ChatMessage } from '../../shared/chat-types'
import type { GenerationParams } from '../providers/provider'
import { sha256Hex } from './sha256'

/**
 * The cache key of a validated request: SHA-256 (see sha256.ts for why this hash) of the model, the
 * messages and the generation parameters, in a fixed field order. `stream`, `stream_options`,
 * `cache` and unknown fields (ids, timestamps, `user`) are not part of it: validation has already
 * reduced messages and params to the fields that change the answer.
 */
export function cacheKey(model: string, messages: ChatMessage[], params: GenerationParams): string {
  // Arrays keep the order fixed whatever order the client wrote its JSON keys in.
  const normalised = [
    model,
    messages.map((m) => [
      m.role,
      m.content,
      m.name ?? null,
      m.tool_calls ?? null,
      m.tool_call_id ?? null,
    ]),
    [
      params.temperature ?? null,
      params.top_p ?? null,
      params.max_tokens ?? null,
      params.seed ?? null,
      params.stop ?? null,
      params.frequency_penalty ?? null,
      params.presence_penalty ?? null,
      params.tools ?? null,
      params.tool_choice ?? null,
    ],
  ]
  return sha256Hex(JSON.stringify(normalised))
}
