// Routing and request-body validation, answering what Workers AI answers for bad input.
import { badInput, noSuchModel } from './emulator-envelope'
import type { EmulatorRoute } from './emulator-types'

const RUN_PATH = /^\/client\/v4\/accounts\/([^/]+)\/ai\/run\/(.+)$/
const CHAT_PATH = /^\/client\/v4\/accounts\/([^/]+)\/ai\/v1\/chat\/completions$/
// AI Gateway (wire-formats §3): `/v1/{account}/{gateway}/workers-ai/[run/]{model}` and
// `/v1/{account}/{gateway}/workers-ai/v1/chat/completions`, whatever the host.
const GATEWAY_CHAT_PATH = /^\/v1\/([^/]+)\/([^/]+)\/workers-ai\/v1\/chat\/completions$/
const GATEWAY_RUN_PATH = /^\/v1\/([^/]+)\/([^/]+)\/workers-ai\/(?:run\/)?(.+)$/

export type MatchedRoute =
  | { route: 'run'; account: string; model: string; gateway: string | null }
  | { route: 'chat-completions'; account: string; gateway: string | null }
  | { route: 'unknown' }

/** The model stays as written in the path (Cloudflare's client does not encode it). */
export function matchRoute(pathname: string): MatchedRoute {
  const run = RUN_PATH.exec(pathname)
  if (run) return { route: 'run', account: run[1]!, model: run[2]!, gateway: null }
  const chat = CHAT_PATH.exec(pathname)
  if (chat) return { route: 'chat-completions', account: chat[1]!, gateway: null }
  const gatewayChat = GATEWAY_CHAT_PATH.exec(pathname)
  if (gatewayChat) {
    return { route: 'chat-completions', account: gatewayChat[1]!, gateway: gatewayChat[2]! }
  }
  const gatewayRun = GATEWAY_RUN_PATH.exec(pathname)
  if (gatewayRun) {
    return { route: 'run', account: gatewayRun[1]!, model: gatewayRun[3]!, gateway: gatewayRun[2]! }
  }
  return { route: 'unknown' }
}

export interface EmulatorTool {
  name: string
  parameters: Record<string, unknown>
}

export interface ChatInput {
  route: Exclude<EmulatorRoute, 'unknown'>
  model: string
  body: Record<string, unknown>
  /** `messages` as sent, or the prompt as one user message. */
  messages: unknown[]
  stream: boolean
  /** Only when the request sets it: no default cap, so benchmarks can ask for long replies. */
  maxTokens: number | null
  includeUsage: boolean
  tools: EmulatorTool[]
  toolChoice: unknown
}

export type ParsedBody = { ok: true; value: unknown } | { ok: false; raw: string }

export function parseBody(text: string): ParsedBody {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false, raw: text }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function normaliseTools(tools: unknown): EmulatorTool[] | null {
  if (tools === undefined) return []
  if (!Array.isArray(tools)) return null
  const out: EmulatorTool[] = []
  for (const tool of tools) {
    // OpenAI `{type:'function', function:{…}}` or the legacy flat `{name, parameters}`.
    const fn = isObject(tool) && isObject(tool.function) ? tool.function : tool
    if (!isObject(fn) || typeof fn.name !== 'string') return null
    out.push({ name: fn.name, parameters: isObject(fn.parameters) ? fn.parameters : {} })
  }
  return out
}

function validMessages(messages: unknown): messages is unknown[] {
  if (!Array.isArray(messages) || messages.length === 0) return false
  return messages.every((m) => isObject(m) && typeof m.role === 'string')
}

/** Returns the validated input, or the error response Workers AI would give. */
export function validateChatBody(
  route: ChatInput['route'],
  pathModel: string | null,
  parsed: ParsedBody,
  models: ReadonlySet<string>,
): ChatInput | Response {
  if (!parsed.ok) {
    if (parsed.raw.trim() === '') return badInput('AiError: Incomplete request: missing body', 3003)
    return badInput('AiError: Bad input: Error: failed to decode JSON body')
  }
  const body = parsed.value
  if (!isObject(body)) {
    return badInput("AiError: Bad input: Error: Type mismatch of '/', 'object' expected")
  }
  const model = route === 'run' ? pathModel : body.model
  if (typeof model !== 'string' || model === '') {
    return badInput("AiError: Bad input: Error: required properties at '/' are 'model'")
  }
  if (!models.has(model)) return noSuchModel(model)

  const hasMessages = body.messages !== undefined
  const hasPrompt = body.prompt !== undefined
  if (hasMessages && hasPrompt) return badInput('prompt and messages are mutually exclusive')
  let messages: unknown[]
  if (hasPrompt && route === 'run') {
    if (typeof body.prompt !== 'string') {
      return badInput("AiError: Bad input: Error: Type mismatch of '/prompt', 'string' expected")
    }
    messages = [{ role: 'user', content: body.prompt }]
  } else if (hasMessages) {
    if (!validMessages(body.messages)) {
      return badInput(
        "AiError: Bad input: Error: '/messages' must be a non-empty array of {role, content}",
      )
    }
    messages = body.messages
  } else {
    return badInput(
      route === 'run'
        ? "AiError: Bad input: Error: oneOf at '/' not met, 0 matches: required properties at '/' are 'prompt', required properties at '/' are 'messages'"
        : "AiError: Bad input: Error: required properties at '/' are 'messages'",
    )
  }

  if (body.stream !== undefined && typeof body.stream !== 'boolean') {
    return badInput("AiError: Bad input: Error: Type mismatch of '/stream', 'boolean' expected")
  }
  const rawMax = body.max_tokens ?? body.max_completion_tokens
  if (rawMax !== undefined && !(Number.isInteger(rawMax) && (rawMax as number) >= 1)) {
    return badInput("AiError: Bad input: Error: '/max_tokens' must be an integer >= 1")
  }
  const tools = normaliseTools(body.tools)
  if (!tools) return badInput("AiError: Bad input: Error: '/tools' must be an array of functions")
  const streamOptions = body.stream_options
  return {
    route,
    model,
    body,
    messages,
    stream: body.stream === true,
    maxTokens: typeof rawMax === 'number' ? rawMax : null,
    includeUsage: isObject(streamOptions) && streamOptions.include_usage === true,
    tools,
    toolChoice: body.tool_choice,
  }
}
