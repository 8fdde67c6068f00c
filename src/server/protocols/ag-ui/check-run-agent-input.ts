import { ValidationError } from '../../errors'

// Hand-written on purpose, not @ag-ui/core's RunAgentInputSchema: that schema is zod, and bundling it
// put ~450 KB of minified zod into the server entry and so into every user's Worker (where bundle
// size is a limit). This checks what the decoder reads, in the schema's order and with its messages;
// test/server/protocols/ag-ui/check-run-agent-input.test.ts holds it to the real schema.

/** Where a media part's bytes are. */
export type PartSource =
  | { type: 'data'; value: string; mimeType: string }
  | { type: 'url'; value: string }
  | { type: 'file'; value: string }

export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image' | 'audio' | 'video' | 'document'; source: PartSource }

export interface ToolCall {
  id: string
  function: { name: string; arguments: string }
}

/** The messages as the decoder reads them; activity and reasoning messages are only skipped. */
export type Message =
  | { role: 'developer' | 'system'; content: string; name?: string }
  | { role: 'user'; content: string | ContentPart[]; name?: string }
  | { role: 'assistant'; content?: string; toolCalls?: ToolCall[]; name?: string }
  | { role: 'tool'; content: string | ContentPart[]; toolCallId: string; error?: string }
  | { role: 'activity' | 'reasoning' }

export interface Tool {
  name: string
  description: string
  parameters?: unknown
}

export interface Context {
  description: string
  value: string
}

/**
 * A checked `RunAgentInput`: new objects holding only the fields the decoder reads; an optional
 * field that was absent or null is undefined.
 */
export interface RunAgentInput {
  threadId: string
  runId: string
  protocolVersion?: string
  parentRunId?: string
  messages: Message[]
  tools: Tool[]
  context: Context[]
  forwardedProps?: unknown
}

const ROLES = ['developer', 'system', 'assistant', 'user', 'tool', 'activity', 'reasoning'] as const
const PART_TYPES = ['text', 'image', 'audio', 'video', 'document'] as const
const SOURCE_TYPES = ['data', 'url', 'file'] as const

/** A value's type in the words the messages use (`array` and `null` apart from `object`). */
function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN'
  return typeof value
}

function invalid(at: string, problem: string): never {
  throw new ValidationError(`Invalid RunAgentInput: ${at}: ${problem}`, { param: at })
}

function expected(at: string, what: string, value: unknown): never {
  invalid(at, `Invalid input: expected ${what}, received ${typeName(value)}`)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function object(value: unknown, at: string): Record<string, unknown> {
  if (!isObject(value)) expected(at, 'object', value)
  return value
}

function array(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value)) expected(at, 'array', value)
  return value
}

function string(value: unknown, at: string): string {
  if (typeof value !== 'string') expected(at, 'string', value)
  return value
}

/** Absent, or null as producers before 1.0 send for an absent optional field. */
function absent(value: unknown): value is null | undefined {
  return value === undefined || value === null
}

function optionalString(value: unknown, at: string): string | undefined {
  return absent(value) ? undefined : string(value, at)
}

function oneOf<T extends string>(value: unknown, options: readonly T[], at: string): T {
  if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
    invalid(at, `Invalid discriminator value. Expected ${options.map((o) => `'${o}'`).join(' | ')}`)
  }
  return value as T
}

function source(value: unknown, at: string): PartSource {
  const raw = object(value, at)
  const type = oneOf(raw.type, SOURCE_TYPES, `${at}.type`)
  const sourceValue = string(raw.value, `${at}.value`)
  const mimeType = `${at}.mimeType`
  if (type === 'data') return { type, value: sourceValue, mimeType: string(raw.mimeType, mimeType) }
  // Unread (a URL needs no type; a file handle is refused), but a wrong type is a wrong request.
  if (type === 'file') optionalString(raw.provider, `${at}.provider`)
  optionalString(raw.mimeType, mimeType)
  return { type, value: sourceValue }
}

