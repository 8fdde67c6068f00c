import type {
  FinishReason,
  OpenAIErrorBody,
  ToolCallDelta,
  Usage,
} from '../../../shared/chat-types'

/** A comment line: keeps proxies and clients from timing the connection out. */
export const SSE_PING = ': ping\n\n'
export const SSE_DONE = 'data: [DONE]\n\n'
/** What follows the JSON string of a content delta, to the end of its event. */
export const CONTENT_SUFFIX = '},"finish_reason":null}]}\n\n'

/** The downstream wire: OpenAI `chat.completion.chunk` events, each with an increasing `id:`. */
export class SseEncoder {
  // Hot path (one event per token, 200k tokens in the benchmarks): the part of the chunk JSON that
  // never changes within a stream is serialised once, and each event only JSON.stringify()s its
  // delta string. That is several times cheaper than JSON.stringify of a whole nested chunk object
  // per token and gives byte-identical output (same key order).
  readonly #head: string
  readonly #choiceHead: string
  /** A content event is `id: <n>` + this + the JSON string of the text + CONTENT_SUFFIX. */
  readonly contentPrefix: string
  #id = 0

  constructor(id: string, created: number, model: string) {
    this.#head = `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)}`
    this.#choiceHead = `${this.#head},"choices":[{"index":0,"delta":`
    this.contentPrefix = `\ndata: ${this.#choiceHead}{"content":`
  }

  /** Takes the next event id (for writers that build an event's bytes themselves). */
  nextId(): number {
    return ++this.#id
  }

  #event(json: string): string {
    return `id: ${++this.#id}\ndata: ${json}\n\n`
  }

  #delta(deltaJson: string, finish: FinishReason | null = null): string {
    return this.#event(
      `${this.#choiceHead}${deltaJson},"finish_reason":${finish === null ? 'null' : `"${finish}"`}}]}`,
    )
  }

  /** The first chunk of every stream. */
  role(): string {
    return this.#delta('{"role":"assistant","content":""}')
  }

  content(text: string): string {
    return `id: ${++this.#id}${this.contentPrefix}${JSON.stringify(text)}${CONTENT_SUFFIX}`
  }

  reasoning(text: string): string {
    return this.#delta(`{"reasoning_content":${JSON.stringify(text)}}`)
  }

  toolCalls(deltas: ToolCallDelta[]): string {
    return this.#delta(`{"tool_calls":${JSON.stringify(deltas)}}`)
  }

  finish(reason: FinishReason): string {
    return this.#delta('{}', reason)
  }

  /** The `choices: []` chunk sent before [DONE] when the client asked for `include_usage`. */
  usage(usage: Usage): string {
    return this.#event(`${this.#head},"choices":[],"usage":${JSON.stringify(usage)}}`)
  }

  /** An error after the first byte: the stream ends after it, without [DONE]. */
  static error(body: OpenAIErrorBody): string {
    const { message, type, code } = body.error
    return `data: ${JSON.stringify({ error: { message, type, code } })}\n\n`
  }
}
