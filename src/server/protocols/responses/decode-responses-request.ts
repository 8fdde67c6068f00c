import type { ChatMessage, ContentPart, Tool, ToolChoice } from '../../../shared/chat-types'
import { ValidationError } from '../../errors'
import type { RequestSettings } from '../chat-completions/validate-request'
import { validateRequest } from '../chat-completions/validate-request'
import type { Decoded } from '../protocol'

/** A Responses function tool: flat, unlike Chat Completions' `{type, function: {...}}`. */
export interface ResponsesFunctionTool {
  type: 'function'
  name: string
  description: string | null
  parameters: Record<string, unknown> | null
  strict: boolean | null
}

export type ResponsesToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; name: string }

/** What the response object echoes of the request, in the Responses API's own shapes. */
export interface ResponsesContext {
  instructions: string | null
  tools: ResponsesFunctionTool[]
  toolChoice: ResponsesToolChoice
  parallelToolCalls: boolean
}

/** Where a chat message came from in the Responses body, to name the right field in errors. */
interface Origin {
  /** The item (`input[2]`, `instructions`, `input`). */
  at: string
  /** The path of what became the message's `content` (`input[2].content`, `input[3].output`). */
  content: string
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function fail(message: string, param: string | null): never {
  throw new ValidationError(message, { param })
}

const MESSAGE_ROLES: ReadonlySet<string> = new Set(['user', 'system', 'developer', 'assistant'])

/** One Responses content part in Chat Completions' form. */
function contentPart(part: unknown, where: string): ContentPart {
  if (!isObject(part)) fail(`${where} must be an object.`, where)
  if ((part.type === 'input_text' || part.type === 'output_text') && typeof part.text === 'string')
    return { type: 'text', text: part.text }
  if (part.type === 'refusal' && typeof part.refusal === 'string')
    return { type: 'text', text: part.refusal }
  if (part.type === 'input_image') {
    if (typeof part.image_url !== 'string') {
      fail(`${where}.image_url must be a URL or data URL (file_id is not supported).`, where)
    }
    const detail = part.detail
    if (
      detail !== undefined &&
      detail !== null &&
      detail !== 'auto' &&
      detail !== 'low' &&
      detail !== 'high'
    ) {
      fail(`${where}.detail must be auto, low or high.`, `${where}.detail`)
    }
    return {
      type: 'image_url',
      image_url: { url: part.image_url, ...(typeof detail === 'string' ? { detail } : {}) },
    }
  }
  fail(`${where} must be an input_text, output_text, refusal or input_image part.`, where)
}

/**
 * Content parts in Chat Completions' form. A single text part becomes a plain string, so that the
 * AI SDK's `[{type:"input_text", text}]` and a chat client's `"text"` are the same conversation
 * (one cache key) and reach the upstream alike.
 */
function content(value: unknown, at: string): ChatMessage['content'] {
  if (typeof value === 'string') return value
  if (!Array.isArray(value)) fail(`${at} must be a string or an array of content parts.`, at)
  const parts = value.map((part, j) => contentPart(part, `${at}[${j}]`))
  const only = parts.length === 1 ? parts[0] : undefined
  return only?.type === 'text' ? only.text : parts
}

/** `function_call_output.output`: a string, or content parts (text and images). */
function toolOutput(value: unknown, at: string): ChatMessage['content'] {
  if (typeof value === 'string') return value
  if (Array.isArray(value)) return content(value, at)
  fail(`${at} must be a string or an array of content parts.`, at)
}

/** The items of `input` as Chat Completions messages, with where each came from. */
function messagesOf(input: unknown[], messages: ChatMessage[], origins: Origin[]): void {
  input.forEach((item, i) => {
    const at = `input[${i}]`
    if (!isObject(item)) fail(`${at} must be an object.`, at)
    const type = item.type ?? 'message'
    if (type === 'item_reference') {
      // The AI SDK (store defaults to true) refers back to our earlier items by id. A reasoning
      // item (`rs_…`) is dropped anyway, like a reasoning item sent in full; anything else would
      // need the stored item, and dropping it would silently change the conversation.
      if (typeof item.id === 'string' && item.id.startsWith('rs_')) return
      fail(
        `${at} is an item_reference; copilotedge stores no responses, so send the item itself (AI SDK: providerOptions: { openai: { store: false } }).`,
        at,
      )
    }
    switch (type) {
      case 'message': {
        const role = item.role
        if (typeof role !== 'string' || !MESSAGE_ROLES.has(role)) {
          fail(`${at}.role must be one of user, system, developer, assistant.`, `${at}.role`)
        }
        messages.push({
          role: role as ChatMessage['role'],
          content: content(item.content, `${at}.content`),
        })
        origins.push({ at, content: `${at}.content` })
        return
      }
      case 'function_call': {
        if (typeof item.call_id !== 'string' || item.call_id === '')
          fail(`${at}.call_id must be a non-empty string.`, `${at}.call_id`)
        if (typeof item.name !== 'string') fail(`${at}.name must be a string.`, `${at}.name`)
        if (typeof item.arguments !== 'string')
          fail(`${at}.arguments must be a string of JSON.`, `${at}.arguments`)
        const call = {
          id: item.call_id,
          type: 'function' as const,
          function: { name: item.name, arguments: item.arguments },
        }
        // An assistant turn that says something and calls tools is one chat message: the text,
        // then the calls (the Responses API lists them as separate items).
        const last = messages[messages.length - 1]
        if (last?.role === 'assistant') {
          // As a chat answer that only calls tools has it: content null, not ''.
          if (last.content === '') last.content = null
          last.tool_calls = [...(last.tool_calls ?? []), call]
        } else {
          messages.push({ role: 'assistant', content: null, tool_calls: [call] })
          origins.push({ at, content: `${at}.arguments` })
        }
        return
      }
      case 'function_call_output': {
        if (typeof item.call_id !== 'string' || item.call_id === '')
          fail(`${at}.call_id must be a non-empty string.`, `${at}.call_id`)
        messages.push({
          role: 'tool',
          content: toolOutput(item.output, `${at}.output`),
          tool_call_id: item.call_id,
        })
        origins.push({ at, content: `${at}.output` })
        return
      }
      case 'reasoning':
        // Reasoning a client sends back (the AI SDK and the openai client replay them) is not
        // part of the conversation the model sees again.
        return
      default:
        fail(
          `${at}.type ${JSON.stringify(type)} is not supported; use message, function_call or function_call_output.`,
          `${at}.type`,
        )
    }
  })
}

function tools(value: unknown): ResponsesFunctionTool[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) fail('tools must be an array.', 'tools')
  return value.map((tool, i) => {
    const at = `tools[${i}]`
    if (!isObject(tool)) fail(`${at} must be an object.`, at)
    if (tool.type !== 'function') {
      fail(
        `${at}.type ${JSON.stringify(tool.type)} is not supported; only function tools run here.`,
        `${at}.type`,
      )
    }
    if (typeof tool.name !== 'string' || tool.name === '')
      fail(`${at}.name must be a non-empty string.`, `${at}.name`)
    if (tool.strict !== undefined && tool.strict !== null && typeof tool.strict !== 'boolean')
      fail(`${at}.strict must be a boolean.`, `${at}.strict`)
    return {
      type: 'function',
      name: tool.name,
      // Checked by validateRequest (as the chat tool's description and parameters).
      description: (tool.description ?? null) as string | null,
      parameters: (tool.parameters ?? null) as Record<string, unknown> | null,
      strict: (tool.strict ?? null) as boolean | null,
    }
  })
}

