import type { Protocol } from '../protocol'
import { toChatCompletion } from './chat-completion'
import { ChatCompletionsEncoder } from './chat-completions-encoder'
import { validateRequest } from './validate-request'

/** OpenAI Chat Completions: `POST …/chat/completions`, and any body with `messages` of `{role, content}`. */
export const chatCompletionsProtocol: Protocol<undefined> = {
  name: 'chat-completions',
  decode: (body, settings) => ({ request: validateRequest(body, settings), context: undefined }),
  encoder: (meta, { request }) => new ChatCompletionsEncoder(meta, request.includeUsage),
  json: (answer, meta) => toChatCompletion(answer, meta.id, meta.created),
}
