// The OpenAI chat wire types that both halves speak. Type-only: importing this file never pulls
// runtime code into the client or react bundles.

export type Role = 'system' | 'developer' | 'user' | 'assistant' | 'tool'

export interface TextContentPart {
  type: 'text'
  text: string
}

export interface ImageContentPart {
  type: 'image_url'
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' }
}

export type ContentPart = TextContentPart | ImageContentPart

export interface ToolCall {
  id: string
  type: 'function'
  function: { name: string; arguments: string }
}

/** One fragment of a streamed tool call; `id`, `type` and `function.name` only on the first per index. */
export interface ToolCallDelta {
  index: number
  id?: string
  type?: 'function'
  function?: { name?: string; arguments?: string }
}

export interface ChatMessage {
  role: Role
  content: string | ContentPart[] | null
  name?: string
  tool_calls?: ToolCall[]
  tool_call_id?: string
}

export interface Tool {
  type: 'function'
  function: { name: string; description?: string; parameters?: Record<string, unknown> }
}

export type ToolChoice =
  | 'none'
  | 'auto'
  | 'required'
  | { type: 'function'; function: { name: string } }

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter'

export interface Usage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  /**
   * Present when the upstream reported it (Workers AI and OpenAI do): `cached_tokens` of
   * `prompt_tokens` were served from the provider's prompt (prefix) cache.
   */
  prompt_tokens_details?: { cached_tokens: number }
}

/** The subset of an OpenAI chat request copilotedge accepts. Unknown fields are ignored. */
export interface ChatRequest {
  messages: ChatMessage[]
  model?: string
  stream?: boolean
  stream_options?: { include_usage?: boolean }
  temperature?: number
  top_p?: number
  max_tokens?: number
  max_completion_tokens?: number
  seed?: number
  stop?: string | string[]
  frequency_penalty?: number
  presence_penalty?: number
  tools?: Tool[]
  tool_choice?: ToolChoice
  /** copilotedge extension: `false` bypasses the cache lookup (the answer still refreshes it). */
  cache?: boolean
}

export interface ChatCompletionChunkDelta {
  role?: 'assistant'
  content?: string | null
  reasoning_content?: string
  tool_calls?: ToolCallDelta[]
}

export interface ChatCompletionChunk {
  id: string
  object: 'chat.completion.chunk'
  created: number
  model: string
  choices: Array<{
    index: number
    delta: ChatCompletionChunkDelta
    finish_reason: FinishReason | null
  }>
  usage?: Usage | null
}

export interface ChatCompletion {
  id: string
  object: 'chat.completion'
  created: number
  model: string
  choices: Array<{
    index: number
    message: {
      role: 'assistant'
      content: string | null
      reasoning_content?: string
      tool_calls?: ToolCall[]
    }
    finish_reason: FinishReason
  }>
  usage?: Usage
}

export type ErrorType =
  | 'invalid_request_error'
  | 'rate_limit_error'
  | 'upstream_error'
  | 'timeout_error'

/** OpenAI's error envelope: the body of every non-2xx answer and of an in-stream error event. */
export interface OpenAIErrorBody {
  error: { message: string; type: ErrorType | string; code: string | null; param?: string | null }
}
