import type {
  ChatMessage,
  ContentPart,
  Role,
  Tool,
  ToolCall,
  ToolChoice,
} from '../../../shared/chat-types'
import type { ResolvedConfig } from '../../config'
import { ValidationError } from '../../errors'
import type { GenerationParams } from '../../providers/provider'

/** A request that passed validation, reduced to the fields that matter. */
export interface ParsedRequest {
  model: string
  messages: ChatMessage[]
  params: GenerationParams
  stream: boolean
  includeUsage: boolean
  /** false when the body said `cache: false` (skip the lookup; the answer still refreshes it). */
  cacheLookup: boolean
  /**
   * The conversation this request continues, as its client names it, prefixed by where the name
   * came from (`key:` OpenAI's `prompt_cache_key`, `ag-ui:` the threadId, `ui:` useChat's chat
   * id). Only ever hashed (the `x-session-affinity` value), never sent as given.
   */
  conversation?: string | undefined
}

/** The config a decoder checks a request against. */
export type RequestSettings = Pick<ResolvedConfig, 'model' | 'models' | 'stream' | 'limits'>

const ROLES: ReadonlySet<string> = new Set<Role>([
  'system',
  'developer',
  'user',
  'assistant',
  'tool',
])

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function fail(message: string, param: string | null): never {
  throw new ValidationError(message, { param })
}