function chatTool(tool: ResponsesFunctionTool): Tool {
  return {
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description !== null ? { description: tool.description } : {}),
      ...(tool.parameters !== null ? { parameters: tool.parameters } : {}),
    },
  }
}

function toolChoice(value: unknown): ResponsesToolChoice | undefined {
  if (value === undefined || value === null) return undefined
  if (value === 'none' || value === 'auto' || value === 'required') return value
  if (isObject(value) && value.type === 'function' && typeof value.name === 'string')
    return { type: 'function', name: value.name }
  fail('tool_choice must be none, auto, required or {type:"function", name}.', 'tool_choice')
}

function chatToolChoice(choice: ResponsesToolChoice): ToolChoice {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } }
}

/** Chat Completions field names in validateRequest's errors, as the Responses API spells them. */
function renameParam(param: string, origins: Origin[]): string {
  if (param === 'messages') return 'input'
  if (param === 'max_completion_tokens') return 'max_output_tokens'
  const tool = /^tools\[(\d+)\]\.function(\..*)?$/.exec(param)
  if (tool) return `tools[${tool[1]}]${tool[2] ?? ''}`
  const message = /^messages\[(\d+)\](\.content)?(.*)$/.exec(param)
  const origin = message ? origins[Number(message[1])] : undefined
  if (!message || !origin) return param
  return message[2] ? `${origin.content}${message[3]}` : `${origin.at}${message[3]}`
}

