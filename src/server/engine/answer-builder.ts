import type { FinishReason, ToolCall, Usage } from '../../shared/chat-types'
import type { CachedAnswer } from '../cache/response-cache'
import type { UpstreamEvent } from '../providers/provider'
import type { AnswerEvent } from './answer-event'
import { answerEvents } from './answer-event'
import { TextPieces } from './text-pieces'

/** Accumulates upstream events into a complete answer (for the cache and non-stream replies). */
export class AnswerBuilder {
  readonly model: string
  readonly #keepText: boolean
  readonly #text = new TextPieces()
  reasoning = ''
  usage: Usage | undefined
  finishReason: FinishReason | undefined
  readonly #toolCalls = new Map<number, ToolCall>()

  /** `keepText: false` when nobody needs the text (no cache): only usage and finish are kept. */
  constructor(model: string, keepText = true) {
    this.model = model
    this.#keepText = keepText
  }

  get text(): string {
    return this.#text.text
  }

  add(event: UpstreamEvent): void {
    switch (event.type) {
      case 'text':
        if (!this.#keepText) break
        this.#text.push(event.text)
        break
      case 'reasoning':
        this.reasoning += event.text
        break
      case 'tool-call': {
        const { delta } = event
        const call = this.#toolCalls.get(delta.index)
        if (call) {
          if (delta.function?.name) call.function.name += delta.function.name
          if (delta.function?.arguments) call.function.arguments += delta.function.arguments
          if (delta.id && !call.id) call.id = delta.id
        } else {
          this.#toolCalls.set(delta.index, {
            id: delta.id ?? '',
            type: 'function',
            function: {
              name: delta.function?.name ?? '',
              arguments: delta.function?.arguments ?? '',
            },
          })
        }
        break
      }
      case 'usage':
        this.usage = event.usage
        break
      case 'finish':
        this.finishReason = event.reason
        break
    }
  }

  /**
   * The answer so far as events (reasoning, text, the tool calls begun, without their ends): what
   * a reader joining a running answer gets first. Needs `keepText`.
   */
  snapshot(): AnswerEvent[] {
    return answerEvents({
      reasoning: this.reasoning,
      text: this.text,
      toolCalls: [...this.#toolCalls.entries()].sort((x, y) => x[0] - y[0]),
      usage: this.usage,
    })
  }

  get complete(): boolean {
    return this.finishReason !== undefined
  }

  build(): CachedAnswer {
    const answer: CachedAnswer = {
      model: this.model,
      text: this.text,
      finishReason: this.finishReason ?? 'stop',
    }
    if (this.reasoning) answer.reasoning = this.reasoning
    if (this.#toolCalls.size > 0) {
      answer.toolCalls = [...this.#toolCalls.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])
    }
    if (this.usage) answer.usage = this.usage
    return answer
  }
}
