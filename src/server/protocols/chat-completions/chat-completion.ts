import type { ChatCompletion } from '../../../shared/chat-types'
import type { CachedAnswer } from '../../cache/response-cache'

/** An OpenAI `chat.completion` object for a complete answer. */
export function toChatCompletion(
  answer: CachedAnswer,
  id: string,
  created: number,
): ChatCompletion {
  const message: ChatCompletion['choices'][number]['message'] = {
    role: 'assistant',
    content: answer.text === '' && answer.toolCalls ? null : answer.text,
  }
  if (answer.reasoning) message.reasoning_content = answer.reasoning
  if (answer.toolCalls) message.tool_calls = answer.toolCalls
  const completion: ChatCompletion = {
    id,
    object: 'chat.completion',
    created,
    model: answer.model,
    choices: [{ index: 0, message, finish_reason: answer.finishReason }],
  }
  if (answer.usage) completion.usage = answer.usage
  return completion
}

/** `chatcmpl-` plus 24 random hex digits. */
export function completionId(): string {
  return `chatcmpl-${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`
}
