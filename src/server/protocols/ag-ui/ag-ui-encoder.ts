import type { Usage } from '../../../shared/chat-types'
import type { AnswerEvent, AnswerMeta } from '../../engine/answer-event'
import type { APIError, ValidationError } from '../../errors'
import { ByteBuffer, DATA_EVENT_END, utf8 } from '../byte-buffer'
import type { StreamEncoder } from '../protocol'
import type { AgUiContext } from './decode-run-agent-input'

/** A token count the TokenUsage schema accepts (a non-negative integer); anything else is left out. */
function count(value: number): number | undefined {
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined
}

/** AG-UI 1.0 reasoning: a span and one message in it, both named by `id`. */
function reasoningEvents(id: string) {
  const json = JSON.stringify(id)
  return {
    open:
      `data: {"type":"REASONING_START","messageId":${json}}\n\n` +
      `data: {"type":"REASONING_MESSAGE_START","messageId":${json},"role":"reasoning"}\n\n`,
    head: utf8(`data: {"type":"REASONING_MESSAGE_CONTENT","messageId":${json},"delta":`),
    close:
      `data: {"type":"REASONING_MESSAGE_END","messageId":${json}}\n\n` +
      `data: {"type":"REASONING_END","messageId":${json}}\n\n`,
  }
}

/**
 * Before 1.0 (@ag-ui/core ≤ 0.0.43, e.g. CopilotKit 1.50's 0.0.42) a client rejects the whole run on
 * an event type it does not know, and REASONING_* came only in 2026-02; THINKING_* (which 1.0
 * clients still translate) is what every older client knows.
 */
const THINKING = {
  open: 'data: {"type":"THINKING_START"}\n\ndata: {"type":"THINKING_TEXT_MESSAGE_START"}\n\n',
  head: utf8('data: {"type":"THINKING_TEXT_MESSAGE_CONTENT","delta":'),
  close: 'data: {"type":"THINKING_TEXT_MESSAGE_END"}\n\ndata: {"type":"THINKING_END"}\n\n',
}

/**
 * AG-UI events as `@ag-ui/client` reads them: `data: <json>\n\n`, LF only (its parser splits on
 * "\n\n"), no `event:` lines. The answer is one assistant message whose id is the answer id; tool
 * calls name it as their parent, so the client attaches them to that message. The order keeps the
 * client's verifier satisfied: text and reasoning are closed before a tool call starts, and every
 * message and call is closed before RUN_FINISHED. Deltas are never empty (clients before
 * @ag-ui/core 0.0.54 reject them).
 */
export class AgUiEncoder extends ByteBuffer implements StreamEncoder {
  readonly #meta: AnswerMeta
  readonly #context: AgUiContext
  readonly #messageId: string
  /** Hot path: the constant head of every TEXT_MESSAGE_CONTENT event, encoded once. */
  readonly #contentHead: Uint8Array
  /** The reasoning span in the client's dialect: opening events, content head, closing events. */
  readonly #reasoning: { open: string; head: Uint8Array; close: string }
  #textOpen = false
  #reasoningOpen = false
  /** Open tool calls: index → JSON-encoded toolCallId. */
  readonly #calls = new Map<number, string>()
  #usage: Usage | undefined

  constructor(meta: AnswerMeta, context: AgUiContext) {
    super()
    this.#meta = meta
    this.#context = context
    this.#messageId = JSON.stringify(meta.id)
    this.#contentHead = utf8(
      `data: {"type":"TEXT_MESSAGE_CONTENT","messageId":${this.#messageId},"delta":`,
    )
    this.#reasoning = context.thinkingEvents ? THINKING : reasoningEvents(`${meta.id}-reasoning`)
  }

  start(): void {
    const { threadId, runId, parentRunId } = this.#context
    this.#send({
      type: 'RUN_STARTED',
      threadId,
      runId,
      ...(parentRunId !== undefined ? { parentRunId } : {}),
    })
  }

  event(event: AnswerEvent): void {
    switch (event.type) {
      case 'text':
        if (event.text === '') return
        this.#closeReasoning()
        if (!this.#textOpen) {
          this.#textOpen = true
          this.write(
            `data: {"type":"TEXT_MESSAGE_START","messageId":${this.#messageId},"role":"assistant"}\n\n`,
          )
        }
        this.writeDelta(this.#contentHead, event.text, DATA_EVENT_END)
        return
      case 'reasoning':
        if (event.text === '') return
        this.#closeText()
        if (!this.#reasoningOpen) {
          this.#reasoningOpen = true
          this.write(this.#reasoning.open)
        }
        this.writeDelta(this.#reasoning.head, event.text, DATA_EVENT_END)
        return
      case 'tool-call-start': {
        this.#closeText()
        this.#closeReasoning()
        const id = JSON.stringify(event.id)
        this.#calls.set(event.index, id)
        this.write(
          `data: {"type":"TOOL_CALL_START","toolCallId":${id},"toolCallName":${JSON.stringify(event.name)},"parentMessageId":${this.#messageId}}\n\n`,
        )
        this.#args(id, event.arguments)
        return
      }
      case 'tool-call-delta': {
        const id = this.#calls.get(event.index)
        if (id !== undefined) this.#args(id, event.arguments)
        return
      }
      case 'tool-call-end':
        this.#endCall(event.index)
        return
      case 'usage':
        this.#usage = event.usage
        return
      case 'finish':
        this.#closeText()
        this.#closeReasoning()
        for (const index of [...this.#calls.keys()]) this.#endCall(index)
        this.#finish()
        return
    }
  }

  error(error: APIError | ValidationError): void {
    this.#send({
      type: 'RUN_ERROR',
      message: error.message,
      code: String(error.code ?? error.type),
    })
  }

  #send(event: Record<string, unknown>): void {
    this.write(`data: ${JSON.stringify(event)}\n\n`)
  }

  #args(id: string, delta: string): void {
    if (delta === '') return
    this.write(
      `data: {"type":"TOOL_CALL_ARGS","toolCallId":${id},"delta":${JSON.stringify(delta)}}\n\n`,
    )
  }

  #endCall(index: number): void {
    const id = this.#calls.get(index)
    if (id === undefined) return
    this.#calls.delete(index)
    this.write(`data: {"type":"TOOL_CALL_END","toolCallId":${id}}\n\n`)
  }

  #closeText(): void {
    if (!this.#textOpen) return
    this.#textOpen = false
    this.write(`data: {"type":"TEXT_MESSAGE_END","messageId":${this.#messageId}}\n\n`)
  }

  #closeReasoning(): void {
    if (!this.#reasoningOpen) return
    this.#reasoningOpen = false
    this.write(this.#reasoning.close)
  }

  #finish(): void {
    const { threadId, runId } = this.#context
    const usage = this.#usage
    const cached = usage?.prompt_tokens_details?.cached_tokens
    const entry =
      usage === undefined
        ? undefined
        : {
            model: this.#meta.model,
            inputTokens: count(usage.prompt_tokens),
            outputTokens: count(usage.completion_tokens),
            totalTokens: count(usage.total_tokens),
            // Part of inputTokens (the prefix-cache hits), when the upstream said.
            ...(cached === undefined ? {} : { cachedInputTokens: count(cached) }),
          }
    this.#send({
      type: 'RUN_FINISHED',
      threadId,
      runId,
      ...(entry ? { usage: [entry] } : {}),
      // Subscribers can tell an answer that cost nothing (the usage is the original answer's).
      ...(this.#meta.cached ? { metadata: { copilotedge: { cached: true } } } : {}),
    })
  }
}
