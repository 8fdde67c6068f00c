// What the emulator answers: the reply text split into word-sized tokens, or one tool call.
import type { ChatInput, EmulatorTool } from './emulator-request'
import type { WorkersAIEmulatorOptions } from './emulator-types'

/** Tokens by index, so a 200,000-token reply is never held in memory at once. */
export interface TokenSource {
  readonly count: number
  at(index: number): string
}

export interface ToolCallPlan {
  id: string
  name: string
  /** The JSON arguments, and the same text cut into the fragments the stream sends. */
  arguments: string
  pieces: string[]
}

export interface ReplyPlan {
  /** Reasoning tokens, sent before the answer (OpenAI-shaped answers only). */
  reasoning: TokenSource
  tokens: TokenSource
  toolCall: ToolCallPlan | null
  finishReason: 'stop' | 'length' | 'tool_calls'
  promptTokens: number
  /** Of `promptTokens`, those served from the prefix cache (set by the emulator after planning). */
  cachedTokens: number
  /** Token frames the full reply sends: reasoning, then text or the tool call's opening and pieces. */
  completionTokens: number
}

const EMPTY: TokenSource = { count: 0, at: () => '' }

export function messageText(message: unknown): string {
  if (typeof message !== 'object' || message === null) return ''
  const content = (message as { content?: unknown }).content
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((part) =>
      typeof part === 'object' && part !== null && typeof part.text === 'string' ? part.text : '',
    )
    .join(' ')
}

function lastUserText(messages: unknown[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown }
    if (m?.role === 'user') return messageText(m)
  }
  return ''
}

function defaultReply(messages: unknown[]): string {
  const said = lastUserText(messages).trim()
  return `This answer comes from the copilotedge Workers AI emulator, not a real model. You said: ${said || '(nothing)'}`
}

/** Word-sized tokens whose concatenation is exactly `text` ("This ", "answer ", …). */
export function splitTokens(text: string): string[] {
  return text.match(/^\s+|\S+\s*/g) ?? []
}

function countWords(messages: unknown[]): number {
  let words = 0
  for (const m of messages) words += messageText(m).split(/\s+/).filter(Boolean).length
  return words
}

function capped(source: TokenSource, max: number | null): TokenSource {
  if (max === null || source.count <= max) return source
  return { count: max, at: (i) => source.at(i) }
}

function toolWords(name: string): string[] {
  const words = name
    .split(/[^a-zA-Z0-9]+|(?=[A-Z])/)
    .map((w) => w.toLowerCase())
    .filter((w) => w.length >= 4)
  return [name.toLowerCase(), ...words]
}

/** A tool is called when the last message is the user's and names it (e.g. "weather"). */
function chooseTool(input: ChatInput): EmulatorTool | null {
  const { tools, toolChoice, messages } = input
  if (tools.length === 0 || toolChoice === 'none') return null
  const last = messages[messages.length - 1] as { role?: unknown } | undefined
  if (last?.role !== 'user') return null
  const forced = (toolChoice as { function?: { name?: unknown } } | undefined)?.function?.name
  if (typeof forced === 'string') return tools.find((t) => t.name === forced) ?? null
  const text = messageText(last).toLowerCase()
  const named = tools.find((t) => toolWords(t.name).some((w) => text.includes(w)))
  if (named) return named
  return toolChoice === 'required' ? (tools[0] ?? null) : null
}

function argumentValue(schema: unknown, place: string): unknown {
  const s = (typeof schema === 'object' && schema !== null ? schema : {}) as {
    type?: unknown
    enum?: unknown[]
  }
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0]
  switch (s.type) {
    case 'number':
    case 'integer':
      return 1
    case 'boolean':
      return true
    case 'array':
      return []
    case 'object':
      return {}
    default:
      return place
  }
}

function planToolCall(tool: EmulatorTool, userText: string): ToolCallPlan {
  const properties = (tool.parameters.properties ?? {}) as Record<string, unknown>
  const required = tool.parameters.required
  const keys = Array.isArray(required) ? required.map(String) : Object.keys(properties)
  // "What's the weather in Paris?" → "Paris": enough for a plausible first argument.
  const place = /\b(?:in|for|at)\s+(\p{Lu}[\p{L}-]*(?:\s+\p{Lu}[\p{L}-]*)*)/u.exec(userText)?.[1]
  const args: Record<string, unknown> = {}
  for (const key of keys) args[key] = argumentValue(properties[key], place ?? 'emulator')
  const json = JSON.stringify(args)
  return {
    id: randomId(9),
    name: tool.name,
    arguments: json,
    pieces: json.match(/"[^"]*"?:?|[^"]+/g) ?? [],
  }
}

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

/** Letters and digits only: Mistral's schema wants tool call ids matching `[a-zA-Z0-9]{9}`. */
function randomId(length: number): string {
  let id = ''
  for (let i = 0; i < length; i++) id += ALPHANUMERIC[Math.floor(Math.random() * 62)]
  return id
}

function listSource(text: string): TokenSource {
  const list = splitTokens(text)
  return { count: list.length, at: (i) => list[i] ?? '' }
}

/** `openai`: the answer is OpenAI-shaped, the only shape that carries reasoning. */
export function planReply(
  input: ChatInput,
  options: WorkersAIEmulatorOptions,
  openai: boolean,
): ReplyPlan {
  const promptTokens = Math.max(1, countWords(input.messages))
  const info = { model: input.model, messages: input.messages, body: input.body }
  const reasoningText =
    typeof options.reasoning === 'function' ? options.reasoning(info) : options.reasoning
  const reasoning = openai && reasoningText ? listSource(reasoningText) : EMPTY
  const tool = chooseTool(input)
  if (tool) {
    const toolCall = planToolCall(tool, lastUserText(input.messages))
    return {
      reasoning,
      tokens: EMPTY,
      toolCall,
      finishReason: 'tool_calls',
      promptTokens,
      cachedTokens: 0,
      completionTokens: reasoning.count + 1 + toolCall.pieces.length,
    }
  }
  let source: TokenSource
  if (options.tokens !== undefined) {
    source = { count: Math.max(0, Math.floor(options.tokens)), at: (i) => `tok${i} ` }
  } else {
    const text =
      typeof options.reply === 'function'
        ? options.reply(info)
        : (options.reply ?? defaultReply(input.messages))
    source = listSource(text)
  }
  // max_tokens caps the answer; the reasoning before it is sent whole.
  const tokens = capped(source, input.maxTokens)
  return {
    reasoning,
    tokens,
    toolCall: null,
    finishReason: tokens.count < source.count ? 'length' : 'stop',
    promptTokens,
    cachedTokens: 0,
    completionTokens: reasoning.count + tokens.count,
  }
}
