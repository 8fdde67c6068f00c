// The exact bytes of each answer: native and OpenAI stream frames (wire-formats §1.4, §5.2) and the
// non-stream bodies (§1.3, §1.7). Frames are generated lazily, one at a time, as the reader pulls.
import type { ReplyPlan } from './emulator-reply'

export interface Frame {
  text: string
  /** Token frames count towards `afterTokens` and `tokensSent`; pacing applies between them. */
  kind: 'pre' | 'token' | 'post'
}

export interface FrameContext {
  plan: ReplyPlan
  model: string
  /** `chatcmpl-…`, the same on every chunk. */
  id: string
  /** Unix seconds. */
  created: number
  padding: (index: number) => string
  /**
   * `run`: OpenAI chunks on `/ai/run` as chat-completions-typed models send them (cumulative usage
   * on each chunk, a `choices:[]` usage chunk, then the universal `{"response":"",usage}` frame).
   * `chat-completions`: plain OpenAI, usage only with `stream_options.include_usage`.
   */
  route: 'run' | 'chat-completions'
  includeUsage: boolean
}

export interface UsageFigures {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  /** Only when part of the prompt came from the prefix cache (a cold request reports none). */
  prompt_tokens_details?: { cached_tokens: number }
}

export function usage(
  promptTokens: number,
  completionTokens: number,
  cachedTokens = 0,
): UsageFigures {
  const figures: UsageFigures = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  }
  if (cachedTokens > 0) figures.prompt_tokens_details = { cached_tokens: cachedTokens }
  return figures
}

export const DONE_FRAME = 'data: [DONE]\n\n'
export const MALFORMED_FRAME = 'data: {"response":"oops\n\n'

export function sse(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`
}

export function errorFrame(code: number, message: string): string {
  return sse({ errors: [{ code, message }] })
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

function randomLetters(): string {
  const length = 1 + Math.floor(Math.random() * 16)
  let p = ''
  for (let i = 0; i < length; i++) p += LETTERS[Math.floor(Math.random() * LETTERS.length)]
  return p
}

// Drawn from a pool: a fresh string per token cost a third of the generation time.
const PADDING_POOL = Array.from({ length: 256 }, randomLetters)

/** Random-length padding, like the `p` field Workers AI adds against token-length side channels. */
export function randomPadding(): string {
  return PADDING_POOL[Math.floor(Math.random() * PADDING_POOL.length)]!
}

export function* nativeFrames(ctx: FrameContext): Generator<Frame> {
  const { plan, padding } = ctx
  let index = 0
  for (let i = 0; i < plan.tokens.count; i++) {
    yield { kind: 'token', text: sse({ response: plan.tokens.at(i), p: padding(index++) }) }
  }
  const call = plan.toolCall
  if (call) {
    const open = { id: call.id, type: 'function', index: 0, function: { name: call.name } }
    yield { kind: 'token', text: sse({ tool_calls: [open], p: padding(index++) }) }
    for (const piece of call.pieces) {
      const delta = { index: 0, function: { arguments: piece } }
      yield { kind: 'token', text: sse({ tool_calls: [delta], p: padding(index++) }) }
    }
    // The null "finalization" sentinel Workers AI sends after the last argument fragment.
    const sentinel = { id: null, type: null, index: 0, function: { name: null, arguments: '' } }
    yield { kind: 'post', text: sse({ tool_calls: [sentinel], p: padding(index++) }) }
  }
  yield {
    kind: 'post',
    text: sse({
      response: '',
      usage: usage(plan.promptTokens, plan.completionTokens, plan.cachedTokens),
    }),
  }
  yield { kind: 'post', text: DONE_FRAME }
}

export function* openaiFrames(ctx: FrameContext): Generator<Frame> {
  const { plan, route, includeUsage } = ctx
  let sent = 0
  const head = {
    id: ctx.id,
    object: 'chat.completion.chunk',
    created: ctx.created,
    model: ctx.model,
  }
  // Built as text around a fixed prefix (the same bytes JSON.stringify of the whole chunk gives):
  // this runs once per token, 200,000 times in a benchmark.
  const prefix = `data: ${JSON.stringify(head).slice(0, -1)},"choices":[{"index":0,"delta":`
  const chunk = (delta: Record<string, unknown>, finish: string | null, withUsage = true) => {
    let tail = ''
    if (route === 'run' && withUsage) {
      tail = `,"usage":${JSON.stringify(usage(plan.promptTokens, sent, plan.cachedTokens))}`
    } else if (route === 'chat-completions' && includeUsage) {
      tail = ',"usage":null'
    }
    return `${prefix}${JSON.stringify(delta)},"logprobs":null,"finish_reason":${JSON.stringify(finish)}}]${tail}}\n\n`
  }
  yield { kind: 'pre', text: chunk({ role: 'assistant', content: '' }, null) }
  for (let i = 0; i < plan.reasoning.count; i++) {
    sent++
    yield { kind: 'token', text: chunk({ reasoning_content: plan.reasoning.at(i) }, null) }
  }
  for (let i = 0; i < plan.tokens.count; i++) {
    sent++
    yield { kind: 'token', text: chunk({ content: plan.tokens.at(i) }, null) }
  }
  const call = plan.toolCall
  if (call) {
    const open = {
      index: 0,
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: '' },
    }
    sent++
    yield { kind: 'token', text: chunk({ tool_calls: [open] }, null) }
    for (const piece of call.pieces) {
      sent++
      yield {
        kind: 'token',
        text: chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null),
      }
    }
  }
  yield { kind: 'post', text: chunk({}, plan.finishReason, false) }
  const total = usage(plan.promptTokens, plan.completionTokens, plan.cachedTokens)
  if (route === 'run' || includeUsage)
    yield { kind: 'post', text: sse({ ...head, choices: [], usage: total }) }
  if (route === 'run') yield { kind: 'post', text: sse({ response: '', usage: total }) }
  yield { kind: 'post', text: DONE_FRAME }
}

function joined(source: ReplyPlan['tokens']): string {
  let text = ''
  for (let i = 0; i < source.count; i++) text += source.at(i)
  return text
}

/** `result` of a non-stream `/ai/run` answer from a native model (§1.3). */
export function nativeResult(plan: ReplyPlan): Record<string, unknown> {
  const result: Record<string, unknown> = { response: joined(plan.tokens) }
  if (plan.toolCall) {
    result.tool_calls = [
      { name: plan.toolCall.name, arguments: JSON.parse(plan.toolCall.arguments) },
    ]
  }
  result.usage = usage(plan.promptTokens, plan.completionTokens, plan.cachedTokens)
  return result
}

/** A complete OpenAI `chat.completion` (non-stream `/v1/chat/completions`, or chat-typed `result`). */
export function chatCompletion(ctx: FrameContext): Record<string, unknown> {
  const { plan } = ctx
  const call = plan.toolCall
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: call ? null : joined(plan.tokens),
  }
  if (plan.reasoning.count > 0) message.reasoning_content = joined(plan.reasoning)
  if (call) {
    message.tool_calls = [
      { id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } },
    ]
  }
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: plan.finishReason }],
    usage: usage(plan.promptTokens, plan.completionTokens, plan.cachedTokens),
  }
}