/**
 * A Responses API body (`POST …/responses`) as the one internal request: the items become the
 * Chat Completions messages of the same conversation (so both protocols share one cache key) and
 * validateRequest checks them, so limits, the model allow-list and every message rule stay the
 * same; its errors name the Responses field. Unknown fields are ignored; `store` is accepted
 * whatever its value, since nothing is ever stored.
 */
export function decodeResponsesRequest(
  body: unknown,
  settings: RequestSettings,
): Decoded<ResponsesContext> {
  if (!isObject(body)) fail('Request body must be a JSON object.', null)
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) {
    fail(
      'previous_response_id is not supported: copilotedge keeps no responses; send the whole conversation in input.',
      'previous_response_id',
    )
  }
  if (body.conversation !== undefined && body.conversation !== null) {
    fail(
      'conversation is not supported: copilotedge keeps no conversations; send the whole conversation in input.',
      'conversation',
    )
  }

  const messages: ChatMessage[] = []
  const origins: Origin[] = []
  let instructions: string | null = null
  if (body.instructions !== undefined && body.instructions !== null) {
    if (typeof body.instructions !== 'string')
      fail('instructions must be a string.', 'instructions')
    instructions = body.instructions
    messages.push({ role: 'system', content: instructions })
    origins.push({ at: 'instructions', content: 'instructions' })
  }
  const { input } = body
  if (typeof input === 'string') {
    messages.push({ role: 'user', content: input })
    origins.push({ at: 'input', content: 'input' })
  } else if (Array.isArray(input) && input.length > 0) {
    messagesOf(input, messages, origins)
  } else {
    fail('input must be a string or a non-empty array of items.', 'input')
  }
  if (messages.length === (instructions === null ? 0 : 1))
    fail('input has no message, function_call or function_call_output item.', 'input')

  const toolList = tools(body.tools)
  const choice = toolChoice(body.tool_choice)
  const chatBody: Record<string, unknown> = {
    model: body.model,
    messages,
    // The Responses API answers JSON unless asked to stream (whatever the config's `stream`).
    stream: body.stream ?? false,
    temperature: body.temperature,
    top_p: body.top_p,
    max_completion_tokens: body.max_output_tokens,
    tools: toolList.length > 0 ? toolList.map(chatTool) : undefined,
    tool_choice: choice === undefined ? undefined : chatToolChoice(choice),
    cache: body.cache,
    prompt_cache_key: body.prompt_cache_key,
  }
  try {
    const request = validateRequest(chatBody, settings)
    // Every Responses answer reports its usage (in `response.completed` and the JSON form).
    request.includeUsage = true
    const parallel = body.parallel_tool_calls
    return {
      request,
      context: {
        instructions,
        tools: toolList,
        toolChoice: choice ?? 'auto',
        parallelToolCalls: typeof parallel === 'boolean' ? parallel : true,
      },
    }
  } catch (error) {
    if (!(error instanceof ValidationError) || error.param === null) throw error
    const param = renameParam(error.param, origins)
    if (param === error.param) throw error
    let message = error.message.replaceAll(error.param, param)
    if (error.param === 'messages') message = message.replace(/entries/, 'messages')
    throw new ValidationError(message, { param, status: error.status, code: error.code })
  }
}