function part(value: unknown, at: string): ContentPart {
  const raw = object(value, at)
  const type = oneOf(raw.type, PART_TYPES, `${at}.type`)
  if (type === 'text') return { type, text: string(raw.text, `${at}.text`) }
  return { type, source: source(raw.source, `${at}.source`) }
}

/** User and tool content: a string or content parts. */
function content(value: unknown, at: string): string | ContentPart[] {
  if (typeof value === 'string') return value
  if (!Array.isArray(value)) expected(at, 'string or array of content parts', value)
  return value.map((item, i) => part(item, `${at}[${i}]`))
}

function toolCall(value: unknown, at: string): ToolCall {
  const raw = object(value, at)
  const id = string(raw.id, `${at}.id`)
  if (raw.type !== 'function') invalid(`${at}.type`, 'Invalid input: expected "function"')
  const fn = object(raw.function, `${at}.function`)
  return {
    id,
    function: {
      name: string(fn.name, `${at}.function.name`),
      arguments: string(fn.arguments, `${at}.function.arguments`),
    },
  }
}

function message(value: unknown, at: string): Message {
  const raw = object(value, at)
  const role = oneOf(raw.role, ROLES, `${at}.role`)
  string(raw.id, `${at}.id`)
  switch (role) {
    case 'developer':
    case 'system':
      return {
        role,
        name: optionalString(raw.name, `${at}.name`),
        content: string(raw.content, `${at}.content`),
      }
    case 'user':
      return {
        role,
        name: optionalString(raw.name, `${at}.name`),
        content: content(raw.content, `${at}.content`),
      }
    case 'assistant':
      return {
        role,
        name: optionalString(raw.name, `${at}.name`),
        content: optionalString(raw.content, `${at}.content`),
        toolCalls: absent(raw.toolCalls)
          ? undefined
          : array(raw.toolCalls, `${at}.toolCalls`).map((c, i) =>
              toolCall(c, `${at}.toolCalls[${i}]`),
            ),
      }
    case 'tool':
      return {
        role,
        content: content(raw.content, `${at}.content`),
        toolCallId: string(raw.toolCallId, `${at}.toolCallId`),
        error: optionalString(raw.error, `${at}.error`),
      }
    // Not conversation: skipped by the decoder, so nothing else in them is read or checked.
    default:
      return { role }
  }
}

function list<T>(value: unknown, at: string, item: (value: unknown, at: string) => T): T[] {
  if (absent(value)) return []
  return array(value, at).map((entry, i) => item(entry, `${at}[${i}]`))
}

function tool(value: unknown, at: string): Tool {
  const raw = object(value, at)
  return {
    name: string(raw.name, `${at}.name`),
    description: string(raw.description, `${at}.description`),
    parameters: absent(raw.parameters) ? undefined : raw.parameters,
  }
}

function context(value: unknown, at: string): Context {
  const raw = object(value, at)
  return {
    description: string(raw.description, `${at}.description`),
    value: string(raw.value, `${at}.value`),
  }
}

/**
 * The body checked as a `RunAgentInput` (AG-UI 1.0; `state`, `resume` and unknown fields are
 * accepted unread). Throws a ValidationError naming the first bad field, as
 * `Invalid RunAgentInput: messages[0].role: …`.
 */
export function checkRunAgentInput(body: Record<string, unknown>): RunAgentInput {
  // Object literal order is evaluation order: the first bad field in the schema's order is named.
  return {
    threadId: string(body.threadId, 'threadId'),
    runId: string(body.runId, 'runId'),
    protocolVersion: optionalString(body.protocolVersion, 'protocolVersion'),
    parentRunId: optionalString(body.parentRunId, 'parentRunId'),
    messages: array(body.messages, 'messages').map((m, i) => message(m, `messages[${i}]`)),
    tools: list(body.tools, 'tools', tool),
    context: list(body.context, 'context', context),
    forwardedProps: absent(body.forwardedProps) ? undefined : body.forwardedProps,
  }
}
