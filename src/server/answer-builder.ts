import type { FinishReason, ToolCall, Usage } from '../shared/chat-types'
import type { UpstreamEvent } from './providers/provider'
import type { CachedAnswer } from './response-cache'

/** Accumulates upstream events into a complete answer (for the cache and non-stream replies). */
export class AnswerBuilder {
  readonly model: string
  // V8 concatenates strings as ropes, so += per token stays linear.
  text = ''
  reasoning = ''
  usage: Usage | undefined
  finishReason: FinishReason | undefined
  readonly #toolCalls = new Map<number, ToolCall>()

  constructor(model: string) {
    this.model = model
  }

  add(event: UpstreamEvent): void {
    switch (event.type) {
      case 'text':
        this.text += event.text
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
