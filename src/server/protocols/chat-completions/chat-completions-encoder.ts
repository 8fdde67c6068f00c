import type { ToolCallDelta, Usage } from '../../../shared/chat-types'
import type { AnswerEvent, AnswerMeta } from '../../engine/answer-event'
import type { APIError, ValidationError } from '../../errors'
import { errorBody } from '../../errors'
import type { StreamEncoder } from '../protocol'
import { SseBatch } from './sse-batch'
import { SSE_DONE, SseEncoder } from './sse-encoder'

/**
 * OpenAI `chat.completion.chunk` SSE (the bytes of copilotedge 1.0, unchanged): the role chunk,
 * one chunk per delta, the finish chunk, the usage chunk when asked, `[DONE]`.
 */
export class ChatCompletionsEncoder extends SseBatch implements StreamEncoder {
  readonly #sse: SseEncoder
  readonly #includeUsage: boolean
  #usage: Usage | undefined

  constructor(meta: AnswerMeta, includeUsage: boolean) {
    const sse = new SseEncoder(meta.id, meta.created, meta.model)
    super(sse)
    this.#sse = sse
    this.#includeUsage = includeUsage
  }

  start(): void {
    this.write(this.#sse.role())
  }

  event(event: AnswerEvent): void {
    switch (event.type) {
      case 'text':
        if (event.text !== '') this.content(event.text)
        break
      case 'reasoning':
        if (event.text !== '') this.write(this.#sse.reasoning(event.text))
        break
      case 'tool-call-start': {
        // The first fragment as OpenAI sends it: id, type and name, with the arguments so far.
        const delta: ToolCallDelta = {
          index: event.index,
          id: event.id,
          type: 'function',
          function:
            event.name !== ''
              ? { name: event.name, arguments: event.arguments }
              : { arguments: event.arguments },
        }
        this.write(this.#sse.toolCalls([delta]))
        break
      }
      case 'tool-call-delta':
        this.write(
          this.#sse.toolCalls([{ index: event.index, function: { arguments: event.arguments } }]),
        )
        break
      case 'tool-call-end':
        break
      case 'usage':
        this.#usage = event.usage
        break
      case 'finish':
        this.write(this.#sse.finish(event.reason))
        if (this.#includeUsage && this.#usage) this.write(this.#sse.usage(this.#usage))
        this.write(SSE_DONE)
        break
    }
  }

  error(error: APIError | ValidationError): void {
    this.write(SseEncoder.error(errorBody(error)))
  }
}
