import type { CachedAnswer } from './response-cache'
import { SSE_DONE, SseEncoder } from './sse-encoder'

const textEncoder = new TextEncoder()

/**
 * The whole SSE body of a complete (cached) answer, as bytes: the same event sequence a live
 * stream sends (role, reasoning, content, tool calls, finish, usage when asked, [DONE]), with the
 * text in one content chunk.
 */
export function replaySse(
  answer: CachedAnswer,
  id: string,
  created: number,
  includeUsage: boolean,
): Uint8Array<ArrayBuffer> {
  const enc = new SseEncoder(id, created, answer.model)
  let out = enc.role()
  if (answer.reasoning) out += enc.reasoning(answer.reasoning)
  if (answer.text) out += enc.content(answer.text)
  if (answer.toolCalls) {
    out += enc.toolCalls(
      answer.toolCalls.map((call, index) => ({
        index,
        id: call.id,
        type: 'function' as const,
        function: { name: call.function.name, arguments: call.function.arguments },
      })),
    )
  }
  out += enc.finish(answer.finishReason)
  if (includeUsage && answer.usage) out += enc.usage(answer.usage)
  return textEncoder.encode(out + SSE_DONE)
}
