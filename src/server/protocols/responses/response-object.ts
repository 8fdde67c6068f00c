import type { FinishReason, Usage } from '../../../shared/chat-types'
import type { CachedAnswer } from '../../cache/response-cache'
import type { AnswerMeta } from '../../engine/answer-event'
import type { ParsedRequest } from '../chat-completions/validate-request'
import type { Decoded } from '../protocol'
import type {
  ResponsesContext,
  ResponsesFunctionTool,
  ResponsesToolChoice,
} from './decode-responses-request'

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed'
export type ItemStatus = 'in_progress' | 'completed' | 'incomplete'

export interface ResponseUsage {
  input_tokens: number
  input_tokens_details: { cached_tokens: number }
  output_tokens: number
  output_tokens_details: { reasoning_tokens: number }
  total_tokens: number
}

export interface OutputText {
  type: 'output_text'
  annotations: never[]
  logprobs: never[]
  text: string
}

export interface MessageItem {
  id: string
  type: 'message'
  status: ItemStatus
  content: OutputText[]
  role: 'assistant'
}

/**
 * Reasoning travels as a summary part: the AI SDK's Responses parser reads reasoning only from
 * `reasoning_summary_*` events (it drops `reasoning_text` ones), and the openai client reads both.
 */
export interface ReasoningItem {
  id: string
  type: 'reasoning'
  summary: Array<{ type: 'summary_text'; text: string }>
}

export interface FunctionCallItem {
  id: string
  type: 'function_call'
  status: ItemStatus
  arguments: string
  call_id: string
  name: string
}

export type OutputItem = MessageItem | ReasoningItem | FunctionCallItem

/** The OpenAI `response` object (the fields its clients read; we never store it). */
export interface ResponseObject {
  id: string
  object: 'response'
  created_at: number
  status: ResponseStatus
  error: { code: string; message: string } | null
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null
  instructions: string | null
  max_output_tokens: number | null
  model: string
  output: OutputItem[]
  parallel_tool_calls: boolean
  previous_response_id: null
  store: false
  temperature: number | null
  tool_choice: ResponsesToolChoice
  tools: ResponsesFunctionTool[]
  top_p: number | null
  usage: ResponseUsage | null
  metadata: Record<string, string>
}

/** The random part of our answer id (`chatcmpl-<hex>`), shared by the response and its items. */
function idSuffix(meta: AnswerMeta): string {
  return meta.id.slice(meta.id.indexOf('-') + 1)
}

/** `resp_<hex>`: the same answer has the same id in every protocol's logs. */
export function responseId(meta: AnswerMeta): string {
  return `resp_${idSuffix(meta)}`
}

/** `msg_…`, `rs_…`, `fc_…`: unique within the response by its output index. */
export function itemId(prefix: 'msg' | 'rs' | 'fc', meta: AnswerMeta, outputIndex: number): string {
  return `${prefix}_${idSuffix(meta)}_${outputIndex}`
}

export function toResponseUsage(usage: Usage): ResponseUsage {
  return {
    input_tokens: usage.prompt_tokens,
    // Prompt tokens the upstream served from its prefix cache (0 when it did not say).
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.total_tokens,
  }
}

/** How an answer that finished for `reason` ends: `length` and `content_filter` are incomplete. */
export function finishStatus(
  reason: FinishReason,
): Pick<ResponseObject, 'status' | 'incomplete_details'> {
  if (reason === 'length') {
    return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } }
  }
  if (reason === 'content_filter') {
    return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } }
  }
  return { status: 'completed', incomplete_details: null }
}

export interface ResponseState {
  status: ResponseStatus
  output: OutputItem[]
  usage?: Usage | undefined
  incomplete_details?: ResponseObject['incomplete_details']
  error?: ResponseObject['error']
}

/** The response object at some point of its life (created, completed, failed, ...). */
export function responseObject(
  meta: AnswerMeta,
  model: string,
  request: ParsedRequest,
  context: ResponsesContext,
  state: ResponseState,
): ResponseObject {
  return {
    id: responseId(meta),
    object: 'response',
    created_at: meta.created,
    status: state.status,
    error: state.error ?? null,
    incomplete_details: state.incomplete_details ?? null,
    instructions: context.instructions,
    max_output_tokens: request.params.max_tokens ?? null,
    model,
    output: state.output,
    parallel_tool_calls: context.parallelToolCalls,
    previous_response_id: null,
    store: false,
    temperature: request.params.temperature ?? null,
    tool_choice: context.toolChoice,
    tools: context.tools,
    top_p: request.params.top_p ?? null,
    usage: state.usage ? toResponseUsage(state.usage) : null,
    metadata: {},
  }
}

export function outputText(text: string): OutputText {
  return { type: 'output_text', annotations: [], logprobs: [], text }
}

/** The non-stream answer: reasoning, then the message (unless it only calls tools), then calls. */
export function toResponse(
  answer: CachedAnswer,
  meta: AnswerMeta,
  { request, context }: Decoded<ResponsesContext>,
): ResponseObject {
  const end = finishStatus(answer.finishReason)
  const itemStatus: ItemStatus = end.status === 'completed' ? 'completed' : 'incomplete'
  const output: OutputItem[] = []
  if (answer.reasoning) {
    output.push({
      id: itemId('rs', meta, output.length),
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: answer.reasoning }],
    })
  }
  if (answer.text !== '' || !answer.toolCalls?.length) {
    output.push({
      id: itemId('msg', meta, output.length),
      type: 'message',
      status: itemStatus,
      content: [outputText(answer.text)],
      role: 'assistant',
    })
  }
  for (const call of answer.toolCalls ?? []) {
    output.push({
      id: itemId('fc', meta, output.length),
      type: 'function_call',
      status: 'completed',
      arguments: call.function.arguments,
      call_id: call.id,
      name: call.function.name,
    })
  }
  return responseObject(meta, answer.model, request, context, {
    ...end,
    output,
    usage: answer.usage,
  })
}
