import type { FinishReason, ToolCall, Usage } from '../shared/chat-types'
import type { UpstreamEvent } from './providers/provider'
import type { CachedAnswer } from './response-cache'

/** Pieces joined into one string at a time: see `#flush`. */
const JOIN_EVERY = 256

/** Accumulates upstream events into a complete answer (for the cache and non-stream replies). */
export class AnswerBuilder {
  readonly model: string
  readonly #keepText: boolean
  // Hot path: a rope (`text += piece`) or a list of 200k token strings keeps every piece alive
  // into the old generation, and the GC copying them cost more than all the other work per token.
  // Pieces are joined every JOIN_EVERY tokens instead, so they die young.
  #pieces: string[] = []
  #joined: string[] = []
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
    if (this.#pieces.length > 0) this.#flush()
    if (this.#joined.length > 1) this.#joined = [this.#joined.join('')]
    return this.#joined[0] ?? ''
  }

  #flush(): void {
    this.#joined.push(this.#pieces.join(''))
    this.#pieces = []
  }

  add(event: UpstreamEvent): void {
    switch (event.type) {
      case 'text':
        if (!this.#keepText) break
        this.#pieces.push(event.text)
        if (this.#pieces.length === JOIN_EVERY) this.#flush()
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
