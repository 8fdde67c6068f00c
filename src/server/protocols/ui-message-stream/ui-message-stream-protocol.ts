import { ValidationError } from '../../errors'
import { validateRequest } from '../chat-completions/validate-request'
import type { Protocol } from '../protocol'
import { decodeUIMessages } from './decode-ui-messages'
import { UIMessageStreamEncoder } from './ui-message-stream-encoder'

/** What the encoder needs from the request. */
export interface UIMessageStreamContext {
  /** The assistant message a tool-result continuation streams into (its id is kept). */
  messageId: string | undefined
  /** The chat's id (`useChat`'s `id`): a resumable answer is found again by it. */
  chatId: string | undefined
}

const TRIGGERS: ReadonlySet<string> = new Set(['submit-message', 'regenerate-message'])

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * A Chat Completions error about `messages[i]` (an index among the OpenAI messages) named after
 * the UI message it came from.
 */
function renamed(error: ValidationError, origin: number[]): ValidationError {
  const rename = (text: string) =>
    text.replace(/messages\[(\d+)\]/g, (whole, i: string) => {
      const from = origin[Number(i)]
      return from === undefined ? whole : `messages[${from}]`
    })
  return new ValidationError(rename(error.message), {
    param: error.param === null ? null : rename(error.param),
    status: error.status,
    code: error.code,
  })
}

/**
 * The AI SDK UI message stream: what `useChat` (ai 7, `DefaultChatTransport`) sends and reads.
 * The request is `{id, messages: UIMessage[], trigger, messageId?}` plus the transport's `body`
 * extras, which may carry Chat Completions fields: `model`, `temperature`, `top_p`,
 * `max_tokens`, `seed`, `stop`, penalties, OpenAI function `tools` and `tool_choice` (for tools
 * the browser runs with `onToolCall`), and `cache: false`. Everything else is ignored.
 */
export const uiMessageStreamProtocol: Protocol<UIMessageStreamContext> = {
  name: 'ui-message-stream',
  decode(body, settings) {
    if (!isObject(body)) throw new ValidationError('Request body must be a JSON object.')
    if (typeof body.trigger !== 'string' || !TRIGGERS.has(body.trigger)) {
      throw new ValidationError('trigger must be submit-message or regenerate-message.', {
        param: 'trigger',
      })
    }
    const rawMessages = body.messages
    const { maxMessages } = settings.limits
    if (Array.isArray(rawMessages) && maxMessages > 0 && rawMessages.length > maxMessages) {
      throw new ValidationError(
        `messages has ${rawMessages.length} entries; the limit is ${maxMessages}.`,
        { param: 'messages', status: 413 },
      )
    }
    const decoded = decodeUIMessages(rawMessages)
    let request: ReturnType<typeof validateRequest>
    try {
      // The same checks (limits, model allow-list, tools) as the Chat Completions form.
      request = validateRequest(
        { ...body, messages: decoded.messages, stream: true, stream_options: undefined },
        settings,
      )
    } catch (error) {
      throw error instanceof ValidationError ? renamed(error, decoded.origin) : error
    }
    // Usage goes to the client as `finish.messageMetadata.usage`.
    request.includeUsage = true
    // "Regenerate" asks for a different answer to the same conversation: never the cached one
    // (the new answer still refreshes the cache).
    if (body.trigger === 'regenerate-message') request.cacheLookup = false
    const chatId = typeof body.id === 'string' && body.id !== '' ? body.id : undefined
    if (chatId !== undefined) request.conversation = `ui:${chatId}`
    return { request, context: { messageId: decoded.lastAssistantId, chatId } }
  },
  encoder: (meta, { context }) => new UIMessageStreamEncoder(meta, context.messageId),
  streamHeaders: { 'x-vercel-ai-ui-message-stream': 'v1' },
  // useChat shows a failed response's body text as `error.message`: the message comes first.
  errorBody: (error) => ({
    error: error.message,
    type: error.type,
    code: error.code,
    param: error.param,
  }),
}
