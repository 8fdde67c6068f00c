import { ValidationError } from '../../errors'
import type { ContentPart, Context, Message, PartSource } from './check-run-agent-input'

/** An OpenAI chat message as a Chat Completions body carries it (validated afterwards). */
export type ChatBodyMessage = Record<string, unknown>

export interface MappedMessages {
  messages: ChatBodyMessage[]
  /**
   * The AG-UI path each mapped message came from (`messages[3]`, or `context` for the context
   * message), so an error found later names the field the client actually sent.
   */
  sources: string[]
}

function fail(message: string, param: string): never {
  throw new ValidationError(message, { param })
}

// The next two are @ag-ui/core's contentHasMedia and contentToText, written out so that the server
// bundle (and every Worker built with it) does not carry @ag-ui/core.

/** Whether the content holds anything but text. */
function hasMedia(content: string | ContentPart[]): boolean {
  return Array.isArray(content) && content.some((part) => part.type !== 'text')
}

/** The text parts joined, every other part dropped (a string stays as it is). */
function toText(content: string | ContentPart[]): string {
  if (typeof content === 'string') return content
  let text = ''
  for (const part of content) if (part.type === 'text') text += part.text
  return text
}

/** An AG-UI media source as the URL an OpenAI `image_url` part takes. */
function imageUrl(part: { source: PartSource }, at: string): string {
  const { source } = part
  if (source.type === 'url') return source.value
  if (source.type === 'data') return `data:${source.mimeType};base64,${source.value}`
  fail(
    `${at}.source: a provider file handle cannot be forwarded; send the image inline (type "data") or by URL.`,
    `${at}.source`,
  )
}

/**
 * User content: text only becomes one string (as @ag-ui/core flattens it), so the conversation
 * keys the cache exactly like its Chat Completions form; with images, OpenAI content parts.
 */
function userContent(content: string | ContentPart[], at: string): string | unknown[] {
  if (typeof content === 'string' || !hasMedia(content)) return toText(content)
  return content.map((part, j) => {
    const where = `${at}[${j}]`
    switch (part.type) {
      case 'text':
        return { type: 'text', text: part.text }
      case 'image':
        return { type: 'image_url', image_url: { url: imageUrl(part, where) } }
      default:
        return fail(
          `${where}: ${part.type} parts are not supported; only text and image parts reach the model.`,
          where,
        )
    }
  })
}

function withName(out: ChatBodyMessage, name: string | undefined): ChatBodyMessage {
  if (name !== undefined) out.name = name
  return out
}

/** One AG-UI message as an OpenAI chat message; null for what carries nothing for the model. */
function toChatMessage(message: Message, at: string): ChatBodyMessage | null {
  switch (message.role) {
    case 'developer':
    case 'system':
      return withName({ role: message.role, content: message.content }, message.name)
    case 'user':
      return withName(
        { role: 'user', content: userContent(message.content, `${at}.content`) },
        message.name,
      )
    case 'assistant': {
      const calls = message.toolCalls ?? []
      const text = message.content ?? ''
      // An assistant turn with neither text nor calls (a run that produced nothing) says nothing.
      if (calls.length === 0 && text === '') return null
      const out: ChatBodyMessage = { role: 'assistant', content: text === '' ? null : text }
      if (calls.length > 0) {
        out.tool_calls = calls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.function.name, arguments: call.function.arguments },
        }))
      }
      return withName(out, message.name)
    }
    case 'tool': {
      if (hasMedia(message.content)) {
        fail(`${at}.content: a tool result reaches the model as text only.`, `${at}.content`)
      }
      const text = toText(message.content)
      // A failed frontend tool may report only `error`: the model still needs to read why.
      const content = text === '' && message.error !== undefined ? message.error : text
      return { role: 'tool', tool_call_id: message.toolCallId, content }
    }
    // Activity (UI progress) and reasoning (the model's own past thoughts) are not conversation.
    default:
      return null
  }
}

/**
 * The context entries as one system message. It goes right after the leading system/developer
 * messages: instructions stay first, the conversation stays last (the model answers the last
 * user message), and a run without context decodes to exactly its Chat Completions form.
 */
function contextMessage(context: Context[]): ChatBodyMessage {
  const entries = context.map((c) => `${c.description}:\n${c.value}`).join('\n\n')
  return { role: 'system', content: `The application provides this context:\n\n${entries}` }
}

/** The AG-UI conversation (already schema-checked) as OpenAI chat messages. */
export function toChatMessages(messages: Message[], context: Context[]): MappedMessages {
  const out: MappedMessages = { messages: [], sources: [] }
  messages.forEach((message, i) => {
    const mapped = toChatMessage(message, `messages[${i}]`)
    if (mapped === null) return
    out.messages.push(mapped)
    out.sources.push(`messages[${i}]`)
  })
  if (context.length > 0) {
    let at = 0
    while (at < out.messages.length) {
      const role = out.messages[at]?.role
      if (role !== 'system' && role !== 'developer') break
      at++
    }
    out.messages.splice(at, 0, contextMessage(context))
    out.sources.splice(at, 0, 'context')
  }
  return out
}