function optionalNumber(
  body: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  integer = false,
): number | undefined {
  const value = body[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${name} must be a number.`, name)
  if (integer && !Number.isInteger(value)) fail(`${name} must be an integer.`, name)
  if (value < min || value > max) fail(`${name} must be between ${min} and ${max}.`, name)
  return value
}

function optionalBoolean(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean') fail(`${name} must be a boolean.`, name)
  return value
}

function content(value: unknown, at: string, maxChars: number): ChatMessage['content'] {
  if (value === null) return null
  let chars = 0
  let result: ChatMessage['content']
  if (typeof value === 'string') {
    chars = value.length
    result = value
  } else if (Array.isArray(value)) {
    const parts: ContentPart[] = []
    value.forEach((part, j) => {
      const where = `${at}[${j}]`
      if (!isObject(part)) fail(`${where} must be an object.`, where)
      if (part.type === 'text' && typeof part.text === 'string') {
        chars += part.text.length
        parts.push({ type: 'text', text: part.text })
      } else if (
        part.type === 'image_url' &&
        isObject(part.image_url) &&
        typeof part.image_url.url === 'string'
      ) {
        const detail = part.image_url.detail
        if (detail !== undefined && detail !== 'auto' && detail !== 'low' && detail !== 'high') {
          fail(`${where}.image_url.detail must be auto, low or high.`, `${where}.image_url.detail`)
        }
        chars += part.image_url.url.length
        parts.push({
          type: 'image_url',
          image_url: { url: part.image_url.url, ...(detail ? { detail } : {}) },
        })
      } else {
        fail(`${where} must be a text part {type:"text",text} or an image_url part.`, where)
      }
    })
    result = parts
  } else {
    fail(`${at} must be a string, an array of content parts, or null.`, at)
  }
  if (maxChars > 0 && chars > maxChars) {
    throw new ValidationError(`${at} has ${chars} characters; the limit is ${maxChars}.`, {
      param: at,
      status: 413,
    })
  }
  return result
}

function toolCalls(value: unknown, at: string): ToolCall[] {
  if (!Array.isArray(value)) fail(`${at} must be an array.`, at)
  return value.map((call, j) => {
    const where = `${at}[${j}]`
    if (
      !isObject(call) ||
      typeof call.id !== 'string' ||
      (call.type !== undefined && call.type !== 'function') ||
      !isObject(call.function) ||
      typeof call.function.name !== 'string' ||
      typeof call.function.arguments !== 'string'
    ) {
      fail(`${where} must be {id, type:"function", function:{name, arguments}}.`, where)
    }
    return {
      id: call.id,
      type: 'function' as const,
      function: { name: call.function.name, arguments: call.function.arguments },
    }
  })
}

function message(value: unknown, i: number, maxChars: number): ChatMessage {
  const at = `messages[${i}]`
  if (!isObject(value)) fail(`${at} must be an object with role and content.`, at)
  const { role } = value
  if (typeof role !== 'string' || !ROLES.has(role)) {
    fail(`${at}.role must be one of system, developer, user, assistant, tool.`, `${at}.role`)
  }
  const out: ChatMessage = { role: role as Role, content: null }
  if (value.tool_calls !== undefined && value.tool_calls !== null) {
    if (role !== 'assistant')
      fail(`${at}.tool_calls is only allowed on assistant messages.`, `${at}.tool_calls`)
    out.tool_calls = toolCalls(value.tool_calls, `${at}.tool_calls`)
  }
  if (value.content === undefined || value.content === null) {
    // Only an assistant message that calls tools may come without content.
    if (!out.tool_calls) fail(`${at}.content is required.`, `${at}.content`)
  } else {
    out.content = content(value.content, `${at}.content`, maxChars)
  }
  if (value.name !== undefined) {
    if (typeof value.name !== 'string') fail(`${at}.name must be a string.`, `${at}.name`)
    out.name = value.name
  }
  if (role === 'tool') {
    if (typeof value.tool_call_id !== 'string' || value.tool_call_id === '') {
      fail(`${at}.tool_call_id is required on tool messages.`, `${at}.tool_call_id`)
    }
    out.tool_call_id = value.tool_call_id
  }
  return out
}

/** Deepest nesting a tool's JSON Schema may have; real schemas stay far below. */
const MAX_SCHEMA_DEPTH = 64

/**
 * True when `value` nests deeper than `limit`. Iterative on purpose: the body parsed fine, but any
 * recursive walk (ours, JSON.stringify for the cache key or the upstream) would overflow the stack
 * on 100,000 nested arrays.
 */
function deeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (typeof node !== 'object' || node === null) continue
    if (depth > limit) return true
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
    }
  }
  return false
}

function tools(value: unknown): Tool[] | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) fail('tools must be an array.', 'tools')
  return value.map((tool, i) => {
    const at = `tools[${i}]`
    if (
      !isObject(tool) ||
      tool.type !== 'function' ||
      !isObject(tool.function) ||
      typeof tool.function.name !== 'string'
    ) {
      fail(`${at} must be {type:"function", function:{name, description?, parameters?}}.`, at)
    }
    const fn = tool.function
    if (fn.description !== undefined && typeof fn.description !== 'string') {
      fail(`${at}.function.description must be a string.`, `${at}.function.description`)
    }
    if (fn.parameters !== undefined && !isObject(fn.parameters)) {
      fail(`${at}.function.parameters must be a JSON Schema object.`, `${at}.function.parameters`)
    }
    if (fn.parameters !== undefined && deeperThan(fn.parameters, MAX_SCHEMA_DEPTH)) {
      fail(
        `${at}.function.parameters nests deeper than ${MAX_SCHEMA_DEPTH} levels.`,
        `${at}.function.parameters`,
      )
    }
    return {
      type: 'function' as const,
      function: {
        name: fn.name as string,
        ...(fn.description !== undefined ? { description: fn.description as string } : {}),
        ...(fn.parameters !== undefined
          ? { parameters: fn.parameters as Record<string, unknown> }
          : {}),
      },
    }
  })
}

function toolChoice(value: unknown): ToolChoice | undefined {
  if (value === undefined || value === null) return undefined
  if (value === 'none' || value === 'auto' || value === 'required') return value
  if (
    isObject(value) &&
    value.type === 'function' &&
    isObject(value.function) &&
    typeof value.function.name === 'string'
  ) {
    return { type: 'function', function: { name: value.function.name } }
  }
  fail(
    'tool_choice must be none, auto, required or {type:"function", function:{name}}.',
    'tool_choice',
  )
}

function stop(value: unknown): string | string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string') return value
  if (Array.isArray(value) && value.length <= 4 && value.every((s) => typeof s === 'string')) {
    return value as string[]
  }
  fail('stop must be a string or an array of up to 4 strings.', 'stop')
}

/**
 * Checks an OpenAI chat request against the contract: 400 for wrong shapes or values, 413 over a
 * limit. Unknown fields are ignored. Returns only the fields that reach the upstream.
 */
export function validateRequest(body: unknown, settings: RequestSettings): ParsedRequest {
  if (!isObject(body)) fail('Request body must be a JSON object.', null)
  const { limits } = settings

  const rawMessages = body.messages
  if (!Array.isArray(rawMessages) || rawMessages.length === 0) {
    fail('messages must be a non-empty array of {role, content}.', 'messages')
  }
  if (limits.maxMessages > 0 && rawMessages.length > limits.maxMessages) {
    throw new ValidationError(
      `messages has ${rawMessages.length} entries; the limit is ${limits.maxMessages}.`,
      { param: 'messages', status: 413 },
    )
  }
  const messages = rawMessages.map((m, i) => message(m, i, limits.maxMessageChars))

  let model = settings.model
  if (body.model !== undefined && body.model !== null) {
    if (typeof body.model !== 'string') fail('model must be a string.', 'model')
    if (!settings.models.has(body.model)) {
      fail(
        `model ${JSON.stringify(body.model)} is not allowed; use one of: ${[...settings.models].join(', ')}.`,
        'model',
      )
    }
    model = body.model
  }

  const stream = optionalBoolean(body, 'stream') ?? settings.stream
  let includeUsage = false
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!isObject(body.stream_options)) fail('stream_options must be an object.', 'stream_options')
    const usage = body.stream_options.include_usage
    if (usage !== undefined && typeof usage !== 'boolean') {
      fail('stream_options.include_usage must be a boolean.', 'stream_options.include_usage')
    }
    includeUsage = usage === true
  }

  const maxTokens =
    optionalNumber(body, 'max_completion_tokens', 1, Number.MAX_SAFE_INTEGER, true) ??
    optionalNumber(body, 'max_tokens', 1, Number.MAX_SAFE_INTEGER, true)
  const params: GenerationParams = {}
  // Workers AI accepts temperature up to 5 (OpenAI: 2); the wider range is allowed.
  const temperature = optionalNumber(body, 'temperature', 0, 5)
  const topP = optionalNumber(body, 'top_p', 0, 1)
  const seed = optionalNumber(body, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true)
  const frequency = optionalNumber(body, 'frequency_penalty', -2, 2)
  const presence = optionalNumber(body, 'presence_penalty', -2, 2)
  const stopValue = stop(body.stop)
  const toolList = tools(body.tools)
  const choice = toolChoice(body.tool_choice)
  if (temperature !== undefined) params.temperature = temperature
  if (topP !== undefined) params.top_p = topP
  if (maxTokens !== undefined) params.max_tokens = maxTokens
  if (seed !== undefined) params.seed = seed
  if (stopValue !== undefined) params.stop = stopValue
  if (frequency !== undefined) params.frequency_penalty = frequency
  if (presence !== undefined) params.presence_penalty = presence
  if (toolList !== undefined) params.tools = toolList
  if (choice !== undefined) params.tool_choice = choice

  const request: ParsedRequest = {
    model,
    messages,
    params,
    stream,
    includeUsage,
    cacheLookup: optionalBoolean(body, 'cache') ?? true,
  }
  // OpenAI's name for "requests that share a prompt prefix": what prefix caching routes by.
  const promptCacheKey = body.prompt_cache_key
  if (promptCacheKey !== undefined && promptCacheKey !== null) {
    if (typeof promptCacheKey !== 'string') {
      fail('prompt_cache_key must be a string.', 'prompt_cache_key')
    }
    if (promptCacheKey !== '') request.conversation = `key:${promptCacheKey}`
  }
  return request
}
