import type { FinishReason, Usage } from '../../../shared/chat-types'
import type { AnswerEvent, AnswerMeta } from '../../engine/answer-event'
import type { APIError, ValidationError } from '../../errors'
import { ByteBuffer, DATA_EVENT_END, utf8 } from '../byte-buffer'
import type { StreamEncoder } from '../protocol'

/** The AI SDK's finish reasons (ai 7 `uiMessageChunkSchema`), from OpenAI's. */
const FINISH_REASONS: Readonly<Record<FinishReason, string>> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool-calls',
  content_filter: 'content-filter',
}

/** What `finish` carries as `messageMetadata` (useChat keeps it on `message.metadata`). */
export interface UIAnswerMetadata {
  model: string
  /** Served from the cache: the answer cost no upstream call. */
  cached: boolean
  /**
   * The AI SDK's usage names (`LanguageModelUsage`); `inputTokenDetails` when the upstream said
   * how many prompt tokens its prefix cache served.
   */
  usage?: {
    inputTokens: number
    inputTokenDetails?: { noCacheTokens: number; cacheReadTokens: number }
    outputTokens: number
    totalTokens: number
  }
}

/** A text or reasoning block being streamed, with the head of its delta events. */
interface OpenBlock {
  kind: 'text' | 'reasoning'
  id: string
  deltaHead: Uint8Array
}

interface OpenToolCall {
  id: string
  name: string
  arguments: string
}

/** The terminator every UI message stream ends with, after `finish` or `error`. */
const DONE = 'data: [DONE]\n\n'

/**
 * The AI SDK UI message stream (what `useChat`'s `DefaultChatTransport` reads): SSE `data:` JSON
 * chunks `start`, `start-step`, text / reasoning blocks (`*-start`, `*-delta`, `*-end` with one id
 * per block), tool inputs (`tool-input-start`, `-delta`, `-available`), `finish-step`, `finish`,
 * then `data: [DONE]`. A block is closed as soon as another kind of output begins, so text after
 * a tool call is a new text part, as the AI SDK's own server streams it.
 */
export class UIMessageStreamEncoder extends ByteBuffer implements StreamEncoder {
  readonly #meta: AnswerMeta
  readonly #messageId: string
  /**
   * The open text or reasoning block (`text-0`, `reasoning-1`, ...), if any, with the head of its
   * delta events (hot path: encoded once per block, not once per token).
   */
  #block: OpenBlock | undefined
  #blocks = 0
  readonly #tools = new Map<number, OpenToolCall>()
  #usage: Usage | undefined

  /** `messageId`: the assistant message this answer streams into (default: the answer's id). */
  constructor(meta: AnswerMeta, messageId: string = meta.id) {
    super()
    this.#meta = meta
    this.#messageId = messageId
  }

  start(): void {
    this.#chunk({ type: 'start', messageId: this.#messageId })
    this.#chunk({ type: 'start-step' })
  }

  event(event: AnswerEvent): void {
    switch (event.type) {
      case 'text':
      case 'reasoning':
        if (event.text === '') return
        this.writeDelta(this.#open(event.type).deltaHead, event.text, DATA_EVENT_END)
        return
      case 'tool-call-start': {
        this.#close()
        this.#tools.set(event.index, { id: event.id, name: event.name, arguments: event.arguments })
        this.#chunk({ type: 'tool-input-start', toolCallId: event.id, toolName: event.name })
        if (event.arguments !== '') this.#inputDelta(event.id, event.arguments)
        return
      }
      case 'tool-call-delta': {
        const call = this.#tools.get(event.index)
        if (!call) return
        call.arguments += event.arguments
        this.#inputDelta(call.id, event.arguments)
        return
      }
      case 'tool-call-end': {
        const call = this.#tools.get(event.index)
        if (!call) return
        this.#tools.delete(event.index)
        this.#toolInput(call)
        return
      }
      case 'usage':
        this.#usage = event.usage
        return
      case 'finish': {
        this.#close()
        const metadata: UIAnswerMetadata = { model: this.#meta.model, cached: this.#meta.cached }
        if (this.#usage) {
          const { prompt_tokens, completion_tokens, total_tokens } = this.#usage
          const cached = this.#usage.prompt_tokens_details?.cached_tokens
          metadata.usage = {
            inputTokens: prompt_tokens,
            ...(cached === undefined
              ? {}
              : {
                  inputTokenDetails: {
                    noCacheTokens: prompt_tokens - cached,
                    cacheReadTokens: cached,
                  },
                }),
            outputTokens: completion_tokens,
            totalTokens: total_tokens,
          }
        }
        this.#chunk({ type: 'finish-step' })
        this.#chunk({
          type: 'finish',
          finishReason: FINISH_REASONS[event.reason],
          messageMetadata: metadata,
        })
        this.write(DONE)
        return
      }
    }
  }

  /** useChat turns `errorText` into `chat.error.message`; `[DONE]` still ends the stream. */
  error(error: APIError | ValidationError): void {
    this.#chunk({ type: 'error', errorText: error.message })
    this.write(DONE)
  }

  #chunk(chunk: Record<string, unknown>): void {
    this.write(`data: ${JSON.stringify(chunk)}\n\n`)
  }

  /** The open block of `kind`, opened unless it is (closing a block of the other kind first). */
  #open(kind: 'text' | 'reasoning'): OpenBlock {
    const open = this.#block
    if (open?.kind === kind) return open
    this.#close()
    const id = `${kind}-${this.#blocks++}`
    const block = {
      kind,
      id,
      deltaHead: utf8(`data: {"type":"${kind}-delta","id":"${id}","delta":`),
    }
    this.#block = block
    this.#chunk({ type: `${kind}-start`, id })
    return block
  }

  #close(): void {
    if (!this.#block) return
    this.#chunk({ type: `${this.#block.kind}-end`, id: this.#block.id })
    this.#block = undefined
  }

  #inputDelta(toolCallId: string, inputTextDelta: string): void {
    this.#chunk({ type: 'tool-input-delta', toolCallId, inputTextDelta })
  }

  /** The complete input as JSON, or a tool input error the UI shows when it is not JSON. */
  #toolInput(call: OpenToolCall): void {
    const base = { toolCallId: call.id, toolName: call.name }
    let input: unknown
    try {
      input = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments)
    } catch (error) {
      this.#chunk({
        type: 'tool-input-error',
        ...base,
        input: call.arguments,
        errorText: `The model's input for ${call.name} is not valid JSON: ${(error as Error).message}`,
      })
      return
    }
    this.#chunk({ type: 'tool-input-available', ...base, input })
  }
}
