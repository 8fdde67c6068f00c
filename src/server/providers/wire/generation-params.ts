import type { ChatMessage } from '../../../shared/chat-types'
import type { GenerationParams } from '../provider'

// Fixed order so the body an upstream sees is the same for the same request.
const FORWARDED = [
  'temperature',
  'top_p',
  'max_tokens',
  'seed',
  'stop',
  'frequency_penalty',
  'presence_penalty',
  'tools',
  'tool_choice',
] as const satisfies ReadonlyArray<keyof GenerationParams>

/**
 * Copies the generation parameters that are set into `body`. Tools stay in OpenAI form
 * (`{type:"function", function:{...}}`): every Workers AI schema that takes tools accepts that form
 * next to the legacy flat one, and the newer models accept only it (wire-formats §1.2).
 */
export function forwardParams(body: Record<string, unknown>, params: GenerationParams): void {
  for (const key of FORWARDED) {
    const value = params[key]
    if (value !== undefined) body[key] = value
  }
}

/**
 * Messages with `content: null` (an assistant turn that only called tools) coerced to `""`:
 * Workers AI rejects null content (wire-formats §2). The array is copied only when needed.
 */
export function messagesWithoutNullContent(messages: ChatMessage[]): ChatMessage[] {
  if (!messages.some((message) => message.content === null)) return messages
  return messages.map((message) =>
    message.content === null ? { ...message, content: '' } : message,
  )
}
