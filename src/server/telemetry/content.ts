import type { ChatMessage, FinishReason, ToolCall } from '../../shared/chat-types'

// The GenAI semantic conventions' message shapes (gen-ai-input-messages.json /
// gen-ai-output-messages.json), recorded as JSON strings: span attributes cannot nest objects.
// Only built when the user set `recordContent`.

type Part =
  | { type: 'text'; content: string }
  | { type: 'reasoning'; content: string }
  | { type: 'uri'; modality: 'image'; uri: string }
  | { type: 'tool_call'; id: string; name: string; arguments: string }
  | { type: 'tool_call_response'; id: string; response: string }

function textParts(content: ChatMessage['content']): Part[] {
  if (content === null || content === '') return []
  if (typeof content === 'string') return [{ type: 'text', content }]
  return content.map((part) =>
    part.type === 'text'
      ? { type: 'text', content: part.text }
      : { type: 'uri', modality: 'image', uri: part.image_url.url },
  )
}

function toolCallParts(calls: readonly ToolCall[] | undefined): Part[] {
  return (calls ?? []).map((call) => ({
    type: 'tool_call',
    id: call.id,
    name: call.function.name,
    arguments: call.function.arguments,
  }))
}

/** `gen_ai.input.messages` of a request (system prompts included, in order). */
export function inputMessages(messages: readonly ChatMessage[]): string {
  return JSON.stringify(
    messages.map((message) => {
      if (message.role === 'tool') {
        const response = typeof message.content === 'string' ? message.content : ''
        return {
          role: 'tool',
          parts: [{ type: 'tool_call_response', id: message.tool_call_id ?? '', response }],
        }
      }
      return {
        role: message.role,
        parts: [...textParts(message.content), ...toolCallParts(message.tool_calls)],
      }
    }),
  )
}

export interface OutputContent {
  text: string
  reasoning?: string | undefined
  toolCalls?: readonly ToolCall[] | undefined
  finishReason: FinishReason
}

/** `gen_ai.output.messages` of an answer. */
export function outputMessages(answer: OutputContent): string {
  const parts: Part[] = []
  if (answer.reasoning) parts.push({ type: 'reasoning', content: answer.reasoning })
  if (answer.text) parts.push({ type: 'text', content: answer.text })
  parts.push(...toolCallParts(answer.toolCalls))
  return JSON.stringify([{ role: 'assistant', parts, finish_reason: answer.finishReason }])
}
