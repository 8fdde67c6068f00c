import type { ChatMessage, ContentPart, ToolCall } from '../../../shared/chat-types'
import { ValidationError } from '../../errors'

/**
 * The AI SDK's `UIMessage` (ai 7) as far as we read it: every other field is ignored. The
 * complete schema is ai's `validateUIMessages`; it is not imported here because `ai` is not a
 * dependency of this package (bundling it and zod would multiply the Worker bundle) and it is
 * asynchronous. Tests check that every message list it accepts decodes here.
 */
export interface UIMessageLike {
  id: string
  role: 'system' | 'user' | 'assistant'
  parts: UIPartLike[]
}

export type UIPartLike = { type: string } & Record<string, unknown>

/** OpenAI messages of a UI conversation, with the UI message each one came from. */
export interface DecodedMessages {
  messages: ChatMessage[]
  /** `origin[i]` is the index in the UI `messages` that produced `messages[i]`. */
  origin: number[]
  /** The id of the last UI message when it is the assistant's (a tool-result continuation). */
  lastAssistantId: string | undefined
}

const ROLES: ReadonlySet<string> = new Set(['system', 'user', 'assistant'])
/** Tool states whose call is complete and has a result the model must see. */
const RESULT_STATES: ReadonlySet<string> = new Set([
  'output-available',
  'output-error',
  'output-denied',
])

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function fail(message: string, param: string): never {
  throw new ValidationError(message, { param })
}

function stringField(part: Record<string, unknown>, name: string, at: string): string {
  const value = part[name]
  if (typeof value !== 'string') fail(`${at}.${name} must be a string.`, `${at}.${name}`)
  return value
}

/** The tool name of a `tool-<name>` or `dynamic-tool` part, or undefined for any other part. */
function toolName(part: UIPartLike, at: string): string | undefined {
  if (part.type === 'dynamic-tool') return stringField(part, 'toolName', at)
  if (part.type.startsWith('tool-')) return part.type.slice('tool-'.length)
  return undefined
}

/** A tool's output as `tool` message content: strings as they are, anything else as JSON. */
function toolResult(part: UIPartLike, at: string): string {
  if (part.state === 'output-error') return stringField(part, 'errorText', at)
  if (part.state === 'output-denied') {
    const approval = part.approval
    const reason = isObject(approval) ? approval.reason : undefined
    return typeof reason === 'string' ? reason : 'Tool call execution denied.'
  }
  const output = part.output
  if (typeof output === 'string') return output
  return JSON.stringify(output ?? null)
}

/** One user (or system) message's content: a string for text only, else OpenAI content parts. */
function userContent(
  parts: UIPartLike[],
  at: string,
  textOnly: boolean,
): ChatMessage['content'] | undefined {
  const content: ContentPart[] = []
  let imageSeen = false
  parts.forEach((part, j) => {
    const where = `${at}.parts[${j}]`
    if (part.type === 'text') {
      content.push({ type: 'text', text: stringField(part, 'text', where) })
    } else if (part.type === 'file' && !textOnly) {
      const mediaType = stringField(part, 'mediaType', where)
      const url = stringField(part, 'url', where)
      if (!mediaType.startsWith('image/')) {
        fail(
          `${where} is a ${mediaType} file; only image files can be sent to the model.`,
          `${where}.mediaType`,
        )
      }
      imageSeen = true
      content.push({ type: 'image_url', image_url: { url } })
    }
    // Reasoning, step-start, source, data-* and other parts carry nothing for the model.
  })
  if (content.length === 0) return undefined
  // Text alone is one string, as the same conversation's Chat Completions form sends it (one
  // cache key per conversation whatever the protocol).
  if (!imageSeen) return content.map((part) => (part as { text: string }).text).join('')
  return content
}

/**
 * An assistant message as OpenAI messages: each step (parts between `step-start`s) is one
 * assistant message (its text, and the tool calls that have a result) followed by one `tool`
 * message per result. Tool calls without a result yet (still streaming, waiting for approval or
 * for the client) are left out: OpenAI-compatible upstreams reject a call with no result.
 */
function assistantMessages(parts: UIPartLike[], at: string, out: ChatMessage[]): void {
  let text: string[] = []
  let calls: ToolCall[] = []
  let results: ChatMessage[] = []
  const flush = () => {
    if (text.length > 0 || calls.length > 0) {
      const message: ChatMessage = {
        role: 'assistant',
        content: text.length > 0 ? text.join('') : null,
      }
      if (calls.length > 0) message.tool_calls = calls
      out.push(message, ...results)
    }
    text = []
    calls = []
    results = []
  }
  for (const [j, part] of parts.entries()) {
    const where = `${at}.parts[${j}]`
    if (part.type === 'step-start') {
      flush()
      continue
    }
    if (part.type === 'text') {
      text.push(stringField(part, 'text', where))
      continue
    }
    const name = toolName(part, where)
    if (name === undefined) continue
    const id = stringField(part, 'toolCallId', where)
    const state = stringField(part, 'state', where)
    if (!RESULT_STATES.has(state)) continue
    calls.push({
      id,
      type: 'function',
      function: { name, arguments: JSON.stringify(part.input ?? {}) },
    })
    results.push({ role: 'tool', tool_call_id: id, content: toolResult(part, where) })
  }
  flush()
}

/**
 * `useChat`'s `messages` (ai 7 UIMessages) as the OpenAI messages of the same conversation.
 * Throws a ValidationError naming the UI field (`messages[2].parts[0].text`).
 */
export function decodeUIMessages(value: unknown): DecodedMessages {
  if (!Array.isArray(value) || value.length === 0) {
    fail('messages must be a non-empty array of UI messages {id, role, parts}.', 'messages')
  }
  const messages: ChatMessage[] = []
  const origin: number[] = []
  value.forEach((message, i) => {
    const at = `messages[${i}]`
    if (!isObject(message)) fail(`${at} must be a UI message {id, role, parts}.`, at)
    const { role, parts } = message
    if (typeof role !== 'string' || !ROLES.has(role)) {
      fail(`${at}.role must be one of system, user, assistant.`, `${at}.role`)
    }
    if (!Array.isArray(parts)) fail(`${at}.parts must be an array.`, `${at}.parts`)
    parts.forEach((part, j) => {
      if (!isObject(part) || typeof part.type !== 'string') {
        fail(`${at}.parts[${j}] must be an object with a string type.`, `${at}.parts[${j}]`)
      }
    })
    const typed = parts as UIPartLike[]
    const before = messages.length
    if (role === 'assistant') {
      assistantMessages(typed, at, messages)
    } else {
      // A system message is text only (as in the AI SDK's own conversion).
      const content = userContent(typed, at, role === 'system')
      if (content !== undefined) messages.push({ role: role as 'system' | 'user', content })
    }
    for (let k = before; k < messages.length; k++) origin.push(i)
  })
  if (messages.length === 0) {
    fail('messages hold no text for the model (no text or image parts).', 'messages')
  }
  const last = value[value.length - 1] as Record<string, unknown>
  const lastAssistantId =
    last.role === 'assistant' && typeof last.id === 'string' ? last.id : undefined
  return { messages, origin, lastAssistantId }
}
